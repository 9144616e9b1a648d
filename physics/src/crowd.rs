//! Avatar against avatar, without rapier: a separation pass over a spatial
//! hash of capsule centres, run once a tick before the character controller.
//!
//! Rapier's character controller resolves what it runs into with shape
//! casts, and a capsule cast that starts inside another capsule falls back
//! to deep-penetration queries (EPA) whose cost explodes when avatars pack
//! together (everyone joining at the spawn point, a crowd in the plaza). So
//! avatars are left out of each other's casts (a collision group, see
//! [`mover`](crate::mover)), and [`Crowd::separate`] keeps them apart
//! instead. Each avatar is an upright capsule: a circle on the ground plane
//! and a height. Where each would be after its walk, every pair closer than
//! two radii (and overlapping in height) is pushed apart along the line
//! between them, the overlap shared by their *mobility*:
//!
//! - an avatar that walks into one that stands takes all of it: it is
//!   stopped, and slides round the other, which is not moved (nobody can
//!   shove a bystander about, or off a ledge);
//! - two walkers that meet share it, and stop against each other;
//! - a walker pressing against a wall counts as standing, so that those
//!   behind it stop at it rather than squeeze into it;
//! - two that stand overlapping (a teleport onto someone) are parted, half
//!   each, at a bounded pace.
//!
//! The result is a horizontal move per avatar (its walk plus its push, the
//! push at most `max_push` long), which the character controller then
//! carries out against walls, floors and props like any walk. An avatar
//! that stands and is not overlapped gets a move of zero, and the
//! controller can leave it alone.
//!
//! The pass is O(avatars): a counting sort of the avatars into a hash table
//! of grid cells one diameter wide (so every neighbour is in the 3×3 cells
//! around), the pairs near enough to overlap collected once, then a few relaxation
//! sweeps over those pairs. It allocates nothing once its buffers have grown
//! to the crowd.

/// One avatar, as the pass sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// Its capsule's centre, x y z.
    pub center: [f32; 3],
    /// Its walk this tick, x z (metres).
    pub walk: [f32; 2],
    /// How far it will go if nobody is in the way, x z: its walk, or for
    /// one pressing against a wall, what the wall let it move last tick.
    pub expect: [f32; 2],
    /// Whether it walks and can go where it walks (rather than stands, or
    /// presses against a wall or a prop): see the module documentation.
    pub walking: bool,
}

/// The shape every avatar has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capsules {
    /// Radius, metres.
    pub radius: f32,
    /// Full height, metres: two capsules overlap only if their centres are
    /// closer than this vertically.
    pub height: f32,
}

/// Relaxation sweeps over the overlapping pairs: enough for the few
/// neighbours a walker touches at once; what is left is resolved next tick.
const SWEEPS: usize = 8;

/// The separation pass, with the buffers it reuses tick after tick.
///
/// Pairs are looked for once a tick, among avatars closer than two radii
/// plus `max_push` where they are headed; the sweeps then part those that
/// overlap, including those that a push from a third has brought together.
#[derive(Debug, Default, Clone)]
pub struct Crowd {
    /// Where each bucket's members start in `order` (one more than buckets).
    starts: Vec<u32>,
    /// The next free slot of each bucket while `order` is filled.
    fill: Vec<u32>,
    /// Member indices, by bucket.
    order: Vec<u32>,
    /// Each member's bucket.
    bucket_of: Vec<u32>,
    /// Pairs close enough to overlap where they are headed.
    pairs: Vec<(u32, u32)>,
    /// Where each member is headed, x z, as the sweeps move it.
    targets: Vec<[f32; 2]>,
}

impl Crowd {
    /// An empty pass.
    pub fn new() -> Crowd {
        Crowd::default()
    }

    /// Each member's move this tick, x z: its walk, plus the push that keeps
    /// it out of the others (at most `max_push` long), into `moves` (in the
    /// order of `members`). Returns how many pairs overlapped.
    pub fn separate(
        &mut self,
        members: &[Member],
        shape: Capsules,
        max_push: f32,
        moves: &mut Vec<[f32; 2]>,
    ) -> usize {
        moves.clear();
        moves.extend(members.iter().map(|m| m.walk));
        let reach = 2.0 * shape.radius;
        if members.len() < 2 || !(reach.is_finite() && reach > 0.0 && max_push.is_finite()) {
            return 0;
        }
        self.targets.clear();
        self.targets.extend(
            members
                .iter()
                .map(|m| [m.center[0] + m.expect[0], m.center[2] + m.expect[1]]),
        );
        self.find_pairs(members, shape, reach + max_push.max(0.0));
        let overlapping = self
            .pairs
            .iter()
            .filter(|&&(i, j)| {
                let (a, b) = (self.targets[i as usize], self.targets[j as usize]);
                (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) < reach * reach
            })
            .count();
        if overlapping == 0 {
            return 0;
        }
        for _ in 0..SWEEPS {
            for &(i, j) in &self.pairs {
                let (i, j) = (i as usize, j as usize);
                let (a, b) = (self.targets[i], self.targets[j]);
                let (dx, dz) = (a[0] - b[0], a[1] - b[1]);
                let d2 = dx * dx + dz * dz;
                if d2 >= reach * reach {
                    continue;
                }
                let d = d2.sqrt();
                let (nx, nz) = if d > 1e-4 {
                    (dx / d, dz / d)
                } else {
                    // On top of each other: part them along a direction
                    // that depends only on who they are.
                    let angle = i as f32 * 2.399_963 + j as f32 * 0.618_034;
                    (angle.cos(), angle.sin())
                };
                let (share_a, share_b) = match (members[i].walking, members[j].walking) {
                    (true, false) => (1.0, 0.0),
                    (false, true) => (0.0, 1.0),
                    _ => (0.5, 0.5),
                };
                let overlap = reach - d;
                let ta = &mut self.targets[i];
                ta[0] += nx * overlap * share_a;
                ta[1] += nz * overlap * share_a;
                let tb = &mut self.targets[j];
                tb[0] -= nx * overlap * share_b;
                tb[1] -= nz * overlap * share_b;
            }
        }
        for ((m, target), out) in members.iter().zip(&self.targets).zip(moves.iter_mut()) {
            let push = [
                target[0] - m.center[0] - m.expect[0],
                target[1] - m.center[2] - m.expect[1],
            ];
            let len = (push[0] * push[0] + push[1] * push[1]).sqrt();
            let k = if len > max_push { max_push / len } else { 1.0 };
            out[0] = m.walk[0] + push[0] * k;
            out[1] = m.walk[1] + push[1] * k;
        }
        overlapping
    }

    /// Fills `pairs` with every pair of members closer than `reach` where
    /// they are headed (`targets`), each pair once: those that overlap, and
    /// those that pushes from others could make overlap.
    fn find_pairs(&mut self, members: &[Member], shape: Capsules, reach: f32) {
        let buckets = (2 * members.len()).next_power_of_two().max(16);
        let mask = (buckets - 1) as u32;
        let cell_of = |t: [f32; 2]| ((t[0] / reach).floor() as i32, (t[1] / reach).floor() as i32);
        self.starts.clear();
        self.starts.resize(buckets + 1, 0);
        self.bucket_of.clear();
        for &t in &self.targets {
            let (cx, cz) = cell_of(t);
            let b = hash(cx, cz) & mask;
            self.bucket_of.push(b);
            self.starts[b as usize + 1] += 1;
        }
        for i in 1..=buckets {
            self.starts[i] += self.starts[i - 1];
        }
        self.fill.clear();
        self.fill.extend_from_slice(&self.starts[..buckets]);
        self.order.clear();
        self.order.resize(members.len(), 0);
        for (i, &b) in self.bucket_of.iter().enumerate() {
            let slot = &mut self.fill[b as usize];
            self.order[*slot as usize] = i as u32;
            *slot += 1;
        }
        self.pairs.clear();
        for (i, &a) in self.targets.iter().enumerate() {
            let (cx, cz) = cell_of(a);
            let mut seen = [u32::MAX; 9];
            let mut n_seen = 0;
            for dz in -1..=1 {
                for dx in -1..=1 {
                    let b = hash(cx + dx, cz + dz) & mask;
                    if seen[..n_seen].contains(&b) {
                        continue; // two cells in one bucket: look once
                    }
                    seen[n_seen] = b;
                    n_seen += 1;
                    let (from, to) = (self.starts[b as usize], self.starts[b as usize + 1]);
                    for &j in &self.order[from as usize..to as usize] {
                        if j as usize <= i {
                            continue; // each pair once, from its lower index
                        }
                        let t = self.targets[j as usize];
                        let (ddx, ddz) = (a[0] - t[0], a[1] - t[1]);
                        let ddy = members[i].center[1] - members[j as usize].center[1];
                        if ddy.abs() < shape.height && ddx * ddx + ddz * ddz < reach * reach {
                            self.pairs.push((i as u32, j));
                        }
                    }
                }
            }
        }
    }
}

/// A grid cell's bucket, before masking (the spatial hash of Teschner et
/// al., "Optimized Spatial Hashing for Collision Detection of Deformable
/// Objects").
fn hash(x: i32, z: i32) -> u32 {
    (x as u32).wrapping_mul(73_856_093) ^ (z as u32).wrapping_mul(19_349_663)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHAPE: Capsules = Capsules {
        radius: 0.35,
        height: 1.8,
    };

    fn member(x: f32, z: f32, walk: [f32; 2]) -> Member {
        Member {
            center: [x, 0.9, z],
            walk,
            expect: walk,
            walking: walk != [0.0, 0.0],
        }
    }

    fn apart(members: &[Member], moves: &[[f32; 2]]) -> f32 {
        let mut min = f32::INFINITY;
        for i in 0..members.len() {
            for j in i + 1..members.len() {
                let a = [
                    members[i].center[0] + moves[i][0],
                    members[i].center[2] + moves[i][1],
                ];
                let b = [
                    members[j].center[0] + moves[j][0],
                    members[j].center[2] + moves[j][1],
                ];
                min = min.min(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt());
            }
        }
        min
    }

    #[test]
    fn avatars_apart_keep_their_walks_and_cost_no_pairs() {
        let members = [member(0.0, 0.0, [0.2, 0.0]), member(5.0, 0.0, [0.0, 0.0])];
        let mut moves = Vec::new();
        assert_eq!(Crowd::new().separate(&members, SHAPE, 0.35, &mut moves), 0);
        assert_eq!(moves, vec![[0.2, 0.0], [0.0, 0.0]]);
    }

    #[test]
    fn a_walker_stops_at_a_bystander_who_is_not_moved() {
        // 0.75 apart, walking 0.2 straight at it.
        let members = [member(0.0, 0.0, [0.2, 0.0]), member(0.75, 0.0, [0.0, 0.0])];
        let mut moves = Vec::new();
        assert_eq!(Crowd::new().separate(&members, SHAPE, 0.35, &mut moves), 1);
        assert_eq!(moves[1], [0.0, 0.0], "the bystander stays put");
        assert!((moves[0][0] - 0.05).abs() < 1e-4, "{moves:?}");
        assert!(apart(&members, &moves) >= 0.7 - 1e-4);
    }

    #[test]
    fn a_walker_slides_round_a_bystander() {
        // Aimed off-centre: it keeps going sideways rather than stopping.
        let members = [member(0.0, 0.0, [0.2, 0.0]), member(0.72, 0.3, [0.0, 0.0])];
        let mut moves = Vec::new();
        Crowd::new().separate(&members, SHAPE, 0.35, &mut moves);
        assert!(moves[0][1] < -0.01, "slid to the side: {moves:?}");
        assert!(apart(&members, &moves) >= 0.7 - 1e-4);
    }

    #[test]
    fn walkers_that_meet_stop_against_each_other() {
        let members = [member(0.0, 0.0, [0.2, 0.0]), member(0.8, 0.0, [-0.2, 0.0])];
        let mut moves = Vec::new();
        Crowd::new().separate(&members, SHAPE, 0.35, &mut moves);
        assert!(apart(&members, &moves) >= 0.7 - 1e-4);
        assert!(
            (moves[0][0] - 0.05).abs() < 1e-4,
            "stopped short: {moves:?}"
        );
        assert!(
            (moves[0][0] + moves[1][0]).abs() < 1e-5,
            "symmetric: {moves:?}"
        );
    }

    #[test]
    fn avatars_on_the_same_spot_are_parted_at_a_bounded_pace() {
        let members = [member(1.0, 1.0, [0.0, 0.0]), member(1.0, 1.0, [0.0, 0.0])];
        let mut moves = Vec::new();
        Crowd::new().separate(&members, SHAPE, 0.1, &mut moves);
        for m in &moves {
            let len = (m[0] * m[0] + m[1] * m[1]).sqrt();
            assert!((len - 0.1).abs() < 1e-4, "{moves:?}");
        }
        assert!((moves[0][0] + moves[1][0]).abs() < 1e-5);
    }

    #[test]
    fn floors_apart_do_not_touch() {
        let mut below = member(0.0, 0.0, [0.0, 0.0]);
        below.center[1] -= 10.0;
        let members = [below, member(0.1, 0.0, [0.0, 0.0])];
        let mut moves = Vec::new();
        assert_eq!(Crowd::new().separate(&members, SHAPE, 0.35, &mut moves), 0);
    }

    #[test]
    fn a_packed_crowd_finds_every_overlap_once() {
        // A 20 × 20 grid 0.5 m apart: each overlaps its 4 side neighbours
        // and 4 diagonal ones (0.707 > 0.7: those do not).
        let members: Vec<Member> = (0..400)
            .map(|i| member((i % 20) as f32 * 0.5, (i / 20) as f32 * 0.5, [0.0, 0.0]))
            .collect();
        let mut moves = Vec::new();
        let pairs = Crowd::new().separate(&members, SHAPE, 0.35, &mut moves);
        assert_eq!(pairs, 2 * 20 * 19);
    }
}
