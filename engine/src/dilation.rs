//! Time dilation, sans-I/O: when ticks take longer than the world can
//! afford, the world slows simulated time instead of skipping ticks or
//! falling ever further behind (EVE Online's "TiDi").
//!
//! Every tick still simulates one tick's worth of time (`1 / tick_rate`
//! seconds, so physics and movement stay exactly as they are), but under
//! load the runtime starts ticks less often: at a factor of 0.5, a 30 Hz
//! world runs 15 ticks per wall-clock second and its time passes at half
//! speed. [`TimeDilation::observe`] is told how long each tick took and
//! answers the factor: low enough that an average tick fits in
//! [`BUDGET`] of the stretched period, never below the floor
//! ([`DEFAULT_FLOOR`], EVE's 10 %). The average is a running one over about
//! ten ticks, so one slow tick (a hiccup of the machine, a burst of joins)
//! does not slow time, the clock's catch-up covers it; sustained overload
//! does, within a third of a second. It slows at once to what the average
//! affords and recovers a little every tick when ticks fit again, so the
//! world is back at full speed seconds after the load goes.

use std::time::Duration;

/// The lowest factor by default: time never runs slower than a tenth.
pub const DEFAULT_FLOOR: f64 = 0.1;

/// The share of a (possibly stretched) tick period an average tick may
/// take, leaving the rest to the gateways on the same machine.
pub const BUDGET: f64 = 0.9;

/// How much the factor may rise per tick when ticks fit again.
pub const RECOVERY_PER_TICK: f64 = 0.01;

/// How much each new tick counts in the running average of tick durations.
const SMOOTHING: f64 = 0.1;

/// The controller of a world's time dilation.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeDilation {
    floor: f64,
    factor: f64,
    average: Option<f64>,
}

impl TimeDilation {
    /// Full speed, never slower than `floor` (clamped to 0.01..=1).
    pub fn new(floor: f64) -> TimeDilation {
        TimeDilation {
            floor: if floor.is_finite() {
                floor.clamp(0.01, 1.0)
            } else {
                DEFAULT_FLOOR
            },
            factor: 1.0,
            average: None,
        }
    }

    /// The current factor: 1.0 at full speed, down to the floor.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Takes the duration of the tick that just ran, against the world's
    /// undilated tick `period`, and returns the factor for the next one.
    pub fn observe(&mut self, tick: Duration, period: Duration) -> f64 {
        let took = tick.as_secs_f64();
        let average = match self.average {
            Some(a) => a + SMOOTHING * (took - a),
            None => took,
        };
        self.average = Some(average);
        let affordable = if average > 0.0 {
            (BUDGET * period.as_secs_f64() / average).min(1.0)
        } else {
            1.0
        };
        let target = affordable.max(self.floor);
        self.factor = if target < self.factor {
            target
        } else {
            (self.factor + RECOVERY_PER_TICK).min(target)
        };
        self.factor
    }

    /// The wall-clock time between tick starts at the current factor.
    pub fn stretched(&self, period: Duration) -> Duration {
        period.div_f64(self.factor)
    }
}

impl Default for TimeDilation {
    fn default() -> Self {
        TimeDilation::new(DEFAULT_FLOOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERIOD: Duration = Duration::from_micros(33_333);

    #[test]
    fn ticks_within_budget_keep_full_speed() {
        let mut d = TimeDilation::default();
        for _ in 0..100 {
            assert_eq!(d.observe(Duration::from_millis(5), PERIOD), 1.0);
        }
    }

    #[test]
    fn slow_ticks_slow_time_so_that_they_fit() {
        let mut d = TimeDilation::default();
        // 60 ms ticks against a 33 ms period: the period must stretch to 66.7 ms.
        let mut f = 1.0;
        for _ in 0..100 {
            f = d.observe(Duration::from_millis(60), PERIOD);
        }
        assert!((f - 0.9 * 33.333 / 60.0).abs() < 1e-3, "{f}");
        let stretched = d.stretched(PERIOD);
        assert!(stretched >= Duration::from_millis(66) && stretched <= Duration::from_millis(67));
    }

    #[test]
    fn one_slow_tick_does_not_slow_time() {
        let mut d = TimeDilation::default();
        for _ in 0..30 {
            d.observe(Duration::from_millis(5), PERIOD);
        }
        assert_eq!(d.observe(Duration::from_millis(100), PERIOD), 1.0);
        assert_eq!(d.observe(Duration::from_millis(5), PERIOD), 1.0);
    }

    #[test]
    fn never_below_the_floor() {
        let mut d = TimeDilation::new(0.1);
        for _ in 0..10 {
            assert_eq!(d.observe(Duration::from_secs(5), PERIOD), 0.1);
        }
    }

    #[test]
    fn recovers_by_itself_when_the_load_goes() {
        let mut d = TimeDilation::default();
        for _ in 0..30 {
            d.observe(Duration::from_millis(100), PERIOD);
        }
        assert!(d.factor() < 0.3);
        let mut ticks = 0;
        while d.observe(Duration::from_millis(2), PERIOD) < 1.0 {
            ticks += 1;
            assert!(ticks < 1000, "stuck at {}", d.factor());
        }
        // Gradually, not in one jump.
        assert!(ticks > 10, "{ticks}");
    }
}
