//! Short in-memory history for sparklines: a fixed number of points per metric, oldest dropped.

use std::collections::VecDeque;

/// Points kept: five minutes at the default 2 s interval.
pub const POINTS: usize = 150;

#[derive(Debug, Clone, Default)]
pub struct Series {
    pub cpu_percent: VecDeque<f32>,
    pub memory_bytes: VecDeque<f32>,
    pub disk_bps: VecDeque<f32>,
    pub net_bps: VecDeque<f32>,
}

fn push(q: &mut VecDeque<f32>, v: Option<f64>) {
    // An unknown point is drawn as zero height; the gap is still visible in the shape.
    if q.len() == POINTS {
        q.pop_front();
    } else if q.capacity() == 0 {
        // Exactly the ring's size: grown by doubling it would end at 256 points, 70% more
        // memory for every VM of the fleet.
        q.reserve_exact(POINTS);
    }
    q.push_back(v.unwrap_or(0.0) as f32);
}

impl Series {
    pub fn push(
        &mut self,
        cpu: Option<f64>,
        mem: Option<f64>,
        disk: Option<f64>,
        net: Option<f64>,
    ) {
        push(&mut self.cpu_percent, cpu);
        push(&mut self.memory_bytes, mem);
        push(&mut self.disk_bps, disk);
        push(&mut self.net_bps, net);
    }

    pub fn len(&self) -> usize {
        self.cpu_percent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cpu_percent.is_empty()
    }
}

pub fn sum(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x + y),
        (x, None) | (None, x) => x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_newest_points() {
        let mut s = Series::default();
        for i in 0..POINTS + 10 {
            s.push(Some(i as f64), None, None, None);
        }
        assert_eq!(s.len(), POINTS);
        assert_eq!(s.cpu_percent.front().copied(), Some(10.0));
        assert_eq!(s.memory_bytes.back().copied(), Some(0.0));
    }

    #[test]
    fn sum_of_partly_known() {
        assert_eq!(sum(Some(1.0), None), Some(1.0));
        assert_eq!(sum(None, None), None);
        assert_eq!(sum(Some(1.0), Some(2.0)), Some(3.0));
    }
}

#[cfg(test)]
mod capacity {
    use super::*;

    #[test]
    fn a_full_ring_holds_no_more_than_its_points() {
        let mut s = Series::default();
        for i in 0..POINTS * 3 {
            s.push(Some(i as f64), None, None, None);
        }
        assert_eq!(s.len(), POINTS);
        assert!(
            s.cpu_percent.capacity() < POINTS + POINTS / 4,
            "{}",
            s.cpu_percent.capacity()
        );
        assert_eq!(s.cpu_percent.back(), Some(&((POINTS * 3 - 1) as f32)));
    }
}
