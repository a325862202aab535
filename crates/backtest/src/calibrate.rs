//! Calibrated estimators: the workbench learns from its own backtests.
//!
//! Every measured migration pairs what its plan expected with what happened. The
//! fixed-factor estimator (expected = the source's utilization x a factor) and the
//! model-based one (the target's utilization with the VM placed) are refitted to those
//! pairs: a factor through the origin, and a linear correction of the model. Fits
//! minimise the absolute error, since the MAE is the figure every report gives. The
//! error that matters is on data a fit did not see, so every figure is also given held
//! out: k-fold over runs (a run's migrations share one scenario day, and would flatter a
//! fit that saw their neighbours), over migrations when all come from one run. The
//! plan's downtime and completion estimates get the same linear fit, reported so that
//! the pre-copy model can be judged, not written into the policy (its parameters are
//! physical: bandwidth, dirty rate, goodput).

use scalelab_engine::PolicyConfig;
use scalelab_engine::input::InputError;
use scalelab_engine::policy::{Estimator, LinearCorrection};
use scalelab_sim::human;
use scalelab_sim::record::{ExpectedActual, MigrationRecord};
use serde::Serialize;

/// Fewer measured migrations than this are refused: a factor fitted to a handful of
/// moves says more about those moves than about the estimator.
pub const MIN_PAIRS: usize = 10;
/// At most this many folds.
pub const MAX_FOLDS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum CalibrateError {
    #[error(
        "{n} migration(s) with the target's utilization measured after switchover in {runs} \
         run(s): calibration needs at least {MIN_PAIRS}"
    )]
    TooFew { n: usize, runs: usize },
    #[error("the calibrated policy is not valid: {0}")]
    Invalid(#[from] InputError),
}

/// One estimate, refitted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    /// What is estimated, and by which estimator.
    pub estimate: String,
    /// The unit-bearing metric name the errors are formatted by.
    pub unit_name: String,
    pub n: usize,
    /// The fitted parameters, by name.
    pub params: Vec<(String, f64)>,
    /// Mean |actual - expected| with the estimate as the base policy makes it.
    pub mae_now: f64,
    /// The same with the fitted parameters, on the data they were fitted to.
    pub mae_fitted: f64,
    /// The same on held-out data: each fold predicted by a fit to the other folds.
    pub mae_held_out: f64,
    /// Mean (actual - expected), now and held out.
    pub bias_now: f64,
    pub bias_held_out: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    pub runs: usize,
    pub folds: usize,
    /// "run" or "migration": what the folds split.
    pub folds_by: &'static str,
    pub fixed_factor: Fit,
    /// Absent when fewer than [`MIN_PAIRS`] records carry the model's estimate (records
    /// from before it was kept, or the CloudSim profile's).
    pub model_based: Option<Fit>,
    pub downtime: Option<Fit>,
    pub completion: Option<Fit>,
    /// The estimator with the smaller held-out error, which the policy uses.
    pub estimator: Estimator,
    pub policy: PolicyConfig,
}

/// (run, x, y) observations of one estimate.
type Obs = Vec<(usize, f64, f64)>;

/// Fit the base policy's estimators to the migrations of `runs` (one slice per run).
pub fn calibrate(
    base: &PolicyConfig,
    runs: &[&[MigrationRecord]],
) -> Result<Calibration, CalibrateError> {
    let mut fixed: Obs = Vec::new();
    let mut model: Obs = Vec::new();
    let mut downtime: Obs = Vec::new();
    let mut completion: Obs = Vec::new();
    for (r, ms) in runs.iter().enumerate() {
        for m in ms.iter() {
            let Some(actual) = m.actual_utilization.filter(|a| a.is_finite()) else {
                continue;
            };
            fixed.push((r, m.source_before, actual));
            if let Some(u) = m.expected.as_ref().and_then(|e| e.target_utilization_model) {
                model.push((r, u, actual));
            }
        }
        let pairs = ExpectedActual::of(ms);
        downtime.extend(pairs.downtime_ms.iter().map(|&(e, a)| (r, e, a)));
        completion.extend(pairs.completion_s.iter().map(|&(e, a)| (r, e, a)));
    }
    if fixed.len() < MIN_PAIRS {
        return Err(CalibrateError::TooFew {
            n: fixed.len(),
            runs: runs.len(),
        });
    }
    let distinct = {
        let mut rs: Vec<usize> = fixed.iter().map(|o| o.0).collect();
        rs.dedup();
        rs.len()
    };
    let by_run = distinct >= 2;
    let folds = if by_run {
        distinct.min(MAX_FOLDS)
    } else {
        fixed.len().min(MAX_FOLDS)
    };
    let split = Split { by_run, folds };

    let factor_now = base.improvement_factor;
    let fixed_fit = split.fit(
        "target utilization, fixed factor x source",
        "utilization",
        &fixed,
        |x| x * factor_now,
        fit_factor,
        |f, x| x * f[0],
        &["improvement_factor"],
    );
    let correction_now = base.model_correction;
    let model_fit = (model.len() >= MIN_PAIRS).then(|| {
        split.fit(
            "target utilization, model-based",
            "utilization",
            &model,
            |x| correction_now.map_or(x, |c| c.apply(x)),
            |xy| {
                let c = fit_correction(xy);
                vec![c.intercept, c.slope]
            },
            |p, x| correction(p).apply(x),
            &["intercept", "slope"],
        )
    });
    let linear = |name: &str, unit: &str, obs: &Obs| {
        (obs.len() >= MIN_PAIRS).then(|| {
            split.fit(
                name,
                unit,
                obs,
                |x| x,
                |xy| {
                    let (a, b) = lad(xy);
                    vec![a, b]
                },
                |p, x| p[0] + p[1] * x,
                &["intercept", "slope"],
            )
        })
    };
    let downtime_fit = linear("downtime, pre-copy model", "downtime_ms", &downtime);
    let completion_fit = linear(
        "completion time, pre-copy model",
        "completion_s",
        &completion,
    );

    let estimator = match &model_fit {
        Some(m) if m.mae_held_out < fixed_fit.mae_held_out => Estimator::ModelBased,
        _ => Estimator::FixedFactor,
    };
    let mut policy = base.clone();
    policy.improvement_factor = fixed_fit.params[0].1;
    if let Some(m) = &model_fit {
        policy.model_correction = Some(LinearCorrection {
            intercept: m.params[0].1,
            slope: m.params[1].1,
        });
    }
    policy.estimator = estimator;
    policy.validate()?;
    Ok(Calibration {
        runs: runs.len(),
        folds,
        folds_by: if by_run { "run" } else { "migration" },
        fixed_factor: fixed_fit,
        model_based: model_fit,
        downtime: downtime_fit,
        completion: completion_fit,
        estimator,
        policy,
    })
}

/// How observations are split into folds.
struct Split {
    by_run: bool,
    folds: usize,
}

impl Split {
    fn fold(&self, i: usize, run: usize) -> usize {
        if self.by_run { run } else { i }
    }

    /// Fit `obs` in sample and held out. `now` is the estimate as configured, `fit`
    /// turns (x, y) pairs into parameters, `predict` applies them.
    #[allow(clippy::too_many_arguments)]
    fn fit(
        &self,
        estimate: &str,
        unit_name: &str,
        obs: &Obs,
        now: impl Fn(f64) -> f64,
        fit: impl Fn(&[(f64, f64)]) -> Vec<f64>,
        predict: impl Fn(&[f64], f64) -> f64,
        names: &[&str],
    ) -> Fit {
        let all: Vec<(f64, f64)> = obs.iter().map(|&(_, x, y)| (x, y)).collect();
        let params = fit(&all);
        let n = obs.len() as f64;
        let (mut mae_now, mut bias_now, mut mae_fitted) = (0.0, 0.0, 0.0);
        for &(x, y) in &all {
            let e = y - now(x);
            mae_now += e.abs();
            bias_now += e;
            mae_fitted += (y - predict(&params, x)).abs();
        }
        let (mut mae_held, mut bias_held) = (0.0, 0.0);
        for f in 0..self.folds {
            let in_fold = |i: usize, run: usize| self.fold(i, run) % self.folds == f;
            let train: Vec<(f64, f64)> = obs
                .iter()
                .enumerate()
                .filter(|(i, o)| !in_fold(*i, o.0))
                .map(|(_, &(_, x, y))| (x, y))
                .collect();
            if train.is_empty() {
                continue;
            }
            let p = fit(&train);
            for (i, &(run, x, y)) in obs.iter().enumerate() {
                if in_fold(i, run) {
                    let e = y - predict(&p, x);
                    mae_held += e.abs();
                    bias_held += e;
                }
            }
        }
        Fit {
            estimate: estimate.to_string(),
            unit_name: unit_name.to_string(),
            n: obs.len(),
            params: names
                .iter()
                .map(|s| s.to_string())
                .zip(params.iter().copied())
                .collect(),
            mae_now: mae_now / n,
            mae_fitted: mae_fitted / n,
            mae_held_out: mae_held / n,
            bias_now: bias_now / n,
            bias_held_out: bias_held / n,
        }
    }
}

/// The factor through the origin (y = f x) with the least absolute error, within the
/// range a policy accepts (above 0, below 1: a move that is not expected to improve
/// anything is not planned at all). The minimiser of sum |y - f x| over x > 0 is the
/// median of y / x weighted by x.
pub fn fit_factor(xy: &[(f64, f64)]) -> Vec<f64> {
    let mut r: Vec<(f64, f64)> = xy
        .iter()
        .filter(|(x, y)| *x > 0.0 && y.is_finite())
        .map(|&(x, y)| (y / x, x))
        .collect();
    let f = weighted_median(&mut r).unwrap_or(1.0);
    vec![f.clamp(0.001, 0.999)]
}

/// The value at half the total weight of (value, weight) pairs (the lower one on a tie).
fn weighted_median(vw: &mut [(f64, f64)]) -> Option<f64> {
    vw.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: f64 = vw.iter().map(|p| p.1).sum();
    if total <= 0.0 {
        return None;
    }
    let mut acc = 0.0;
    for &(v, w) in vw.iter() {
        acc += w;
        if acc >= total / 2.0 {
            return Some(v);
        }
    }
    vw.last().map(|p| p.0)
}

/// Least absolute deviations y = a + b x, by iteratively reweighted least squares from
/// the least-squares line; the iteration's best line is kept, so the result is never
/// worse in MAE than least squares.
pub fn lad(xy: &[(f64, f64)]) -> (f64, f64) {
    let mae = |(a, b): (f64, f64)| xy.iter().map(|&(x, y)| (y - a - b * x).abs()).sum::<f64>();
    let mut line = ols(xy);
    let mut best = (mae(line), line);
    for _ in 0..50 {
        let w: Vec<f64> = xy
            .iter()
            .map(|&(x, y)| 1.0 / (y - line.0 - line.1 * x).abs().max(1e-9))
            .collect();
        line = weighted_ols(xy, &w);
        let e = mae(line);
        if e < best.0 {
            best = (e, line);
        }
    }
    best.1
}

/// Ordinary least squares y = a + b x; with no spread in x, a pure offset (b = 1).
pub fn ols(xy: &[(f64, f64)]) -> (f64, f64) {
    weighted_ols(xy, &vec![1.0; xy.len()])
}

fn weighted_ols(xy: &[(f64, f64)], w: &[f64]) -> (f64, f64) {
    let n: f64 = w.iter().sum();
    if xy.is_empty() || n <= 0.0 {
        return (0.0, 1.0);
    }
    let mx = xy.iter().zip(w).map(|(p, w)| w * p.0).sum::<f64>() / n;
    let my = xy.iter().zip(w).map(|(p, w)| w * p.1).sum::<f64>() / n;
    let sxx: f64 = xy.iter().zip(w).map(|(p, w)| w * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = xy
        .iter()
        .zip(w)
        .map(|(p, w)| w * (p.0 - mx) * (p.1 - my))
        .sum();
    if sxx <= 1e-12 * n {
        return (my - mx, 1.0);
    }
    let b = sxy / sxx;
    (my - b * mx, b)
}

/// The model's correction: the LAD line kept within what a policy accepts. A slope at
/// or below 0 means the model's estimate carries no information about the outcome on
/// this data; the correction is then an offset only (the median error), and the fit's
/// error shows how good that is.
pub fn fit_correction(xy: &[(f64, f64)]) -> LinearCorrection {
    let (a, b) = lad(xy);
    let (a, b) = if b > 0.0 && b <= 10.0 {
        (a, b)
    } else {
        let mut d: Vec<(f64, f64)> = xy.iter().map(|p| (p.1 - p.0, 1.0)).collect();
        (weighted_median(&mut d).unwrap_or(0.0), 1.0)
    };
    LinearCorrection {
        intercept: a.clamp(-1.0, 1.0),
        slope: b,
    }
}

fn correction(p: &[f64]) -> LinearCorrection {
    LinearCorrection {
        intercept: p[0],
        slope: p[1],
    }
}

impl Calibration {
    pub fn fits(&self) -> impl Iterator<Item = &Fit> {
        std::iter::once(&self.fixed_factor)
            .chain(self.model_based.as_ref())
            .chain(self.downtime.as_ref())
            .chain(self.completion.as_ref())
    }

    /// The fit table and the choice, for a person.
    pub fn to_text(&self) -> String {
        let headers: Vec<String> = [
            "estimate",
            "n",
            "fitted",
            "MAE now",
            "MAE fitted",
            "MAE held out",
            "bias now",
            "bias held out",
        ]
        .map(String::from)
        .to_vec();
        let rows: Vec<Vec<String>> = self
            .fits()
            .map(|f| {
                let v = |x: f64| human::metric(&f.unit_name, x);
                vec![
                    f.estimate.clone(),
                    human::count(f.n as u64),
                    f.params
                        .iter()
                        .map(|(k, p)| format!("{k} {}", human::number(*p)))
                        .collect::<Vec<_>>()
                        .join(", "),
                    v(f.mae_now),
                    v(f.mae_fitted),
                    v(f.mae_held_out),
                    v(f.bias_now),
                    v(f.bias_held_out),
                ]
            })
            .collect();
        let mut out = human::text_table(&headers, &rows, 3);
        out.push_str(&format!(
            "held out: {} folds by {} over {} run(s); the policy uses {} (the smaller \
             held-out error on target utilization)\n",
            self.folds,
            self.folds_by,
            self.runs,
            match self.estimator {
                Estimator::FixedFactor => "fixed_factor",
                Estimator::ModelBased => "model_based",
            }
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_by_hand() {
        // y = 0.6 x exactly.
        let xy = [(0.8, 0.48), (1.0, 0.6), (0.9, 0.54)];
        assert!((fit_factor(&xy)[0] - 0.6).abs() < 1e-12);
        // The factor is a weighted median: one wild point does not move it.
        let xy = [(1.0, 0.5), (1.0, 0.6), (1.0, 0.7), (1.0, 5.0), (1.0, 0.65)];
        assert!((fit_factor(&xy)[0] - 0.65).abs() < 1e-12);
        // y = 0.1 + 0.5 x: (0, 0.1), (1, 0.6), (2, 1.1).
        let line = [(0.0, 0.1), (1.0, 0.6), (2.0, 1.1)];
        let (a, b) = ols(&line);
        assert!(
            (a - 0.1).abs() < 1e-12 && (b - 0.5).abs() < 1e-12,
            "{a} {b}"
        );
        // LAD ignores the outlier that least squares follows.
        let mut pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 1.0 + 2.0 * i as f64)).collect();
        pts.push((5.0, 100.0));
        let (a, b) = lad(&pts);
        assert!((a - 1.0).abs() < 1e-3 && (b - 2.0).abs() < 1e-3, "{a} {b}");
        let (_, b_ols) = ols(&pts);
        assert!((b_ols - 2.0).abs() > 1e-3 || (ols(&pts).0 - 1.0).abs() > 1.0);
        // No spread in x: an offset.
        assert_eq!(ols(&[(0.5, 0.6), (0.5, 0.8)]), (0.7 - 0.5, 1.0));
        // A falling relation is no correction: an offset only.
        let c = fit_correction(&[(0.2, 0.8), (0.8, 0.2), (0.5, 0.5)]);
        assert_eq!(c.slope, 1.0);
        assert!(c.intercept.abs() < 1e-12, "{c:?}");
        // Factors stay within a policy's range.
        assert_eq!(fit_factor(&[(0.5, 0.9)])[0], 0.999);
        assert_eq!(fit_factor(&[(0.0, 0.9)])[0], 0.999);
    }
}
