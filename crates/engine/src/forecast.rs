//! Forecasters updated in O(1) per sample, and the accuracy score the MIGRATE rule trusts.
//!
//! All three methods keep only their smoothed state (Holt-Winters also one value per
//! season slot), so the simulator can feed 100,000 VMs a sample at a time without
//! refitting. Values are utilization fractions; forecasts are clamped at 0.
//!
//! # Accuracy formula
//!
//! `forecast_accuracy = clamp(1 - MAE_w, 0, 1)`, where `MAE_w` is the mean absolute
//! one-step-ahead error over the last `accuracy_window` samples, in units of the
//! resource's capacity (utilization is already a fraction of capacity, so 1.0 = one
//! whole capacity). A forecaster that is off by 5 % of capacity on average scores 0.95;
//! the seed's threshold 0.8 asks for errors below 20 % of capacity.
//!
//! Why not MAPE: most real VMs idle near 0 %, where a 1-point miss is a 100 % error.
//! Why not MASE as the score: its denominator (the naive forecast's error) collapses on
//! flat series, so an idle VM predicted perfectly scores 0/0. The capacity-normalized
//! error is scale-free (a fraction of capacity) and stays meaningful at 0 %. MASE is
//! still computed ([`AccuracyTracker::mase`]) for reports.

use crate::model::{ForecasterKind, ResourceForecast, ResourceType};
use crate::policy::ForecastConfig;

/// Rolling one-step-ahead error statistics over a fixed window; O(1) per update.
#[derive(Debug, Clone)]
pub struct AccuracyTracker {
    window: usize,
    /// Per slot: the forecast's error and the naive forecast's, side by side, so an
    /// update touches one cache line of the buffer, not two (at 100,000 VMs a tick is
    /// memory traffic).
    errors: Vec<[f64; 2]>,
    next: usize,
    len: usize,
    sum_abs: f64,
    sum_sq: f64,
    sum_naive: f64,
}

impl AccuracyTracker {
    pub fn new(window: usize) -> Self {
        let window = window.max(1);
        Self {
            window,
            errors: vec![[0.0; 2]; window],
            next: 0,
            len: 0,
            sum_abs: 0.0,
            sum_sq: 0.0,
            sum_naive: 0.0,
        }
    }

    /// Record one error (actual - predicted) and the naive forecast's error
    /// (actual - previous actual).
    pub fn push(&mut self, error: f64, naive_error: f64) {
        let slot = &mut self.errors[self.next];
        if self.len == self.window {
            let [old, old_naive] = *slot;
            self.sum_abs -= old.abs();
            self.sum_sq -= old * old;
            self.sum_naive -= old_naive.abs();
        } else {
            self.len += 1;
        }
        *slot = [error, naive_error];
        self.sum_abs += error.abs();
        self.sum_sq += error * error;
        self.sum_naive += naive_error.abs();
        // A compare, not a division: this runs once per VM per sample.
        self.next += 1;
        if self.next == self.window {
            self.next = 0;
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Re-express every error in a unit `f` times the old one.
    pub fn scale(&mut self, f: f64) {
        for x in self.errors.iter_mut().flatten() {
            *x *= f;
        }
        self.sum_abs *= f.abs();
        self.sum_naive *= f.abs();
        self.sum_sq *= f * f;
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn mae(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            (self.sum_abs / self.len as f64).max(0.0)
        }
    }

    pub fn rmse(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            (self.sum_sq / self.len as f64).max(0.0).sqrt()
        }
    }

    /// Mean absolute scaled error against the naive one-step forecast; `None` when the
    /// naive forecast made no error at all (a flat series).
    pub fn mase(&self) -> Option<f64> {
        (self.sum_naive > 1e-12).then(|| self.sum_abs / self.sum_naive)
    }

    /// The score in [0, 1] described in the module docs; 0 before any error is known.
    pub fn accuracy(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            (1.0 - self.mae()).clamp(0.0, 1.0)
        }
    }
}

/// One forecaster for one series.
#[derive(Debug, Clone)]
pub struct Forecaster {
    kind: ForecasterKind,
    alpha: f64,
    beta: f64,
    gamma: f64,
    season_length: usize,
    horizon_steps: usize,
    min_history: usize,
    interval_z: f64,
    samples: u64,
    level: f64,
    trend: f64,
    last: f64,
    /// Holt-Winters: seasonal components (empty for the other kinds) and, during the
    /// first season, the raw samples used to initialize them.
    seasonal: Vec<f64>,
    seasonal_ready: bool,
    accuracy: AccuracyTracker,
}

impl Forecaster {
    pub fn new(cfg: &ForecastConfig) -> Self {
        Self::with_kind(cfg.forecaster, cfg)
    }

    pub fn with_kind(kind: ForecasterKind, cfg: &ForecastConfig) -> Self {
        let seasonal = if kind == ForecasterKind::HoltWinters {
            Vec::with_capacity(cfg.season_length)
        } else {
            Vec::new()
        };
        Self {
            kind,
            alpha: cfg.alpha,
            beta: cfg.beta,
            gamma: cfg.gamma,
            season_length: cfg.season_length.max(2),
            horizon_steps: cfg.horizon_steps.max(1),
            min_history: cfg.min_history,
            interval_z: cfg.interval_z,
            samples: 0,
            level: 0.0,
            trend: 0.0,
            last: 0.0,
            seasonal,
            seasonal_ready: false,
            accuracy: AccuracyTracker::new(cfg.accuracy_window),
        }
    }

    pub fn kind(&self) -> ForecasterKind {
        self.kind
    }

    pub fn samples(&self) -> u64 {
        self.samples
    }

    pub fn accuracy(&self) -> &AccuracyTracker {
        &self.accuracy
    }

    /// Re-express the state for a series measured in a unit `f` times the old one: when
    /// a VM's allocation changes from `old` to `new` vCPUs its utilization series is
    /// multiplied by `old / new`, and a forecaster that kept its state would read the
    /// resize as a step in the load (and its upper bound as a reason to resize again).
    pub fn rescale(&mut self, f: f64) {
        if !f.is_finite() || f <= 0.0 {
            return;
        }
        self.level *= f;
        self.trend *= f;
        self.last *= f;
        for s in &mut self.seasonal {
            *s *= f;
        }
        self.accuracy.scale(f);
    }

    /// Feed one sample. Non-finite samples are ignored: a forecaster must never be
    /// poisoned by one bad reading.
    pub fn observe(&mut self, y: f64) {
        if !y.is_finite() {
            return;
        }
        if self.samples > 0 {
            let predicted = self.predict(1);
            self.accuracy.push(y - predicted, y - self.last);
        }
        match self.kind {
            ForecasterKind::Ewma => self.update_ewma(y),
            ForecasterKind::Holt => self.update_holt(y),
            ForecasterKind::HoltWinters => self.update_holt_winters(y),
        }
        self.last = y;
        self.samples += 1;
    }

    fn update_ewma(&mut self, y: f64) {
        self.level = if self.samples == 0 {
            y
        } else {
            self.alpha * y + (1.0 - self.alpha) * self.level
        };
    }

    fn update_holt(&mut self, y: f64) {
        if self.samples == 0 {
            self.level = y;
            self.trend = 0.0;
            return;
        }
        let prev = self.level;
        self.level = self.alpha * y + (1.0 - self.alpha) * (self.level + self.trend);
        self.trend = self.beta * (self.level - prev) + (1.0 - self.beta) * self.trend;
    }

    fn update_holt_winters(&mut self, y: f64) {
        let m = self.season_length;
        if !self.seasonal_ready {
            // First season: Holt on the raw series for interim forecasts, and keep the
            // samples to seed the seasonal components.
            self.update_holt(y);
            self.seasonal.push(y);
            if self.seasonal.len() == m {
                let mean = self.seasonal.iter().sum::<f64>() / m as f64;
                for s in &mut self.seasonal {
                    *s -= mean;
                }
                self.level = mean;
                self.trend = 0.0;
                self.seasonal_ready = true;
            }
            return;
        }
        let slot = (self.samples as usize) % m;
        let s_prev = self.seasonal[slot];
        let prev = self.level;
        self.level = self.alpha * (y - s_prev) + (1.0 - self.alpha) * (self.level + self.trend);
        self.trend = self.beta * (self.level - prev) + (1.0 - self.beta) * self.trend;
        self.seasonal[slot] = self.gamma * (y - self.level) + (1.0 - self.gamma) * s_prev;
    }

    /// Point prediction `h >= 1` steps after the last sample, clamped at 0.
    pub fn predict(&self, h: usize) -> f64 {
        let h = h.max(1);
        let v = match self.kind {
            ForecasterKind::Ewma => self.level,
            ForecasterKind::Holt => self.level + h as f64 * self.trend,
            ForecasterKind::HoltWinters => {
                let base = self.level + h as f64 * self.trend;
                if self.seasonal_ready {
                    let slot = (self.samples as usize + h - 1) % self.season_length;
                    base + self.seasonal[slot]
                } else {
                    base
                }
            }
        };
        v.max(0.0)
    }

    /// Accuracy and highest upper bound over the horizon, as [`Self::forecast`] would
    /// give them, without allocating; `None` until `min_history` samples.
    pub fn summary(&self) -> Option<crate::rules::ForecastSummary> {
        if (self.samples as usize) < self.min_history {
            return None;
        }
        let sigma = self.accuracy.rmse();
        let horizon = self.horizon_steps;
        let upper = |h: usize| self.predict(h) + self.interval_z * sigma * (h as f64).sqrt();
        let max_upper = if self.kind == ForecasterKind::HoltWinters {
            (1..=horizon).map(upper).fold(0.0, f64::max)
        } else {
            // upper(h) = max(0, l + h b) + c sqrt(h): concave while the level term is
            // positive, increasing after. Its integer maximum is at h = 1, at the
            // horizon, next to the stationary point (c / 2|b|)^2, or next to the
            // zero crossing -l / b. Checking those few points, not every step, keeps
            // this O(1) for the simulator's 100,000 VMs.
            let (l, b) = (self.level, self.trend);
            let c = self.interval_z * sigma;
            let (stationary, crossing) = if b < 0.0 {
                ((c / (2.0 * -b)).powi(2), -l / b)
            } else {
                (1.0, 1.0)
            };
            [1.0, horizon as f64, stationary, crossing]
                .into_iter()
                .filter(|x| x.is_finite())
                .flat_map(|x| [x.floor(), x.ceil()])
                .map(|x| (x.max(1.0) as usize).min(horizon))
                .map(upper)
                .fold(0.0, f64::max)
        };
        Some(crate::rules::ForecastSummary {
            accuracy: self.accuracy.accuracy(),
            max_upper,
        })
    }

    /// A forecast over the configured horizon, or `None` until `min_history` samples
    /// have been seen (the MIGRATE rule then treats the decision as immediate).
    pub fn forecast(
        &self,
        resource_type: ResourceType,
        step_seconds: u64,
    ) -> Option<ResourceForecast> {
        if (self.samples as usize) < self.min_history {
            return None;
        }
        let sigma = self.accuracy.rmse();
        let mut predicted = Vec::with_capacity(self.horizon_steps);
        let mut lower = Vec::with_capacity(self.horizon_steps);
        let mut upper = Vec::with_capacity(self.horizon_steps);
        for h in 1..=self.horizon_steps {
            let p = self.predict(h);
            let half = self.interval_z * sigma * (h as f64).sqrt();
            predicted.push(p);
            lower.push((p - half).max(0.0));
            upper.push(p + half);
        }
        Some(ResourceForecast {
            resource_type,
            forecaster: self.kind,
            step_seconds,
            predicted_values: predicted,
            lower_bound: lower,
            upper_bound: upper,
            forecast_accuracy: self.accuracy.accuracy(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: ForecasterKind) -> ForecastConfig {
        ForecastConfig {
            forecaster: kind,
            alpha: 0.5,
            beta: 0.5,
            gamma: 0.5,
            season_length: 4,
            horizon_steps: 3,
            accuracy_window: 4,
            min_history: 2,
            interval_z: 2.0,
        }
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-12, "{a} != {b}");
    }

    #[test]
    fn ewma_by_hand() {
        let mut f = Forecaster::new(&cfg(ForecasterKind::Ewma));
        for y in [0.2, 0.4, 0.6] {
            f.observe(y);
        }
        // S1 = 0.2, S2 = 0.5*0.4 + 0.5*0.2 = 0.3, S3 = 0.5*0.6 + 0.5*0.3 = 0.45
        close(f.predict(1), 0.45);
        close(f.predict(5), 0.45);
        // One-step errors: 0.4 - 0.2 = 0.2, 0.6 - 0.3 = 0.3 -> MAE 0.25.
        close(f.accuracy().mae(), 0.25);
        close(f.accuracy().accuracy(), 0.75);
        // Naive errors 0.2, 0.2 -> MASE 0.25 / 0.2.
        close(f.accuracy().mase().unwrap(), 1.25);
    }

    #[test]
    fn holt_by_hand() {
        let mut f = Forecaster::new(&cfg(ForecasterKind::Holt));
        for y in [1.0, 2.0, 3.0] {
            f.observe(y);
        }
        // l1 = 1, b1 = 0
        // l2 = .5*2 + .5*(1+0) = 1.5, b2 = .5*(0.5) + .5*0 = 0.25
        // l3 = .5*3 + .5*(1.75) = 2.375, b3 = .5*(0.875) + .5*0.25 = 0.5625
        close(f.predict(1), 2.9375);
        close(f.predict(2), 3.5);
    }

    #[test]
    fn holt_follows_a_linear_trend() {
        let mut f = Forecaster::new(&ForecastConfig {
            forecaster: ForecasterKind::Holt,
            alpha: 0.8,
            beta: 0.5,
            ..ForecastConfig::default()
        });
        for i in 0..200 {
            f.observe(0.1 + 0.001 * i as f64);
        }
        close_tol(f.predict(10), 0.1 + 0.001 * 209.0, 1e-6);
    }

    fn close_tol(a: f64, b: f64, tol: f64) {
        assert!((a - b).abs() < tol, "{a} != {b}");
    }

    #[test]
    fn holt_winters_by_hand() {
        let mut f = Forecaster::new(&cfg(ForecasterKind::HoltWinters));
        // First season initializes: mean 0.5, seasonal [-0.3, 0.1, 0.3, -0.1].
        for y in [0.2, 0.6, 0.8, 0.4] {
            f.observe(y);
        }
        close(f.predict(1), 0.2);
        close(f.predict(3), 0.8);
        // Next sample 0.3 (slot 0): l = .5*(0.3+0.3) + .5*(0.5+0) = 0.55,
        // b = .5*(0.05) + .5*0 = 0.025, s0 = .5*(0.3-0.55) + .5*(-0.3) = -0.275
        f.observe(0.3);
        close(f.predict(1), 0.55 + 0.025 + 0.1);
        close(f.predict(4), 0.55 + 4.0 * 0.025 - 0.275);
    }

    #[test]
    fn holt_winters_learns_a_season() {
        let c = ForecastConfig {
            forecaster: ForecasterKind::HoltWinters,
            season_length: 24,
            alpha: 0.3,
            beta: 0.05,
            gamma: 0.3,
            horizon_steps: 24,
            ..ForecastConfig::default()
        };
        let series = |t: usize| 0.5 + 0.3 * (t as f64 * std::f64::consts::TAU / 24.0).sin();
        let mut hw = Forecaster::new(&c);
        let mut holt = Forecaster::with_kind(ForecasterKind::Holt, &c);
        for t in 0..24 * 20 {
            hw.observe(series(t));
            holt.observe(series(t));
        }
        let n = 24 * 20;
        for h in 1..=24 {
            close_tol(hw.predict(h), series(n + h - 1), 0.01);
        }
        assert!(hw.accuracy().mae() < holt.accuracy().mae() / 5.0);
        assert!(hw.accuracy().accuracy() > 0.99);
    }

    #[test]
    fn forecast_needs_min_history_and_has_bounds() {
        let mut f = Forecaster::new(&cfg(ForecasterKind::Ewma));
        f.observe(0.5);
        assert!(f.forecast(ResourceType::Cpu, 300).is_none());
        f.observe(0.7);
        f.observe(0.5);
        let fc = f.forecast(ResourceType::Cpu, 300).unwrap();
        assert_eq!(fc.predicted_values.len(), 3);
        assert_eq!(fc.forecaster, ForecasterKind::Ewma);
        for i in 0..3 {
            assert!(fc.lower_bound[i] <= fc.predicted_values[i]);
            assert!(fc.upper_bound[i] >= fc.predicted_values[i]);
        }
        // Interval widens with the horizon.
        assert!(
            fc.upper_bound[2] - fc.predicted_values[2] > fc.upper_bound[0] - fc.predicted_values[0]
        );
        assert!((0.0..=1.0).contains(&fc.forecast_accuracy));
        let sum = f.summary().unwrap();
        assert_eq!(sum, crate::rules::ForecastSummary::from(&fc));
    }

    #[test]
    fn summary_matches_the_full_forecast() {
        // Many shapes: rising, falling, falling through zero, flat, noisy.
        let mut seed = 1u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for kind in [
            ForecasterKind::Ewma,
            ForecasterKind::Holt,
            ForecasterKind::HoltWinters,
        ] {
            for case in 0..200 {
                let c = ForecastConfig {
                    forecaster: kind,
                    season_length: 6,
                    horizon_steps: 1 + case % 30,
                    ..ForecastConfig::default()
                };
                let mut f = Forecaster::new(&c);
                let slope = rnd() * 0.1 - 0.05;
                let mut y = rnd();
                for _ in 0..40 {
                    y = (y + slope + 0.05 * (rnd() - 0.5)).max(0.0);
                    f.observe(y);
                }
                let full = f.forecast(ResourceType::Cpu, 60).unwrap();
                let s = f.summary().unwrap();
                let want = crate::rules::ForecastSummary::from(&full);
                assert!(
                    (s.max_upper - want.max_upper).abs() < 1e-12,
                    "{kind:?} {case}: {s:?} vs {want:?}"
                );
                assert_eq!(s.accuracy, want.accuracy);
            }
        }
    }

    #[test]
    fn accuracy_is_meaningful_near_zero() {
        let mut f = Forecaster::new(&ForecastConfig::default());
        for _ in 0..100 {
            f.observe(0.0);
        }
        assert_eq!(f.accuracy().accuracy(), 1.0);
        assert!(f.accuracy().mase().is_none());
        let fc = f.forecast(ResourceType::Cpu, 300).unwrap();
        assert_eq!(fc.forecast_accuracy, 1.0);
    }

    #[test]
    fn window_forgets_old_errors() {
        let mut t = AccuracyTracker::new(2);
        t.push(1.0, 1.0);
        t.push(0.0, 1.0);
        t.push(0.0, 1.0);
        assert_eq!(t.len(), 2);
        assert_eq!(t.mae(), 0.0);
    }

    #[test]
    fn non_finite_samples_are_ignored() {
        let mut f = Forecaster::new(&cfg(ForecasterKind::Holt));
        f.observe(0.5);
        f.observe(f64::NAN);
        f.observe(f64::INFINITY);
        assert_eq!(f.samples(), 1);
        assert!(f.predict(1).is_finite());
    }
}
