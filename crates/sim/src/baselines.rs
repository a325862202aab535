//! Reference policies from the literature, run in place of the engine so sweeps can
//! compare against them on the same scenarios (`../shared/reference/domain-facts.md`
//! section 3).
//!
//! - Beloglazov & Buyya (CCPE 2012), as in CloudSim's power examples: host overload
//!   detection by THR (static 0.8), IQR (1 - 1.5 IQR), MAD (1 - 2.5 MAD) or LR (local
//!   regression with tricube weights over the last 10 samples, predicting ahead by the
//!   migration time; overloaded when 1.2 x prediction >= 1). IQR, MAD and LR need 12
//!   samples of history and use a 0.7 threshold before that. VM selection: minimum
//!   migration time (smallest memory first), until the host is no longer overloaded.
//!   Placement: best fit decreasing (the target left fullest while staying under the
//!   threshold): CloudSim's power-aware best fit picks the least power increase, which
//!   is the same choice when hosts share one power curve, as ours do.
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
    let enough = history.len() >= MIN_HISTORY;
    match b {
        Baseline::Thr => Some(THR),
        Baseline::Iqr if enough => {
            let mut s = history.to_vec();
            s.sort_by(f64::total_cmp);
            Some(1.0 - IQR_S * (quantile(&s, 0.75) - quantile(&s, 0.25)))
        }
        Baseline::Mad if enough => {
            let m = median(history);
            let dev: Vec<f64> = history.iter().map(|x| (x - m).abs()).collect();
            Some(1.0 - MAD_S * median(&dev))
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
    match b {
        Baseline::NoMigration => false,
        Baseline::Lr | Baseline::Lrr if history.len() >= MIN_HISTORY => {
            LR_S * lr_predict(history, ahead_samples) >= 1.0
        }
        _ => threshold(b, history).is_some_and(|t| current > t),
    }
}

/// The utilization a host must get under by moving VMs away (the loop's stop rule).
pub fn relief_target(b: Baseline, history: &[f64]) -> f64 {
    match threshold(b, history) {
        Some(t) => t,
        // LR: overloaded while 1.2 x predicted >= 1, so aim below 1 / 1.2.
        None => 1.0 / LR_S,
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
        assert_eq!(relief_target(Baseline::Lr, &[0.5; 12]), 1.0 / 1.2);
    }
}
