//! One VM's readings onto the scenario's sampling grid.
//!
//! Cell `k` covers `[start + k dt, start + (k+1) dt)`. A cell with readings gets their
//! mean (downsampling: Alibaba's 10 s readings into 300 s cells). A cell without any is
//! filled from its neighbours: `hold` repeats the reading before it, `interpolate` draws
//! a line between the readings on either side; before the first reading the first one
//! is used, after the last the last one. A filled cell is a *gap* when its neighbours
//! are more than 1.5 trace intervals apart or one of them is missing; `drop` refuses
//! such a VM.

use scalelab_sim::workload::GapPolicy;

/// A reading: time (s) and value (percent; NaN = invalid, skipped).
pub type Reading = (i64, f32);

/// The grid: `cells` cells of `dt_s` from `start_s`.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    pub start_s: i64,
    pub dt_s: i64,
    pub cells: usize,
    /// The trace's own interval (for telling a gap from ordinary upsampling).
    pub trace_interval_s: i64,
}

/// The resampled series (percent) and how many cells were filled across gaps, or
/// `None` when `drop` met a gap or the VM has no valid reading at all.
pub fn resample(
    readings: &mut Vec<Reading>,
    grid: &Grid,
    policy: GapPolicy,
) -> Option<(Vec<f32>, u64)> {
    readings.retain(|r| r.1.is_finite());
    if readings.is_empty() {
        return None;
    }
    readings.sort_by_key(|r| r.0);
    let max_step = grid.trace_interval_s.max(1) * 3 / 2;
    let mut out = Vec::with_capacity(grid.cells);
    let mut gaps = 0u64;
    let mut i = 0; // first reading at or after the current cell's start
    for k in 0..grid.cells {
        let lo = grid.start_s + k as i64 * grid.dt_s;
        let hi = lo + grid.dt_s;
        while i < readings.len() && readings[i].0 < lo {
            i += 1;
        }
        let mut j = i;
        let (mut sum, mut n) = (0.0f64, 0u32);
        while j < readings.len() && readings[j].0 < hi {
            sum += readings[j].1 as f64;
            n += 1;
            j += 1;
        }
        if n > 0 {
            out.push((sum / n as f64) as f32);
            continue;
        }
        let prev = i.checked_sub(1).map(|p| readings[p]);
        let next = readings.get(i).copied();
        let gap = match (prev, next) {
            (Some(p), Some(q)) => q.0 - p.0 > max_step,
            // Within one step of the edge reading: the trace simply started or ended
            // between two grid cells.
            (Some(p), None) => lo - p.0 >= max_step,
            (None, Some(q)) => q.0 - hi >= max_step,
            (None, None) => true,
        };
        if gap {
            gaps += 1;
            if policy == GapPolicy::Drop {
                return None;
            }
        }
        let v = match (prev, next, policy) {
            (Some(p), Some(q), GapPolicy::Interpolate) => {
                let f = (lo - p.0) as f64 / (q.0 - p.0) as f64;
                (p.1 as f64 + (q.1 as f64 - p.1 as f64) * f) as f32
            }
            (Some(p), _, _) => p.1,
            (None, Some(q), _) => q.1,
            (None, None, _) => unreachable!("readings is not empty"),
        };
        out.push(v);
    }
    Some((out, gaps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(start: i64, dt: i64, cells: usize, interval: i64) -> Grid {
        Grid {
            start_s: start,
            dt_s: dt,
            cells,
            trace_interval_s: interval,
        }
    }

    #[test]
    fn downsampling_averages_each_cell() {
        let mut r: Vec<Reading> = (0..30).map(|i| (i * 10, i as f32)).collect();
        let (v, gaps) = resample(&mut r, &grid(0, 100, 3, 10), GapPolicy::Hold).unwrap();
        assert_eq!(v, [4.5, 14.5, 24.5]);
        assert_eq!(gaps, 0);
    }

    #[test]
    fn upsampling_holds_or_interpolates_without_counting_gaps() {
        let r = vec![(0, 10.0), (300, 40.0), (600, 10.0)];
        let (v, gaps) = resample(&mut r.clone(), &grid(0, 100, 9, 300), GapPolicy::Hold).unwrap();
        assert_eq!(v, [10.0, 10.0, 10.0, 40.0, 40.0, 40.0, 10.0, 10.0, 10.0]);
        assert_eq!(gaps, 0);
        let (v, _) = resample(
            &mut r.clone(),
            &grid(0, 100, 6, 300),
            GapPolicy::Interpolate,
        )
        .unwrap();
        assert_eq!(v, [10.0, 20.0, 30.0, 40.0, 30.0, 20.0]);
    }

    #[test]
    fn gaps_are_filled_by_the_policy_and_counted() {
        // 300 s readings with a 1,500 s hole between 600 and 2,100.
        let r = vec![
            (0, 10.0),
            (300, 10.0),
            (600, 20.0),
            (2100, 80.0),
            (2400, 80.0),
        ];
        let g = grid(0, 300, 9, 300);
        let (v, gaps) = resample(&mut r.clone(), &g, GapPolicy::Hold).unwrap();
        assert_eq!(v, [10.0, 10.0, 20.0, 20.0, 20.0, 20.0, 20.0, 80.0, 80.0]);
        assert_eq!(gaps, 4);
        let (v, gaps) = resample(&mut r.clone(), &g, GapPolicy::Interpolate).unwrap();
        assert_eq!(v, [10.0, 10.0, 20.0, 32.0, 44.0, 56.0, 68.0, 80.0, 80.0]);
        assert_eq!(gaps, 4);
        assert_eq!(resample(&mut r.clone(), &g, GapPolicy::Drop), None);
        // Without the hole, drop keeps the VM.
        let ok = vec![(0, 1.0), (300, 2.0), (600, 3.0)];
        assert!(resample(&mut ok.clone(), &grid(0, 300, 3, 300), GapPolicy::Drop).is_some());
    }

    #[test]
    fn jitter_unsorted_and_invalid_readings() {
        // Bitbrains-like jitter, out of order, one invalid reading.
        let mut r = vec![(601, 3.0), (1, 1.0), (299, f32::NAN), (302, 2.0)];
        let (v, gaps) = resample(&mut r, &grid(0, 300, 3, 300), GapPolicy::Hold).unwrap();
        assert_eq!(v, [1.0, 2.0, 3.0]);
        assert_eq!(gaps, 0);
        // A late start: the first cells are backfilled and count as gaps.
        let mut r = vec![(1200, 5.0), (1500, 6.0)];
        let (v, gaps) = resample(&mut r, &grid(0, 300, 6, 300), GapPolicy::Hold).unwrap();
        assert_eq!(v, [5.0, 5.0, 5.0, 5.0, 5.0, 6.0]);
        assert_eq!(
            gaps, 2,
            "the cell just before the first reading is not a gap"
        );
        assert_eq!(
            resample(
                &mut vec![(0, f32::NAN)],
                &grid(0, 300, 2, 300),
                GapPolicy::Hold
            ),
            None
        );
    }
}
