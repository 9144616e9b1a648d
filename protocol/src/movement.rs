//! The movement rule the world applies to each input, and that clients use
//! to predict their own avatar: the same operations in the same order on
//! both ends, so that a prediction without walls is exact.

/// The horizontal direction one input `[x, z]` walks in: each component
/// clamped to `-1..=1` (one that is not a number counts as 0), longer
/// vectors normalised. `None` when the input stands still.
#[inline]
pub fn walk_direction(mv: [f32; 2]) -> Option<[f32; 2]> {
    let [mut x, mut z] = mv.map(|c| if c.is_nan() { 0.0 } else { c.clamp(-1.0, 1.0) });
    let len_sq = x * x + z * z;
    if len_sq == 0.0 {
        return None;
    }
    if len_sq > 1.0 {
        let len = len_sq.sqrt();
        x /= len;
        z /= len;
    }
    Some([x, z])
}

#[cfg(test)]
mod tests {
    use super::walk_direction;

    #[test]
    fn directions() {
        assert_eq!(walk_direction([0.0, 0.0]), None);
        assert_eq!(walk_direction([f32::NAN, 0.0]), None);
        assert_eq!(walk_direction([0.5, 0.0]), Some([0.5, 0.0]));
        assert_eq!(walk_direction([7.0, 0.0]), Some([1.0, 0.0]));
        let [x, z] = walk_direction([1.0, 1.0]).unwrap();
        assert!((x * x + z * z - 1.0).abs() < 1e-6);
    }
}
