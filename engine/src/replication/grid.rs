//! A uniform grid over the world's ground plane, kept up to date as
//! entities move, answering "who is near this point" without looking at
//! everyone.
//!
//! The grid is dense: one cell per `cell_size` square of the world bounds
//! (x and z; height does not matter for who sees whom). Each cell is an
//! intrusive doubly-linked list threaded through per-entity arrays, so
//! moving an entity between cells is O(1) and, once the arrays have grown to
//! the largest entity id, nothing is ever allocated. An entity is relinked
//! only when it crosses a cell border.

use crate::math::Vec3;

const NONE: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Link {
    cell: u32,
    prev: u32,
    next: u32,
}

const UNLISTED: Link = Link {
    cell: NONE,
    prev: NONE,
    next: NONE,
};

/// Entity ids bucketed by ground cell.
#[derive(Debug, Clone)]
pub struct SpatialGrid {
    min: [f32; 2],
    inverse_cell: f32,
    columns: i32,
    rows: i32,
    heads: Vec<u32>,
    links: Vec<Link>,
    listed: usize,
}

impl SpatialGrid {
    /// A grid covering `min..max` on x and z with square cells of `cell_size`
    /// metres. Points outside are clamped to the border cells.
    pub fn new(min: [f32; 2], max: [f32; 2], cell_size: f32) -> Self {
        let cell_size = if cell_size.is_finite() && cell_size > 0.5 {
            cell_size
        } else {
            16.0
        };
        let columns = (((max[0] - min[0]) / cell_size).ceil() as i32).clamp(1, 4096);
        let rows = (((max[1] - min[1]) / cell_size).ceil() as i32).clamp(1, 4096);
        SpatialGrid {
            min,
            inverse_cell: 1.0 / cell_size,
            columns,
            rows,
            heads: vec![NONE; (columns * rows) as usize],
            links: Vec::new(),
            listed: 0,
        }
    }

    #[inline]
    fn column_row(&self, x: f32, z: f32) -> (i32, i32) {
        // Clamped at 0 first, `as` truncation is a floor; it saturates and
        // maps NaN to 0.
        let c = ((x - self.min[0]) * self.inverse_cell).max(0.0) as i32;
        let r = ((z - self.min[1]) * self.inverse_cell).max(0.0) as i32;
        (c.min(self.columns - 1), r.min(self.rows - 1))
    }

    fn cell_of(&self, p: Vec3) -> u32 {
        let (c, r) = self.column_row(p.x, p.z);
        (r * self.columns + c) as u32
    }

    /// Lists `id` at `p`, moving it if it was listed elsewhere.
    pub fn place(&mut self, id: u32, p: Vec3) {
        let cell = self.cell_of(p);
        let slot = id as usize;
        if slot >= self.links.len() {
            self.links.resize(slot + 1, UNLISTED);
        }
        let old = self.links[slot].cell;
        if old == cell {
            return;
        }
        if old != NONE {
            self.unlink(id);
        } else {
            self.listed += 1;
        }
        let head = self.heads[cell as usize];
        self.links[slot] = Link {
            cell,
            prev: NONE,
            next: head,
        };
        if head != NONE {
            self.links[head as usize].prev = id;
        }
        self.heads[cell as usize] = id;
    }

    fn unlink(&mut self, id: u32) {
        let Link { cell, prev, next } = self.links[id as usize];
        if prev != NONE {
            self.links[prev as usize].next = next;
        } else {
            self.heads[cell as usize] = next;
        }
        if next != NONE {
            self.links[next as usize].prev = prev;
        }
        self.links[id as usize] = UNLISTED;
    }

    /// Forgets `id`.
    pub fn remove(&mut self, id: u32) {
        if self.links.get(id as usize).is_some_and(|l| l.cell != NONE) {
            self.unlink(id);
            self.listed -= 1;
        }
    }

    /// Calls `visit` with every id listed in a cell that overlaps the square
    /// of half-side `radius` around `center` (a superset of those within
    /// `radius`: the caller measures distances).
    pub fn query(&self, center: Vec3, radius: f32, mut visit: impl FnMut(u32)) {
        let radius = radius.max(0.0);
        let (c0, r0) = self.column_row(center.x - radius, center.z - radius);
        let (c1, r1) = self.column_row(center.x + radius, center.z + radius);
        for r in r0..=r1 {
            let row = r * self.columns;
            for c in c0..=c1 {
                let mut id = self.heads[(row + c) as usize];
                while id != NONE {
                    visit(id);
                    id = self.links[id as usize].next;
                }
            }
        }
    }

    /// Entities listed.
    pub fn len(&self) -> usize {
        self.listed
    }

    /// Whether no entity is listed.
    pub fn is_empty(&self) -> bool {
        self.listed == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(grid: &SpatialGrid, p: Vec3, r: f32) -> Vec<u32> {
        let mut v = Vec::new();
        grid.query(p, r, |id| v.push(id));
        v.sort();
        v
    }

    #[test]
    fn entities_are_found_where_they_are_and_follow_moves() {
        let mut g = SpatialGrid::new([-100.0, -100.0], [100.0, 100.0], 10.0);
        g.place(1, Vec3::new(0.0, 0.0, 0.0));
        g.place(2, Vec3::new(55.0, 3.0, 55.0));
        g.place(3, Vec3::new(-95.0, 0.0, 5.0));
        g.place(4, Vec3::new(1.0, 0.0, 1.0));
        assert_eq!(near(&g, Vec3::ZERO, 5.0), vec![1, 4]);
        assert_eq!(near(&g, Vec3::new(50.0, 0.0, 50.0), 10.0), vec![2]);
        g.place(2, Vec3::new(1.0, 0.0, 1.0));
        assert_eq!(near(&g, Vec3::ZERO, 5.0), vec![1, 2, 4]);
        assert!(near(&g, Vec3::new(50.0, 0.0, 50.0), 10.0).is_empty());
        // Removing from the middle, the head and the tail of a cell's list.
        g.remove(1);
        assert_eq!(near(&g, Vec3::ZERO, 5.0), vec![2, 4]);
        g.remove(2);
        g.remove(4);
        g.remove(4);
        assert!(near(&g, Vec3::ZERO, 5.0).is_empty());
        assert_eq!(g.len(), 1);
        g.place(4, Vec3::ZERO);
        assert_eq!(near(&g, Vec3::ZERO, 5.0), vec![4]);
        assert_eq!(g.len(), 2);
    }

    #[test]
    fn far_outside_and_nonsense_positions_clamp() {
        let mut g = SpatialGrid::new([-100.0, -100.0], [100.0, 100.0], 10.0);
        g.place(7, Vec3::new(1e9, 0.0, f32::NAN));
        g.place(8, Vec3::new(f32::NEG_INFINITY, 0.0, -1e9));
        assert_eq!(near(&g, Vec3::new(1e9, 0.0, -1e9), 1.0), vec![7]);
        assert_eq!(near(&g, Vec3::new(99.0, 0.0, -99.0), 1.0), vec![7]);
        assert_eq!(near(&g, Vec3::new(-99.0, 0.0, -99.0), 1.0), vec![8]);
        // A huge radius visits every cell once.
        assert_eq!(near(&g, Vec3::ZERO, f32::MAX), vec![7, 8]);
    }
}
