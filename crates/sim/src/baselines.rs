//! Reference policies from the literature, run in place of the engine so sweeps can
//! compare against them on the same scenarios (`../shared/reference/domain-facts.md`
//! section 3).
//!
//! - Beloglazov & Buyya (CCPE 2012), as in CloudSim's power examples: host overload
//!   detection by THR (static 0.8), IQR (1 - 1.5 IQR), MAD (1 - 2.5 MAD) or LR (local
//!   regression with tricube weights over the last 10 samples, predicting ahead by the
//!   migration time; overloaded when 1.2 x prediction >= 1). IQR, MAD and LR need 12
//!   samples of history and use a 0.7 threshold before that. VM selection (MMT, MC,
//!   MU, RS) until the host is no longer overloaded. Placement: power-aware best fit
//!   decreasing (the least power increase; the fullest host without power models),
//!   and with `sim.consolidate` CloudSim's underload consolidation (see
//!   `sim/baseline.rs`; the CloudSim profile runs CloudSim's exact rules).
//! - OpenStack Watcher `workload_balance`: threshold 25 % host CPU; source = the
//!   busiest host above it; VM = the one whose removal leaves the host closest to the
//!   cluster average; target = the least loaded host that stays under the threshold
//!   with it; one migration per audit (control round).
//! - No migration at all.
//!
//! Baselines only migrate: they make no scaling decisions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Baseline {
    #[serde(alias = "beloglazov_thr")]
    Thr,
    #[serde(alias = "beloglazov_iqr")]
    Iqr,
    #[serde(alias = "beloglazov_mad")]
    Mad,
    #[serde(alias = "beloglazov_lr")]
    Lr,
    /// Robust local regression. In CloudSim 3.0.3 its bisquare re-weighting never
    /// applies (the weights are never zero, see [`cloudsim_stats::ols`]), so it
    /// decides as LR does.
    #[serde(alias = "beloglazov_lrr")]
    Lrr,
    #[serde(alias = "watcher_workload_balance")]
    Watcher,
    NoMigration,
}

impl Baseline {
    pub const ALL: [Baseline; 7] = [
        Self::Thr,
        Self::Iqr,
        Self::Mad,
        Self::Lr,
        Self::Lrr,
        Self::Watcher,
        Self::NoMigration,
    ];

    /// The published parameter: THR's threshold, IQR's and MAD's safety factor, LR's
    /// safety multiplier (Beloglazov & Buyya 2012, and CloudSim's examples).
    pub fn default_parameter(self) -> f64 {
        match self {
            Self::Thr => THR,
            Self::Iqr => IQR_S,
            Self::Mad => MAD_S,
            Self::Lr | Self::Lrr => LR_S,
            Self::Watcher => WATCHER_THRESHOLD,
            Self::NoMigration => 0.0,
        }
    }

    /// One of Beloglazov & Buyya's policies (THR, IQR, MAD, LR, LRR): those with a VM
    /// selection and CloudSim's underload consolidation.
    pub fn is_beloglazov(self) -> bool {
        matches!(
            self,
            Self::Thr | Self::Iqr | Self::Mad | Self::Lr | Self::Lrr
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Thr => "beloglazov_thr",
            Self::Iqr => "beloglazov_iqr",
            Self::Mad => "beloglazov_mad",
            Self::Lr => "beloglazov_lr",
            Self::Lrr => "beloglazov_lrr",
            Self::Watcher => "watcher_workload_balance",
            Self::NoMigration => "no_migration",
        }
    }
}

/// Which VM a baseline moves off an overloaded host (Beloglazov & Buyya 2012, 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VmSelection {
    /// Minimum migration time: the smallest memory (ties: the VM placed first).
    #[default]
    Mmt,
    /// Maximum correlation: the VM whose CPU history is best explained by the others'
    /// (multiple regression R^2), which is most likely to peak with them.
    Mc,
    /// Minimum utilization: the least busy VM relative to its size.
    Mu,
    /// Random selection, from the run's own random stream.
    Rs,
}

impl VmSelection {
    pub fn name(self) -> &'static str {
        match self {
            Self::Mmt => "mmt",
            Self::Mc => "mc",
            Self::Mu => "mu",
            Self::Rs => "rs",
        }
    }
}

pub const THR: f64 = 0.8;
pub const IQR_S: f64 = 1.5;
pub const MAD_S: f64 = 2.5;
pub const LR_S: f64 = 1.2;
pub const LR_WINDOW: usize = 10;
pub const MIN_HISTORY: usize = 12;
pub const FALLBACK_THR: f64 = 0.7;
pub const WATCHER_THRESHOLD: f64 = 0.25;

/// Quantile with linear interpolation of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn median(xs: &[f64]) -> f64 {
    let mut s = xs.to_vec();
    s.sort_by(f64::total_cmp);
    quantile(&s, 0.5)
}

/// The utilization above which a host counts as overloaded, from its history (oldest
/// first). `None` for LR, which predicts instead of thresholding.
pub fn threshold(b: Baseline, history: &[f64]) -> Option<f64> {
    threshold_with(b, b.default_parameter(), history)
}

/// [`threshold`] with the baseline's parameter `p` (THR's threshold, IQR's and MAD's
/// safety factor).
pub fn threshold_with(b: Baseline, p: f64, history: &[f64]) -> Option<f64> {
    let enough = history.len() >= MIN_HISTORY;
    match b {
        Baseline::Thr => Some(p),
        Baseline::Iqr if enough => {
            let mut s = history.to_vec();
            s.sort_by(f64::total_cmp);
            Some(1.0 - p * (quantile(&s, 0.75) - quantile(&s, 0.25)))
        }
        Baseline::Mad if enough => {
            let m = median(history);
            let dev: Vec<f64> = history.iter().map(|x| (x - m).abs()).collect();
            Some(1.0 - p * median(&dev))
        }
        Baseline::Iqr | Baseline::Mad => Some(FALLBACK_THR),
        Baseline::Lr | Baseline::Lrr if !enough => Some(FALLBACK_THR),
        Baseline::Lr | Baseline::Lrr => None,
        Baseline::Watcher => Some(WATCHER_THRESHOLD),
        Baseline::NoMigration => Some(f64::INFINITY),
    }
}

/// Local regression over the last [`LR_WINDOW`] samples with tricube weights (the most
/// recent sample weighs most), predicting `ahead` samples past the last one.
pub fn lr_predict(history: &[f64], ahead: f64) -> f64 {
    let n = history.len().min(LR_WINDOW);
    let xs = &history[history.len() - n..];
    if n < 2 {
        return xs.last().copied().unwrap_or(0.0);
    }
    // x = 0..n-1; distance from the last point scaled to [0, 1).
    let (mut sw, mut swx, mut swy, mut swxx, mut swxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &y) in xs.iter().enumerate() {
        let d = (n - 1 - i) as f64 / n as f64;
        let w = (1.0 - d * d * d).powi(3);
        let x = i as f64;
        sw += w;
        swx += w * x;
        swy += w * y;
        swxx += w * x * x;
        swxy += w * x * y;
    }
    let den = sw * swxx - swx * swx;
    if den.abs() < 1e-12 {
        return swy / sw;
    }
    let slope = (sw * swxy - swx * swy) / den;
    let intercept = (swy - slope * swx) / sw;
    intercept + slope * ((n - 1) as f64 + ahead)
}

/// Is the host overloaded now? `ahead_samples`: the longest migration time in samples
/// (LR predicts that far).
pub fn overloaded(b: Baseline, history: &[f64], current: f64, ahead_samples: f64) -> bool {
    overloaded_with(b, b.default_parameter(), history, current, ahead_samples)
}

/// [`overloaded`] with the baseline's parameter `p` (LR's safety multiplier).
pub fn overloaded_with(
    b: Baseline,
    p: f64,
    history: &[f64],
    current: f64,
    ahead_samples: f64,
) -> bool {
    match b {
        Baseline::NoMigration => false,
        Baseline::Lr | Baseline::Lrr if history.len() >= MIN_HISTORY => {
            p * lr_predict(history, ahead_samples) >= 1.0
        }
        _ => threshold_with(b, p, history).is_some_and(|t| current > t),
    }
}

/// CloudSim 3.0.3's statistics, exactly (`org.cloudbus.cloudsim.util.MathUtil` and
/// commons-math 3): the CloudSim profile must decide on the same numbers.
pub mod cloudsim_stats {
    /// commons-math's default percentile(50): the middle value, or the mean of the two
    /// middle values.
    pub fn median(xs: &[f64]) -> f64 {
        if xs.is_empty() {
            return f64::NAN;
        }
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let pos = 0.5 * (n as f64 + 1.0);
        if pos < 1.0 {
            return s[0];
        }
        if pos >= n as f64 {
            return s[n - 1];
        }
        let lo = pos.floor();
        let d = pos - lo;
        let lower = s[lo as usize - 1];
        let upper = s[lo as usize];
        lower + d * (upper - lower)
    }

    /// Median absolute deviation from the median.
    pub fn mad(xs: &[f64]) -> f64 {
        if xs.is_empty() {
            return 0.0;
        }
        let m = median(xs);
        let dev: Vec<f64> = xs.iter().map(|x| (m - x).abs()).collect();
        median(&dev)
    }

    /// Interquartile range with CloudSim's quartiles: the values at rounded positions
    /// 0.25 (n + 1) and 0.75 (n + 1) of the sorted data.
    pub fn iqr(xs: &[f64]) -> f64 {
        let mut s = xs.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len() as f64;
        let q1 = java_round(0.25 * (n + 1.0)) - 1;
        let q3 = java_round(0.75 * (n + 1.0)) - 1;
        let at = |i: i64| s[i.clamp(0, s.len() as i64 - 1) as usize];
        at(q3) - at(q1)
    }

    /// `Math.round`: half up.
    fn java_round(x: f64) -> i64 {
        (x + 0.5).floor() as i64
    }

    /// Least squares line through (1, y[0]), (2, y[1]), ...: `(intercept, slope)`.
    /// CloudSim's "local regression" weights points by tricube only when 40 % of the
    /// weights are zero, which its weights never are, so it is this fit.
    pub fn ols(y: &[f64]) -> (f64, f64) {
        let n = y.len() as f64;
        let xbar = (n + 1.0) / 2.0;
        let ybar = y.iter().sum::<f64>() / n;
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for (i, v) in y.iter().enumerate() {
            let dx = (i + 1) as f64 - xbar;
            sxx += dx * dx;
            sxy += dx * (v - ybar);
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        (ybar - slope * xbar, slope)
    }

    /// Trailing zeros cut off (CloudSim's `trimZeroTail`).
    pub fn trim_zero_tail(xs: &[f64]) -> &[f64] {
        let n = xs.iter().rposition(|&x| x != 0.0).map_or(0, |i| i + 1);
        &xs[..n]
    }
}

/// Maximum correlation (`PowerVmSelectionPolicyMaximumCorrelation`): the VM whose CPU
/// history has the highest R^2 when regressed on the other VMs' histories, over the
/// length the shortest history has. `None` when no regression can be fitted (fewer
/// samples than VMs, or a singular system), where CloudSim falls back to its
/// fallback policy (MMT in its examples). `histories[i]` is VM i's, newest first;
/// the answer is an index into it.
pub fn max_correlation(histories: &[Vec<f64>]) -> Option<usize> {
    if histories.len() < 2 {
        return (!histories.is_empty()).then_some(0);
    }
    let n = histories.iter().map(Vec::len).min()?;
    let k = histories.len();
    if n <= k {
        return None;
    }
    let mut best: Option<(f64, usize)> = None;
    for (i, h) in histories.iter().enumerate() {
        let y = &h[..n];
        let xs: Vec<Vec<f64>> = histories
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, o)| o[..n].to_vec())
            .collect();
        let r2 = r_squared(y, &xs)?;
        if best.is_none_or(|(b, _)| r2 > b) {
            best = Some((r2, i));
        }
    }
    best.map(|b| b.1)
}

/// R^2 of the least-squares fit of `y` on an intercept and `xs` (normal equations,
/// Gaussian elimination with partial pivoting).
fn r_squared(y: &[f64], xs: &[Vec<f64>]) -> Option<f64> {
    let n = y.len();
    let p = xs.len() + 1;
    let row = |r: usize| -> Vec<f64> {
        let mut v = Vec::with_capacity(p);
        v.push(1.0);
        v.extend(xs.iter().map(|x| x[r]));
        v
    };
    let mut a = vec![vec![0.0; p + 1]; p];
    for (r, &yr) in y.iter().enumerate() {
        let x = row(r);
        for (i, ai) in a.iter_mut().enumerate() {
            for (j, aij) in ai.iter_mut().enumerate().take(p) {
                *aij += x[i] * x[j];
            }
            ai[p] += x[i] * yr;
        }
    }
    for col in 0..p {
        let piv = (col..p).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[piv][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, piv);
        let pivot = a[col].clone();
        for (r, ar) in a.iter_mut().enumerate() {
            if r != col {
                let f = ar[col] / pivot[col];
                for (x, pv) in ar.iter_mut().zip(&pivot).skip(col) {
                    *x -= f * pv;
                }
            }
        }
    }
    let beta: Vec<f64> = (0..p).map(|i| a[i][p] / a[i][i]).collect();
    let mean = y.iter().sum::<f64>() / n as f64;
    let (mut ss_res, mut ss_tot) = (0.0, 0.0);
    for (r, &yr) in y.iter().enumerate() {
        let fit: f64 = row(r).iter().zip(&beta).map(|(x, b)| x * b).sum();
        ss_res += (yr - fit).powi(2);
        ss_tot += (yr - mean).powi(2);
    }
    if ss_tot == 0.0 {
        return Some(0.0);
    }
    Some(1.0 - ss_res / ss_tot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thr_is_a_static_threshold() {
        assert!(overloaded(Baseline::Thr, &[], 0.81, 0.0));
        assert!(!overloaded(Baseline::Thr, &[], 0.8, 0.0));
    }

    #[test]
    fn iqr_and_mad_adapt_to_variability_after_twelve_samples() {
        // Before 12 samples: the 0.7 fallback.
        let short = [0.5; 5];
        assert!(overloaded(Baseline::Iqr, &short, 0.71, 0.0));
        assert!(overloaded(Baseline::Mad, &short, 0.71, 0.0));
        // A steady host: IQR 0, threshold 1.0 -> 0.9 is fine.
        let steady = [0.6; 12];
        assert_eq!(threshold(Baseline::Iqr, &steady), Some(1.0));
        assert!(!overloaded(Baseline::Iqr, &steady, 0.9, 0.0));
        // A volatile host: quartiles 0.2 and 0.8 -> threshold 1 - 1.5 x 0.6 = 0.1.
        let volatile = [0.2, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.8, 0.2, 0.8];
        let t = threshold(Baseline::Iqr, &volatile).unwrap();
        assert!((t - 0.1).abs() < 1e-12, "{t}");
        // MAD: median 0.5, deviations all 0.3 -> 1 - 2.5 x 0.3 = 0.25.
        let t = threshold(Baseline::Mad, &volatile).unwrap();
        assert!((t - 0.25).abs() < 1e-12, "{t}");
        assert!(overloaded(Baseline::Mad, &volatile, 0.3, 0.0));
    }

    #[test]
    fn lr_predicts_a_rising_trend() {
        // Exactly linear: 0.4, 0.45, ... 0.95 over 12 samples; prediction 2 ahead of
        // the last (0.95) is 1.05.
        let h: Vec<f64> = (0..12).map(|i| 0.4 + 0.05 * i as f64).collect();
        assert!((lr_predict(&h, 2.0) - 1.05).abs() < 1e-9);
        assert!(overloaded(Baseline::Lr, &h, 0.95, 2.0));
        // Flat at 0.8: 1.2 x 0.8 = 0.96 < 1.
        assert!(!overloaded(Baseline::Lr, &[0.8; 12], 0.8, 2.0));
        // Flat at 0.84: 1.2 x 0.84 = 1.008 >= 1.
        assert!(overloaded(Baseline::Lr, &[0.84; 12], 0.84, 2.0));
    }

    #[test]
    fn cloudsim_statistics_match_hand_computed_values() {
        use cloudsim_stats::*;
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        // Deviations from 2.5: 1.5, 0.5, 0.5, 1.5 -> median 1.0.
        assert_eq!(mad(&[4.0, 1.0, 2.0, 3.0]), 1.0);
        // 12 values 1..12: q1 at round(3.25) - 1 = 2 -> 3, q3 at round(9.75) - 1 = 9 -> 10.
        let v: Vec<f64> = (1..=12).map(f64::from).collect();
        assert_eq!(iqr(&v), 7.0);
        // 11 values 1..11: q1 at round(3.0) - 1 = 2 -> 3, q3 at round(9.0) - 1 = 8 -> 9.
        let v: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(iqr(&v), 6.0);
        // y = 0.1 + 0.05 x exactly.
        let y: Vec<f64> = (1..=10).map(|x| 0.1 + 0.05 * x as f64).collect();
        let (a, b) = ols(&y);
        assert!(
            (a - 0.1).abs() < 1e-12 && (b - 0.05).abs() < 1e-12,
            "{a} {b}"
        );
        assert_eq!(trim_zero_tail(&[0.5, 0.0, 0.2, 0.0, 0.0]), &[0.5, 0.0, 0.2]);
        assert!(trim_zero_tail(&[0.0, 0.0]).is_empty());
    }

    #[test]
    fn watcher_and_no_migration() {
        assert!(overloaded(Baseline::Watcher, &[], 0.26, 0.0));
        assert!(!overloaded(Baseline::NoMigration, &[], 5.0, 0.0));
    }
}
