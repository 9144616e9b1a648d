//! Quantization: floats in, small integers out.
//!
//! * **Positions** become unsigned integers on a grid of
//!   [`Quantization::position_resolution`] steps per metre (default 512, so
//!   1/512 m ≈ 2 mm) inside the world bounds. Each axis takes exactly as
//!   many bits as its range needs: 2,048 m at 1/512 m is 20 bits.
//! * **Rotations** are unit quaternions sent as "smallest three": the index of
//!   the largest component (2 bits) and the other three, each in
//!   `[-1/√2, 1/√2]`, in [`Quantization::rotation_bits`] bits (default 9, so
//!   29 bits in all). The largest is rebuilt from the unit length; `q` and
//!   `-q` are the same rotation, so the largest is made positive.
//! * **Velocities**, for the entities that send one, become signed integers
//!   of [`Quantization::velocity_resolution`] steps per m/s, clamped to
//!   [`Quantization::max_speed`].
//!
//! Both ends must quantize alike: the server sends its [`Quantization`] in
//! the welcome.

/// How the world's state is quantized for the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantization {
    /// The lowest corner of the world, metres; positions are clamped to the bounds.
    pub min: [f32; 3],
    /// The highest corner of the world, metres.
    pub max: [f32; 3],
    /// Position steps per metre (512 means 1/512 m).
    pub position_resolution: u16,
    /// Bits per smallest-three component (4..=15).
    pub rotation_bits: u8,
    /// Velocity steps per m/s.
    pub velocity_resolution: u16,
    /// The largest speed a velocity component can carry, m/s.
    pub max_speed: f32,
}

impl Default for Quantization {
    fn default() -> Self {
        Quantization {
            min: [-1024.0, -128.0, -1024.0],
            max: [1024.0, 384.0, 1024.0],
            position_resolution: 512,
            rotation_bits: 9,
            velocity_resolution: 64,
            max_speed: 64.0,
        }
    }
}

/// A [`Quantization`] that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantization: {0}")]
pub struct QuantizationError(pub &'static str);

/// A position on the quantization grid.
pub type QPosition = [u32; 3];
/// A velocity in quantization steps.
pub type QVelocity = [i16; 3];

/// A rotation as "smallest three".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct QRotation {
    /// Which of x, y, z, w was largest and left out.
    pub largest: u8,
    /// The other three, in order, each in `0..2^rotation_bits`.
    pub rest: [u16; 3],
}

/// A [`Quantization`] checked and ready to use, with the bit widths it implies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantizer {
    config: Quantization,
    position_bits: [u32; 3],
    velocity_bits: u32,
    /// What makes a velocity component unsigned on the wire (its largest magnitude).
    pub(crate) velocity_offset: i32,
}

/// Identity rotation (x, y, z, w).
pub const IDENTITY: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

impl Quantizer {
    /// Checks `config`: bounds ordered and finite, resolutions non-zero,
    /// at most 30 bits per position axis, rotation bits in 4..=15.
    pub fn new(config: Quantization) -> Result<Self, QuantizationError> {
        let mut position_bits = [0; 3];
        for (axis, bits) in position_bits.iter_mut().enumerate() {
            let (lo, hi) = (config.min[axis], config.max[axis]);
            if !lo.is_finite() || !hi.is_finite() || hi <= lo {
                return Err(QuantizationError("bounds must be finite with min < max"));
            }
            if config.position_resolution == 0 {
                return Err(QuantizationError("position resolution must be positive"));
            }
            let steps = (f64::from(hi) - f64::from(lo)) * f64::from(config.position_resolution);
            if steps >= f64::from(1u32 << 30) {
                return Err(QuantizationError(
                    "world bounds need more than 30 bits per axis",
                ));
            }
            *bits = bits_for(steps.ceil() as u64);
        }
        if !(4..=15).contains(&config.rotation_bits) {
            return Err(QuantizationError("rotation bits must be 4..=15"));
        }
        if config.velocity_resolution == 0 || config.max_speed.is_nan() || config.max_speed <= 0.0 {
            return Err(QuantizationError(
                "velocity resolution and max speed must be positive",
            ));
        }
        let vsteps = f64::from(config.max_speed) * f64::from(config.velocity_resolution);
        if vsteps >= f64::from(i16::MAX) {
            return Err(QuantizationError(
                "max speed × velocity resolution must stay under 32767",
            ));
        }
        let velocity_bits = bits_for(2 * vsteps.ceil() as u64 + 1);
        Ok(Quantizer {
            config,
            position_bits,
            velocity_bits,
            velocity_offset: (config.max_speed * f32::from(config.velocity_resolution)).floor()
                as i32,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &Quantization {
        &self.config
    }

    /// Bits of each position axis.
    pub fn position_bits(&self) -> [u32; 3] {
        self.position_bits
    }

    /// Bits of each smallest-three component.
    pub fn rotation_bits(&self) -> u32 {
        u32::from(self.config.rotation_bits)
    }

    /// Bits of each velocity axis, as an unsigned offset value.
    pub fn velocity_bits(&self) -> u32 {
        self.velocity_bits
    }

    /// The largest position error quantization makes, per axis, metres.
    pub fn position_error(&self) -> f32 {
        0.5 / f32::from(self.config.position_resolution)
    }

    /// A position on the grid, clamped to the bounds (NaN goes to the lowest corner).
    #[inline]
    pub fn position(&self, p: [f32; 3]) -> QPosition {
        let res = f64::from(self.config.position_resolution);
        std::array::from_fn(|axis| {
            let max = f64::from((1u32 << self.position_bits[axis]) - 1);
            let steps = (f64::from(p[axis]) - f64::from(self.config.min[axis])) * res + 0.5;
            // `as` truncates (a floor for what is left after the clamp) and maps NaN to 0.
            steps.clamp(0.0, max) as u32
        })
    }

    /// The position a grid point stands for.
    pub fn position_of(&self, q: QPosition) -> [f32; 3] {
        let res = f64::from(self.config.position_resolution);
        std::array::from_fn(|axis| {
            (f64::from(self.config.min[axis]) + f64::from(q[axis]) / res) as f32
        })
    }

    /// Whether `q` is a valid grid point (every axis within its bits).
    pub fn position_valid(&self, q: QPosition) -> bool {
        (0..3).all(|a| q[a] >> self.position_bits[a] == 0)
    }

    /// A rotation (x, y, z, w) as smallest three; it need not be normalised.
    /// A zero or non-finite quaternion becomes the identity.
    #[inline]
    pub fn rotation(&self, q: [f32; 4]) -> QRotation {
        /// For each left-out component, the other three in order.
        const OTHERS: [[usize; 3]; 4] = [[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2]];
        let len_sq = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
        let q = if len_sq.is_finite() && len_sq > 1e-12 {
            let inverse = 1.0 / len_sq.sqrt();
            q.map(|c| c * inverse)
        } else {
            IDENTITY
        };
        let mut largest = 0;
        for i in 1..4 {
            if q[i].abs() > q[largest].abs() {
                largest = i;
            }
        }
        // q and -q are the same rotation: make the left-out component positive.
        let sign = if q[largest] < 0.0 { -1.0 } else { 1.0 };
        // An even number of steps, so that 0 (and the identity) is exact.
        let max = ((1u32 << self.config.rotation_bits) - 2) as f32;
        let scale = sign * std::f32::consts::SQRT_2 * 0.5 * max;
        let half = 0.5 * max + 0.5;
        let rest = OTHERS[largest].map(|i| (q[i] * scale + half).clamp(0.0, max) as u16);
        QRotation {
            largest: largest as u8,
            rest,
        }
    }

    /// The unit quaternion (x, y, z, w) a quantized rotation stands for.
    pub fn rotation_of(&self, r: QRotation) -> [f32; 4] {
        let max = ((1u32 << self.config.rotation_bits) - 2) as f32;
        let mut out = [0.0f32; 4];
        let mut sum = 0.0;
        let mut j = 0;
        for (i, slot) in out.iter_mut().enumerate() {
            if i == usize::from(r.largest & 3) {
                continue;
            }
            let c = (f32::from(r.rest[j]) / max * 2.0 - 1.0) * std::f32::consts::FRAC_1_SQRT_2;
            *slot = c;
            sum += c * c;
            j += 1;
        }
        out[usize::from(r.largest & 3)] = (1.0 - sum).max(0.0).sqrt();
        let len = out.iter().map(|c| c * c).sum::<f32>().sqrt();
        out.map(|c| c / len)
    }

    /// Whether `r` is a valid quantized rotation.
    pub fn rotation_valid(&self, r: QRotation) -> bool {
        r.largest < 4
            && r.rest
                .iter()
                .all(|&c| u32::from(c) >> self.rotation_bits() == 0)
    }

    /// A velocity in steps, clamped to the maximum speed per axis.
    pub fn velocity(&self, v: [f32; 3]) -> QVelocity {
        let res = f32::from(self.config.velocity_resolution);
        let max = self.velocity_offset as f32;
        v.map(|c| {
            let s = c * res;
            let s = if s >= 0.0 { s + 0.5 } else { s - 0.5 };
            // `as` truncates toward zero and maps NaN to 0.
            s.clamp(-max, max) as i16
        })
    }

    /// The velocity a quantized one stands for, m/s.
    pub fn velocity_of(&self, v: QVelocity) -> [f32; 3] {
        let res = f32::from(self.config.velocity_resolution);
        v.map(|c| f32::from(c) / res)
    }
}

impl Default for Quantizer {
    fn default() -> Self {
        Quantizer::new(Quantization::default()).expect("the default quantization is valid")
    }
}

/// Bits to hold `count` distinct values.
fn bits_for(count: u64) -> u32 {
    64 - (count.saturating_sub(1)).leading_zeros().min(63)
}

/// The angle between two rotations, radians.
pub fn angle_between(a: [f32; 4], b: [f32; 4]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    2.0 * dot.abs().min(1.0).acos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn default_widths() {
        let q = Quantizer::default();
        assert_eq!(q.position_bits(), [20, 18, 20]);
        assert_eq!(q.rotation_bits(), 9);
        assert_eq!(q.velocity_bits(), 14);
    }

    #[test]
    fn bad_configs_are_refused() {
        let bad = |f: fn(&mut Quantization)| {
            let mut c = Quantization::default();
            f(&mut c);
            Quantizer::new(c).is_err()
        };
        assert!(bad(|c| c.max[0] = c.min[0]));
        assert!(bad(|c| c.min[1] = f32::NAN));
        assert!(bad(|c| c.position_resolution = 0));
        assert!(bad(|c| c.rotation_bits = 3));
        assert!(bad(|c| c.max = [1e9; 3]));
    }

    #[test]
    fn out_of_bounds_and_garbage_clamp() {
        let q = Quantizer::default();
        assert_eq!(q.position([-5000.0, f32::NAN, 5000.0])[0], 0);
        assert_eq!(q.position([f32::NAN; 3]), [0, 0, 0]);
        let top = q.position([5000.0; 3]);
        assert!(q.position_valid(top));
        assert_eq!(q.rotation_of(q.rotation([0.0; 4])), IDENTITY);
        assert_eq!(
            q.velocity([f32::INFINITY, f32::NAN, -1e9]),
            [4096, 0, -4096]
        );
        assert_eq!(q.velocity([0.01, -0.01, -0.6 / 64.0]), [1, -1, -1]);
    }

    proptest! {
        #[test]
        fn positions_within_half_a_step(p in proptest::array::uniform3(-1000.0f32..1000.0)) {
            let q = Quantizer::default();
            let back = q.position_of(q.position([p[0], p[1] * 0.1, p[2]]));
            let err = q.position_error() * 1.01;
            prop_assert!((back[0] - p[0]).abs() <= err);
            prop_assert!((back[1] - p[1] * 0.1).abs() <= err);
            prop_assert!((back[2] - p[2]).abs() <= err);
        }

        #[test]
        fn rotations_within_a_fraction_of_a_degree(v in proptest::array::uniform4(-1.0f32..1.0)) {
            prop_assume!(v.iter().map(|c| c * c).sum::<f32>() > 0.01);
            let q = Quantizer::default();
            let len = v.iter().map(|c| c * c).sum::<f32>().sqrt();
            let unit = v.map(|c| c / len);
            let back = q.rotation_of(q.rotation(unit));
            // 9 bits over [-1/√2, 1/√2]: about 0.003 per component.
            prop_assert!(angle_between(unit, back) < 0.01, "{unit:?} -> {back:?}");
        }
    }
}
