//! The threshold rules, free of allocation so that millions can run per second.
//!
//! # MIGRATE (the seed's rule, checked first)
//! `resource == cpu && avg > migrate_avg && current > migrate_current && (forecast is
//! None || forecast.forecast_accuracy > min_forecast_accuracy)`. All comparisons are
//! strict, as in the seed: exactly 0.7 / 0.75 / 0.8 do not migrate.
//!
//! # Scaling (when MIGRATE is not wanted or not possible), first match wins
//! The effective peak is the observed peak, raised to the forecast's highest upper
//! bound when the forecast is trusted (accuracy > `min_forecast_accuracy`).
//! 1. `avg >= scale_out_avg && current >= scale_out_current`: sustained load. SCALE_OUT
//!    to `max(r + 1, ceil(r * max(avg, current) / scale_target_utilization))` replicas
//!    when the VM is in a service group of `r` replicas, else SCALE_UP.
//! 2. `effective peak >= scale_up_peak || current >= scale_up_current`: SCALE_UP to
//!    `max(peak, current) / scale_target_utilization` times the current allocation.
//! 3. `avg <= scale_in_avg && effective peak <= scale_in_peak` in a service group above
//!    `min_replicas`: SCALE_IN to `max(min_replicas, min(r - 1, ceil(r * peak /
//!    scale_target_utilization)))` replicas.
//! 4. `avg <= scale_down_avg && effective peak <= scale_down_peak`: SCALE_DOWN to
//!    `max(0.1, max(peak, avg) / scale_target_utilization)` times the allocation.
//! 5. Otherwise NO_ACTION, target = current.

use crate::model::{ResourceForecast, ResourceType, ScalingAction};
use crate::policy::PolicyConfig;

/// Current, average and peak utilization over the decision window.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct UtilStats {
    pub current: f64,
    pub avg: f64,
    pub peak: f64,
}

impl UtilStats {
    /// Stats of a window of samples; the last sample is `current`. Non-finite samples
    /// are skipped. An empty window gives zeros.
    pub fn from_window(samples: &[f64]) -> Self {
        let mut n = 0usize;
        let mut sum = 0.0;
        let mut peak = f64::NEG_INFINITY;
        let mut current = 0.0;
        for &x in samples.iter().filter(|x| x.is_finite()) {
            n += 1;
            sum += x;
            peak = peak.max(x);
            current = x;
        }
        if n == 0 {
            return Self::default();
        }
        Self {
            current,
            avg: sum / n as f64,
            peak,
        }
    }

    /// The same window in a unit `f` times the old one (a VM's utilization after its
    /// allocation changes from `old` to `new` vCPUs: `f = old / new`).
    pub fn scaled(self, f: f64) -> Self {
        Self {
            current: self.current * f,
            avg: self.avg * f,
            peak: self.peak * f,
        }
    }
}

/// What the rules need from a forecast: its accuracy and its highest upper bound.
/// Lets the simulator's hot loop skip building a [`ResourceForecast`] per VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSummary {
    pub accuracy: f64,
    pub max_upper: f64,
}

impl ForecastSummary {
    /// The bound in a unit `f` times the old one (see [`UtilStats::scaled`]); the
    /// accuracy is kept as it was scored.
    pub fn scaled(self, f: f64) -> Self {
        Self {
            max_upper: self.max_upper * f,
            ..self
        }
    }
}

impl From<&ResourceForecast> for ForecastSummary {
    fn from(f: &ResourceForecast) -> Self {
        Self {
            accuracy: f.forecast_accuracy,
            max_upper: f.max_upper(),
        }
    }
}

/// Result of the MIGRATE check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MigrationCheck {
    Wanted,
    NotCpu,
    AvgNotAbove,
    CurrentNotAbove,
    ForecastNotAccurate(f64),
}

pub fn migration_check(
    p: &PolicyConfig,
    resource: ResourceType,
    current: f64,
    avg: f64,
    forecast: Option<ForecastSummary>,
) -> MigrationCheck {
    if resource != ResourceType::Cpu {
        MigrationCheck::NotCpu
    } else if avg.is_nan() || avg <= p.migrate_avg {
        MigrationCheck::AvgNotAbove
    } else if current.is_nan() || current <= p.migrate_current {
        MigrationCheck::CurrentNotAbove
    } else {
        match forecast {
            Some(f) if f.accuracy.is_nan() || f.accuracy <= p.min_forecast_accuracy => {
                MigrationCheck::ForecastNotAccurate(f.accuracy)
            }
            _ => MigrationCheck::Wanted,
        }
    }
}

/// Why the scaling rule chose its action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleWhy {
    Sustained,
    Peak,
    CurrentHigh,
    Idle,
    UnderUsed,
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScaleOutcome {
    pub action: ScalingAction,
    pub target_value: f64,
    pub why: ScaleWhy,
    pub effective_peak: f64,
    pub forecast_trusted: bool,
}

/// The scaling rule of the module docs. `replicas` is the VM's service-group size.
pub fn scaling_rule(
    p: &PolicyConfig,
    stats: UtilStats,
    forecast: Option<ForecastSummary>,
    replicas: Option<u32>,
) -> ScaleOutcome {
    let UtilStats { current, avg, peak } = stats;
    let trusted = forecast.filter(|f| f.accuracy > p.min_forecast_accuracy);
    let effective_peak = trusted.map_or(peak, |f| peak.max(f.max_upper));
    let t = p.scale_target_utilization;
    let out = |action, target_value, why| ScaleOutcome {
        action,
        target_value,
        why,
        effective_peak,
        forecast_trusted: trusted.is_some(),
    };
    let up_factor = effective_peak.max(current) / t;
    if avg >= p.scale_out_avg && current >= p.scale_out_current {
        return match replicas {
            Some(r) => {
                let needed = (r as f64 * avg.max(current) / t).ceil() as u32;
                out(
                    ScalingAction::ScaleOut,
                    needed.max(r + 1) as f64,
                    ScaleWhy::Sustained,
                )
            }
            None => out(ScalingAction::ScaleUp, up_factor, ScaleWhy::Sustained),
        };
    }
    if effective_peak >= p.scale_up_peak {
        return out(ScalingAction::ScaleUp, up_factor, ScaleWhy::Peak);
    }
    if current >= p.scale_up_current {
        return out(ScalingAction::ScaleUp, up_factor, ScaleWhy::CurrentHigh);
    }
    if avg <= p.scale_in_avg && effective_peak <= p.scale_in_peak {
        if let Some(r) = replicas.filter(|&r| r > p.min_replicas) {
            let needed = (r as f64 * effective_peak / t).ceil() as u32;
            let to = needed.min(r - 1).max(p.min_replicas);
            return out(ScalingAction::ScaleIn, to as f64, ScaleWhy::Idle);
        }
    }
    if avg <= p.scale_down_avg && effective_peak <= p.scale_down_peak {
        let factor = (effective_peak.max(avg) / t).max(0.1);
        return out(ScalingAction::ScaleDown, factor, ScaleWhy::UnderUsed);
    }
    out(ScalingAction::NoAction, current, ScaleWhy::Normal)
}

/// Human-readable reason for a scaling outcome, with the numbers.
pub fn explain_scaling(
    p: &PolicyConfig,
    resource: ResourceType,
    stats: UtilStats,
    o: &ScaleOutcome,
    replicas: Option<u32>,
) -> String {
    let UtilStats { current, avg, peak } = stats;
    let peak_txt = if o.forecast_trusted && o.effective_peak > peak {
        format!(
            "peak {peak:.2}, forecast upper bound {:.2}",
            o.effective_peak
        )
    } else {
        format!("peak {peak:.2}")
    };
    let obs = format!("{resource} at {current:.2} (avg {avg:.2}, {peak_txt})");
    match (o.action, o.why) {
        (ScalingAction::ScaleOut, _) => format!(
            "{obs}: sustained load (avg >= {:.2}, current >= {:.2}); scale out from {} to {} \
             replicas to bring utilization near {:.2}",
            p.scale_out_avg,
            p.scale_out_current,
            replicas.unwrap_or(1),
            o.target_value,
            p.scale_target_utilization
        ),
        (ScalingAction::ScaleUp, ScaleWhy::Sustained) => format!(
            "{obs}: sustained load (avg >= {:.2}, current >= {:.2}) and no service group to \
             scale out; scale up to {:.2}x the allocation",
            p.scale_out_avg, p.scale_out_current, o.target_value
        ),
        (ScalingAction::ScaleUp, ScaleWhy::Peak) => format!(
            "{obs}: peak >= {:.2}; scale up to {:.2}x the allocation so the peak lands near {:.2}",
            p.scale_up_peak, o.target_value, p.scale_target_utilization
        ),
        (ScalingAction::ScaleUp, _) => format!(
            "{obs}: current >= {:.2}; scale up to {:.2}x the allocation",
            p.scale_up_current, o.target_value
        ),
        (ScalingAction::ScaleIn, _) => format!(
            "{obs}: idle (avg <= {:.2}, peak <= {:.2}); scale in from {} to {} replicas",
            p.scale_in_avg,
            p.scale_in_peak,
            replicas.unwrap_or(1),
            o.target_value
        ),
        (ScalingAction::ScaleDown, _) => format!(
            "{obs}: under-used (avg <= {:.2}, peak <= {:.2}); scale down to {:.2}x the allocation",
            p.scale_down_avg, p.scale_down_peak, o.target_value
        ),
        _ => format!("{obs}: within thresholds; no action"),
    }
}

/// Why MIGRATE was not wanted, for reasoning strings.
pub fn explain_migration_check(p: &PolicyConfig, c: MigrationCheck) -> Option<String> {
    match c {
        MigrationCheck::ForecastNotAccurate(a) => Some(format!(
            "migration thresholds met but forecast accuracy {a:.2} is not above {:.2}",
            p.min_forecast_accuracy
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ForecasterKind;

    fn fc(acc: f64, upper: f64) -> ResourceForecast {
        ResourceForecast {
            resource_type: ResourceType::Cpu,
            forecaster: ForecasterKind::Holt,
            step_seconds: 300,
            predicted_values: vec![upper],
            lower_bound: vec![upper],
            upper_bound: vec![upper],
            forecast_accuracy: acc,
        }
    }

    fn check(current: f64, avg: f64, f: Option<&ResourceForecast>) -> MigrationCheck {
        migration_check(
            &PolicyConfig::default(),
            ResourceType::Cpu,
            current,
            avg,
            f.map(ForecastSummary::from),
        )
    }

    #[test]
    fn migrate_boundaries_are_strict() {
        assert_eq!(check(0.76, 0.7, None), MigrationCheck::AvgNotAbove);
        assert_eq!(check(0.76, 0.7000001, None), MigrationCheck::Wanted);
        assert_eq!(check(0.75, 0.71, None), MigrationCheck::CurrentNotAbove);
        assert_eq!(check(0.7500001, 0.71, None), MigrationCheck::Wanted);
        let at = fc(0.8, 0.5);
        assert_eq!(
            check(0.8, 0.8, Some(&at)),
            MigrationCheck::ForecastNotAccurate(0.8)
        );
        let above = fc(0.8000001, 0.5);
        assert_eq!(check(0.8, 0.8, Some(&above)), MigrationCheck::Wanted);
        assert_eq!(check(0.8, 0.8, None), MigrationCheck::Wanted);
    }

    #[test]
    fn only_cpu_migrates() {
        let p = PolicyConfig::default();
        for r in [
            ResourceType::Memory,
            ResourceType::Disk,
            ResourceType::Network,
        ] {
            assert_eq!(
                migration_check(&p, r, 0.99, 0.99, None),
                MigrationCheck::NotCpu
            );
        }
    }

    #[test]
    fn nan_never_migrates() {
        assert_eq!(check(f64::NAN, 0.9, None), MigrationCheck::CurrentNotAbove);
        assert_eq!(check(0.9, f64::NAN, None), MigrationCheck::AvgNotAbove);
        let f = fc(f64::NAN, 0.5);
        assert!(matches!(
            check(0.9, 0.9, Some(&f)),
            MigrationCheck::ForecastNotAccurate(_)
        ));
    }

    fn rule(current: f64, avg: f64, peak: f64, replicas: Option<u32>) -> ScaleOutcome {
        scaling_rule(
            &PolicyConfig::default(),
            UtilStats { current, avg, peak },
            None,
            replicas,
        )
    }

    #[test]
    fn scale_out_needs_a_service_group() {
        let o = rule(0.85, 0.82, 0.9, Some(3));
        assert_eq!(o.action, ScalingAction::ScaleOut);
        // ceil(3 * 0.85 / 0.6) = 5
        assert_eq!(o.target_value, 5.0);
        let o = rule(0.85, 0.82, 0.9, None);
        assert_eq!(o.action, ScalingAction::ScaleUp);
        assert_eq!(o.why, ScaleWhy::Sustained);
    }

    #[test]
    fn scale_up_on_peak_or_current() {
        let o = rule(0.5, 0.5, 0.9, None);
        assert_eq!(o.action, ScalingAction::ScaleUp);
        assert!((o.target_value - 1.5).abs() < 1e-12);
        assert_eq!(rule(0.5, 0.5, 0.8999, None).action, ScalingAction::NoAction);
        assert_eq!(rule(0.85, 0.5, 0.85, None).action, ScalingAction::ScaleUp);
    }

    #[test]
    fn trusted_forecast_raises_the_peak() {
        let p = PolicyConfig::default();
        let s = UtilStats {
            current: 0.5,
            avg: 0.5,
            peak: 0.6,
        };
        let good = fc(0.9, 0.95);
        let bad = fc(0.5, 0.95);
        assert_eq!(
            scaling_rule(&p, s, Some((&good).into()), None).action,
            ScalingAction::ScaleUp
        );
        assert_eq!(
            scaling_rule(&p, s, Some((&bad).into()), None).action,
            ScalingAction::NoAction
        );
    }

    #[test]
    fn scale_in_and_down() {
        let o = rule(0.1, 0.1, 0.2, Some(4));
        assert_eq!(o.action, ScalingAction::ScaleIn);
        // ceil(4 * 0.2 / 0.6) = 2
        assert_eq!(o.target_value, 2.0);
        // A single replica cannot scale in: it scales down instead.
        let o = rule(0.1, 0.1, 0.2, Some(1));
        assert_eq!(o.action, ScalingAction::ScaleDown);
        let o = rule(0.25, 0.25, 0.45, None);
        assert_eq!(o.action, ScalingAction::ScaleDown);
        assert!((o.target_value - 0.75).abs() < 1e-12);
        assert_eq!(rule(0.25, 0.31, 0.45, None).action, ScalingAction::NoAction);
    }

    #[test]
    fn no_action_keeps_current() {
        let o = rule(0.55, 0.5, 0.6, None);
        assert_eq!(o.action, ScalingAction::NoAction);
        assert_eq!(o.target_value, 0.55);
    }

    #[test]
    fn window_stats() {
        let s = UtilStats::from_window(&[0.2, f64::NAN, 0.6, 0.4]);
        assert_eq!(s.current, 0.4);
        assert!((s.avg - 0.4).abs() < 1e-12);
        assert_eq!(s.peak, 0.6);
        assert_eq!(UtilStats::from_window(&[]), UtilStats::default());
    }
}
