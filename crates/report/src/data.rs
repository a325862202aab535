//! The numbers behind each plot, prepared from a run record: aggregated to what a plot
//! can show (a 10,000-node day has more cells than a screen has pixels) and computed
//! here, apart from drawing, so tests check them against values worked out by hand.

use scalelab_sim::record::{
    ErrorStat, EventKind, ExpectedActual, MigrationRecord, Outcome, RunRecord, Series, StepOutcome,
    node_state,
};

/// Hours since the start of the run, the x unit of every time plot.
pub fn hours(t_ms: u64) -> f64 {
    t_ms as f64 / 3_600_000.0
}

fn is_on(state: u8) -> bool {
    state == node_state::HEALTHY || state == node_state::OVERLOADED
}

/// Node utilization on a grid of node groups x time bins.
#[derive(Debug, Clone, PartialEq)]
pub struct Heat {
    /// Consecutive nodes (in the record's order) averaged into one row.
    pub nodes_per_row: usize,
    /// Samples averaged into one column.
    pub samples_per_col: usize,
    pub row_labels: Vec<String>,
    /// Column edges in hours (columns + 1).
    pub x_edges_h: Vec<f64>,
    /// Mean utilization over the (node, sample) pairs of a cell whose node was on; NaN
    /// when every node of the cell was off or down.
    pub cells: Vec<Vec<f64>>,
}

/// `ceil(n / max)`, at least 1: how many items one bucket takes so that at most `max`
/// buckets hold `n` items.
pub fn per_bucket(n: usize, max: usize) -> usize {
    n.div_ceil(max.max(1)).max(1)
}

pub fn heat(series: &Series, node_ids: &[String], max_rows: usize, max_cols: usize) -> Heat {
    let nodes = node_ids.len();
    let samples = series.times_ms.len();
    let npr = per_bucket(nodes, max_rows);
    let spc = per_bucket(samples, max_cols);
    let rows = nodes.div_ceil(npr);
    let cols = samples.div_ceil(spc);
    let mut sum = vec![vec![0.0f64; cols]; rows];
    let mut cnt = vec![vec![0u32; cols]; rows];
    for (k, (u, st)) in series.node_util.iter().zip(&series.node_state).enumerate() {
        let c = k / spc;
        for (n, (&v, &s)) in u.iter().zip(st).enumerate() {
            if is_on(s) {
                sum[n / npr][c] += f64::from(v);
                cnt[n / npr][c] += 1;
            }
        }
    }
    let cells = sum
        .iter()
        .zip(&cnt)
        .map(|(s, c)| {
            s.iter()
                .zip(c)
                .map(|(&s, &c)| if c > 0 { s / f64::from(c) } else { f64::NAN })
                .collect()
        })
        .collect();
    let row_labels = (0..rows)
        .map(|r| {
            let (a, b) = (r * npr, ((r + 1) * npr).min(nodes) - 1);
            if a == b {
                node_ids[a].clone()
            } else {
                format!("{}..{}", node_ids[a], node_ids[b])
            }
        })
        .collect();
    // A column spans its first sample to the next column's first sample (the last to
    // one record interval past its last sample).
    let step = series.interval_ms;
    let mut x_edges_h: Vec<f64> = (0..cols).map(|c| hours(series.times_ms[c * spc])).collect();
    if let Some(&last) = series.times_ms.last() {
        x_edges_h.push(hours(last + step));
    }
    Heat {
        nodes_per_row: npr,
        samples_per_col: spc,
        row_labels,
        x_edges_h,
        cells,
    }
}

/// Where failures and migrations happened, as (hours, node): crashes on their node,
/// migration starts on their source.
/// (hours, node index) points.
pub type NodeMarks = Vec<(f64, usize)>;

pub fn marks(r: &RunRecord) -> (NodeMarks, NodeMarks) {
    let failures = r
        .events
        .iter()
        .filter(|e| e.kind == EventKind::NodeCrash)
        .filter_map(|e| Some((hours(e.t_ms), e.node? as usize)))
        .collect();
    let migrations = r
        .migrations
        .iter()
        .map(|m| (hours(m.started_ms), m.source as usize))
        .collect();
    (failures, migrations)
}

/// Up to `k` nodes worth a line of their own: the highest peak utilization first
/// (ties by index), since overloads are what a reader looks for.
pub fn busiest_nodes(series: &Series, k: usize) -> Vec<usize> {
    let n = series.node_util.first().map_or(0, Vec::len);
    let mut peak = vec![f32::NEG_INFINITY; n];
    for u in &series.node_util {
        for (p, &v) in peak.iter_mut().zip(u) {
            *p = p.max(v);
        }
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| peak[b].total_cmp(&peak[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// Mean of each run of `per` consecutive (x, y) points, at the run's first x: lines
/// with more points than a plot is wide lose nothing visible.
pub fn downsample(points: &[(f64, f64)], max: usize) -> (Vec<(f64, f64)>, usize) {
    let per = per_bucket(points.len(), max);
    if per == 1 {
        return (points.to_vec(), 1);
    }
    let out = points
        .chunks(per)
        .map(|c| (c[0].0, c.iter().map(|p| p.1).sum::<f64>() / c.len() as f64))
        .collect();
    (out, per)
}

/// One node's utilization over time.
pub fn node_line(series: &Series, node: usize) -> Vec<(f64, f64)> {
    series
        .times_ms
        .iter()
        .zip(&series.node_util)
        .map(|(&t, u)| (hours(t), u.get(node).copied().map_or(f64::NAN, f64::from)))
        .collect()
}

/// Hosts on (not off, not down) at each sample.
pub fn active_hosts(series: &Series) -> Vec<(f64, f64)> {
    series
        .times_ms
        .iter()
        .zip(&series.node_state)
        .map(|(&t, st)| (hours(t), st.iter().filter(|&&s| is_on(s)).count() as f64))
        .collect()
}

/// Cluster power at each sample, kW (empty without power models).
pub fn power_kw(series: &Series) -> Vec<(f64, f64)> {
    series
        .times_ms
        .iter()
        .zip(&series.power_w)
        .map(|(&t, &w)| (hours(t), f64::from(w) / 1000.0))
        .collect()
}

/// Share of the hosts that are on which are overloaded (above 100 % CPU), at each
/// sample: the instantaneous form of SLATAH.
pub fn overloaded_frac(series: &Series) -> Vec<(f64, f64)> {
    series
        .times_ms
        .iter()
        .zip(&series.node_state)
        .map(|(&t, st)| {
            let on = st.iter().filter(|&&s| is_on(s)).count();
            let over = st.iter().filter(|&&s| s == node_state::OVERLOADED).count();
            (hours(t), if on > 0 { over as f64 / on as f64 } else { 0.0 })
        })
        .collect()
}

/// Mean utilization of the hosts that are on, at each sample.
pub fn mean_utilization(series: &Series) -> Vec<(f64, f64)> {
    series
        .times_ms
        .iter()
        .zip(series.node_util.iter().zip(&series.node_state))
        .map(|(&t, (u, st))| {
            let (s, n) = u
                .iter()
                .zip(st)
                .filter(|(_, s)| is_on(**s))
                .fold((0.0, 0u32), |(s, n), (&v, _)| (s + f64::from(v), n + 1));
            (hours(t), if n > 0 { s / f64::from(n) } else { 0.0 })
        })
        .collect()
}

/// One step of a migration bar, in seconds since the migration started.
#[derive(Debug, Clone, PartialEq)]
pub struct StepBar {
    /// Index of the step in the plan (colour).
    pub kind: usize,
    pub start: f64,
    pub end: f64,
    /// Start + the step's timeout.
    pub timeout_end: f64,
    /// Timed out, failed or aborted.
    pub failed: bool,
}

/// One migration on the timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub id: u32,
    pub label: String,
    /// When the migration started, hours into the run.
    pub start_h: f64,
    /// Its end, seconds after it started.
    pub end: f64,
    pub steps: Vec<StepBar>,
    pub rolled_back: bool,
    pub data_loss: bool,
}

/// Seconds since `t0_ms`.
fn secs_since(t0_ms: u64, t_ms: u64) -> f64 {
    t_ms.saturating_sub(t0_ms) as f64 / 1000.0
}

/// A migration's bar in seconds since it started, so that steps of a few seconds stay
/// visible against their timeouts in a day-long run.
fn bar(m: &MigrationRecord, run_end_ms: u64) -> Bar {
    let end_ms = m.ended_ms.unwrap_or(run_end_ms);
    let t0 = m.started_ms;
    let steps = m
        .steps
        .iter()
        .enumerate()
        .map(|(k, s)| StepBar {
            kind: k,
            start: secs_since(t0, s.start_ms),
            end: secs_since(t0, s.end_ms.unwrap_or(end_ms)),
            timeout_end: secs_since(t0, s.start_ms + s.timeout_s * 1000),
            failed: matches!(
                s.outcome,
                Some(StepOutcome::TimedOut | StepOutcome::Failed | StepOutcome::Aborted)
            ),
        })
        .collect();
    Bar {
        id: m.id,
        label: format!("#{} {} at {:.2} h", m.id, m.vm_id, hours(m.started_ms)),
        start_h: hours(m.started_ms),
        end: secs_since(t0, end_ms),
        steps,
        rolled_back: m.outcome == Some(Outcome::RolledBack),
        data_loss: m.outcome == Some(Outcome::DataLoss),
    }
}

/// At most `max` migration bars, by start time: every migration that did not complete
/// first (those are what a reader looks for), then completed ones evenly spaced over the
/// run. Returns the bars and how many migrations there were.
pub fn migration_bars(r: &RunRecord, max: usize) -> (Vec<Bar>, usize) {
    let total = r.migrations.len();
    let mut chosen: Vec<&MigrationRecord> = if total <= max {
        r.migrations.iter().collect()
    } else {
        let (bad, good): (Vec<_>, Vec<_>) = r
            .migrations
            .iter()
            .partition(|m| m.outcome != Some(Outcome::Completed));
        let mut c: Vec<&MigrationRecord> = bad.into_iter().take(max).collect();
        let room = max - c.len();
        if room > 0 && !good.is_empty() {
            let stride = good.len() as f64 / room as f64;
            c.extend((0..room).map(|i| good[(i as f64 * stride) as usize]));
        }
        c
    };
    chosen.sort_by_key(|m| (m.started_ms, m.id));
    (
        chosen
            .into_iter()
            .map(|m| bar(m, r.scenario.duration_ms))
            .collect(),
        total,
    )
}

/// One estimate across a run's migrations: (expected, actual) pairs and their error.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatePairs {
    pub name: &'static str,
    /// Axis unit as the plot labels it.
    pub unit: &'static str,
    pub points: Vec<(f64, f64)>,
    pub stat: Option<ErrorStat>,
}

/// Expected against actual for every estimate the record carries, over the same
/// migrations the run metrics use: the target's utilization wherever measured, the
/// source's wherever measured, and downtime, completion time and data sent of the
/// migrations that completed.
pub fn estimates(r: &RunRecord) -> Vec<EstimatePairs> {
    let p = ExpectedActual::of(&r.migrations);
    [
        (
            "target utilization after migration",
            "fraction of the target's CPU",
            p.target_utilization,
        ),
        (
            "source utilization after migration",
            "fraction of the source's CPU",
            p.source_utilization,
        ),
        ("downtime", "ms", p.downtime_ms),
        ("completion time", "s", p.completion_s),
        ("data sent", "MiB", p.data_sent_mib),
    ]
    .into_iter()
    .map(|(name, unit, points)| EstimatePairs {
        name,
        unit,
        stat: ErrorStat::of(points.iter().map(|(e, a)| a - e)),
        points,
    })
    .collect()
}

/// Every `stride`-th point so that at most `max` remain (the error statistics are
/// computed on all of them before).
pub fn thin<T: Clone>(points: &[T], max: usize) -> (Vec<T>, usize) {
    let per = per_bucket(points.len(), max);
    (points.iter().step_by(per).cloned().collect(), per)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series() -> Series {
        // 3 nodes x 4 samples at 1 h; node 2 down at sample 1.
        Series {
            interval_ms: 3_600_000,
            times_ms: vec![0, 3_600_000, 7_200_000, 10_800_000],
            node_util: vec![
                vec![0.2, 0.4, 0.0],
                vec![0.6, 1.2, 0.0],
                vec![0.4, 0.4, 0.9],
                vec![0.0, 0.8, 1.1],
            ],
            node_state: vec![vec![0, 0, 3], vec![0, 1, 2], vec![0, 0, 0], vec![3, 0, 1]],
            power_w: vec![100.0, 200.0, 250.0, 300.0],
        }
    }

    fn ids() -> Vec<String> {
        vec!["a".into(), "b".into(), "c".into()]
    }

    #[test]
    fn heat_cells_average_the_nodes_that_are_on() {
        let h = heat(&series(), &ids(), 2, 2);
        assert_eq!((h.nodes_per_row, h.samples_per_col), (2, 2));
        assert_eq!(h.row_labels, vec!["a..b", "c"]);
        assert_eq!(h.x_edges_h, vec![0.0, 2.0, 4.0]);
        // Row 0, col 0: nodes a, b at samples 0, 1: (0.2 + 0.4 + 0.6 + 1.2) / 4.
        assert!((h.cells[0][0] - 0.6).abs() < 1e-6);
        // Row 0, col 1: a at 2 (0.4), b at 2 (0.4) and 3 (0.8); a off at 3.
        assert!((h.cells[0][1] - 1.6 / 3.0).abs() < 1e-6);
        // Row 1, col 0: c off then down: nothing on.
        assert!(h.cells[1][0].is_nan());
        assert!((h.cells[1][1] - 1.0).abs() < 1e-6);
        // One cell per node and sample when there is room.
        let full = heat(&series(), &ids(), 10, 10);
        assert_eq!(full.cells.len(), 3);
        assert_eq!(full.cells[0].len(), 4);
        assert_eq!(full.x_edges_h.len(), 5);
    }

    #[test]
    fn host_counts_and_overload_share_per_sample() {
        let s = series();
        let on: Vec<f64> = active_hosts(&s).iter().map(|p| p.1).collect();
        assert_eq!(on, vec![2.0, 2.0, 3.0, 2.0]);
        let over: Vec<f64> = overloaded_frac(&s).iter().map(|p| p.1).collect();
        assert_eq!(over, vec![0.0, 0.5, 0.0, 0.5]);
        let mean: Vec<f64> = mean_utilization(&s).iter().map(|p| p.1).collect();
        assert!((mean[1] - 0.9).abs() < 1e-6);
        assert!((mean[3] - 0.95).abs() < 1e-6);
        assert_eq!(power_kw(&s)[2], (2.0, 0.25));
        assert_eq!(busiest_nodes(&s, 2), vec![1, 2]);
    }

    #[test]
    fn downsampling_averages_runs() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, i as f64)).collect();
        let (d, per) = downsample(&pts, 4);
        assert_eq!(per, 3);
        assert_eq!(d, vec![(0.0, 1.0), (3.0, 4.0), (6.0, 7.0), (9.0, 9.0)]);
        assert_eq!(downsample(&pts, 10).1, 1);
        let (t, per) = thin(&pts, 4);
        assert_eq!((t.len(), per), (4, 3));
    }
}
