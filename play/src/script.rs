//! Scripted inputs for automation: `walk north 2s; say hello; wait 1s`.
//!
//! A script is steps separated by `;`, run one after another once the
//! world has welcomed the player and sent its map:
//!
//! - `walk DIRECTION SECONDS` (`walk north 2s`, `walk ne 1.5`): walk that
//!   way (north, south, east, west, or two of them: `ne`, `north-west`...)
//!   for that long, then stop;
//! - `wait SECONDS`: do nothing for that long;
//! - `turn DEGREES`: turn the camera (positive: to the right);
//! - `shot PATH`: write a screenshot of the next frame to `PATH`;
//! - anything else is a command line sent as typed (`say hello`, `look`,
//!   `kick west`).
//!
//! Sans-I/O: [`ScriptRunner::poll`] is told the time and says what to do.

use std::time::Duration;

/// One step of a script.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Walk `[x, z]` (east, north; length 1) for the duration.
    Walk([f32; 2], Duration),
    /// Do nothing for the duration.
    Wait(Duration),
    /// Turn the camera by this many degrees (positive: right).
    Turn(f32),
    /// Write a screenshot to this path.
    Shot(String),
    /// Send this command line.
    Command(String),
}

/// Why a script does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script step {index} (`{step}`): {why}")]
pub struct ScriptError {
    /// 1-based step number.
    pub index: usize,
    /// The step as written.
    pub step: String,
    /// What is wrong.
    pub why: String,
}

fn seconds(word: &str) -> Option<Duration> {
    let n = word.strip_suffix('s').unwrap_or(word);
    let secs: f64 = n.parse().ok()?;
    (secs.is_finite() && (0.0..=3600.0).contains(&secs)).then(|| Duration::from_secs_f64(secs))
}

/// The unit direction a word names: north, ne, south-west...
pub fn direction(word: &str) -> Option<[f32; 2]> {
    let w = word.to_ascii_lowercase().replace(['-', '_'], "");
    let (x, z) = match w.as_str() {
        "n" | "north" => (0.0, 1.0),
        "s" | "south" => (0.0, -1.0),
        "e" | "east" => (1.0, 0.0),
        "w" | "west" => (-1.0, 0.0),
        "ne" | "northeast" => (1.0, 1.0),
        "nw" | "northwest" => (-1.0, 1.0),
        "se" | "southeast" => (1.0, -1.0),
        "sw" | "southwest" => (-1.0, -1.0),
        _ => return None,
    };
    let len: f32 = if x != 0.0 && z != 0.0 {
        std::f32::consts::SQRT_2
    } else {
        1.0
    };
    Some([x / len, z / len])
}

/// Parses a script.
pub fn parse(text: &str) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    for (i, raw) in text.split(';').enumerate() {
        let step = raw.trim();
        if step.is_empty() {
            continue;
        }
        let bad = |why: &str| ScriptError {
            index: i + 1,
            step: step.to_owned(),
            why: why.to_owned(),
        };
        let words: Vec<&str> = step.split_whitespace().collect();
        let parsed = match words[0].to_ascii_lowercase().as_str() {
            "walk" => {
                let [_, dir, secs] = words[..] else {
                    return Err(bad("expected `walk DIRECTION SECONDS`"));
                };
                Step::Walk(
                    direction(dir).ok_or_else(|| bad("unknown direction"))?,
                    seconds(secs).ok_or_else(|| bad("expected seconds, like 2s"))?,
                )
            }
            "wait" => {
                let [_, secs] = words[..] else {
                    return Err(bad("expected `wait SECONDS`"));
                };
                Step::Wait(seconds(secs).ok_or_else(|| bad("expected seconds, like 2s"))?)
            }
            "turn" => {
                let [_, degrees] = words[..] else {
                    return Err(bad("expected `turn DEGREES`"));
                };
                let d: f32 = degrees
                    .trim_end_matches('°')
                    .parse()
                    .ok()
                    .filter(|d: &f32| d.is_finite())
                    .ok_or_else(|| bad("expected degrees"))?;
                Step::Turn(d)
            }
            "shot" => {
                let path = step[4..].trim();
                if path.is_empty() {
                    return Err(bad("expected `shot PATH`"));
                }
                Step::Shot(path.to_owned())
            }
            _ => {
                if step.len() > gsp_protocol::limits::MAX_COMMAND_BYTES {
                    return Err(bad("a command is at most 512 bytes"));
                }
                Step::Command(step.to_owned())
            }
        };
        steps.push(parsed);
    }
    Ok(steps)
}

/// What the script wants done now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this command.
    Command(String),
    /// Turn the camera by degrees.
    Turn(f32),
    /// Write a screenshot of this frame.
    Shot(String),
}

/// Runs a parsed script against a clock.
#[derive(Debug, Clone)]
pub struct ScriptRunner {
    steps: std::collections::VecDeque<Step>,
    /// When the current timed step ends (seconds since the script started).
    until: Option<f64>,
    walking: [f32; 2],
}

impl ScriptRunner {
    /// A runner for `steps`.
    pub fn new(steps: Vec<Step>) -> Self {
        ScriptRunner {
            steps: steps.into(),
            until: None,
            walking: [0.0, 0.0],
        }
    }

    /// Whether every step has run.
    pub fn is_done(&self) -> bool {
        self.steps.is_empty() && self.until.is_none()
    }

    /// The movement the script holds now, `[x, z]`.
    pub fn walking(&self) -> [f32; 2] {
        self.walking
    }

    /// Advances to time `now` (seconds since the script started) and
    /// returns the actions due, in order.
    pub fn poll(&mut self, now: f64) -> Vec<Action> {
        let mut out = Vec::new();
        loop {
            if let Some(until) = self.until {
                if now < until {
                    return out;
                }
                self.until = None;
                self.walking = [0.0, 0.0];
            }
            let Some(step) = self.steps.pop_front() else {
                return out;
            };
            match step {
                Step::Walk(dir, d) => {
                    self.walking = dir;
                    self.until = Some(now + d.as_secs_f64());
                }
                Step::Wait(d) => self.until = Some(now + d.as_secs_f64()),
                Step::Turn(deg) => out.push(Action::Turn(deg)),
                Step::Shot(path) => {
                    // One shot per frame: the rest waits for the next poll.
                    out.push(Action::Shot(path));
                    return out;
                }
                Step::Command(c) => out.push(Action::Command(c)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_kind_of_step() {
        let steps =
            parse("walk north 2s; say hello there ;wait 0.5; turn -90; shot /tmp/a b.png; look;;")
                .unwrap();
        assert_eq!(
            steps,
            vec![
                Step::Walk([0.0, 1.0], Duration::from_secs(2)),
                Step::Command("say hello there".into()),
                Step::Wait(Duration::from_millis(500)),
                Step::Turn(-90.0),
                Step::Shot("/tmp/a b.png".into()),
                Step::Command("look".into()),
            ]
        );
        let ne = direction("north-east").unwrap();
        assert!((ne[0] - ne[1]).abs() < 1e-6 && (ne[0] * ne[0] + ne[1] * ne[1] - 1.0).abs() < 1e-6);
    }

    #[test]
    fn refuses_what_it_cannot_run() {
        for (bad, index) in [
            ("walk up 2s", 1),
            ("look; walk north", 2),
            ("wait forever", 1),
            ("wait -1", 1),
            ("turn left", 1),
            ("shot", 1),
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.index, index, "{bad}: {e}");
        }
    }

    #[test]
    fn runs_steps_in_time() {
        let mut r =
            ScriptRunner::new(parse("walk east 1s; say hi; wait 1; shot a.png; look").unwrap());
        assert!(r.poll(0.0).is_empty());
        assert_eq!(r.walking(), [1.0, 0.0]);
        assert!(r.poll(0.9).is_empty());
        assert_eq!(r.poll(1.0), vec![Action::Command("say hi".into())]);
        assert_eq!(r.walking(), [0.0, 0.0]);
        assert!(r.poll(1.5).is_empty());
        assert_eq!(r.poll(2.1), vec![Action::Shot("a.png".into())]);
        assert!(!r.is_done());
        assert_eq!(r.poll(2.2), vec![Action::Command("look".into())]);
        assert!(r.is_done());
    }
}
