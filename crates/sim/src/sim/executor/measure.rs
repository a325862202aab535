//! Expected against actual: after switchover the target's and the source's utilization
//! are averaged over a window of control intervals, then the plan's success criteria
//! are judged on what was measured.

use crate::sim::*;

/// Sums over the window after switchover.
#[derive(Debug, Clone, Copy)]
pub(in crate::sim) struct Window {
    end_ms: TimeMs,
    target_sum: f64,
    source_sum: f64,
    samples: u32,
}

impl Window {
    pub(in crate::sim) fn until(end_ms: TimeMs) -> Self {
        Self {
            end_ms,
            target_sum: 0.0,
            source_sum: 0.0,
            samples: 0,
        }
    }
}

impl Simulation {
    /// Samples for the expected-vs-actual window after switchover.
    pub(in crate::sim) fn measure(&mut self, now: TimeMs) {
        for m in MigId::all(self.migs.len()) {
            let mig = &self.migs[m];
            let Some(w) = &mig.window else {
                continue;
            };
            let (src, dst) = (mig.src, mig.dst);
            let end = w.end_ms;
            if now > self.records[m].switchover_ms.unwrap_or(0) && now <= end {
                let t = self.nodes[dst].util();
                let s = self.nodes[src].util();
                if let Some(w) = &mut self.migs[m].window {
                    w.target_sum += t;
                    w.source_sum += s;
                    w.samples += 1;
                }
            }
            if now >= end {
                self.close_window(m, now);
            }
        }
    }

    pub(in crate::sim) fn close_window(&mut self, m: MigId, now: TimeMs) {
        if let Some(w) = self.migs[m].window.take()
            && w.samples > 0
        {
            let n = w.samples as f64;
            self.records[m].actual_utilization = Some(w.target_sum / n);
            self.records[m].source_after = Some(w.source_sum / n);
        }
        if self.records[m].outcome.is_some() {
            self.finalize_criteria(m, now);
        }
    }

    pub(in crate::sim) fn finalize_criteria(&mut self, m: MigId, now: TimeMs) {
        let plan = self.migs[m].plan.clone();
        let max_pause_default = self.policy.migration.max_unresponsive_ms;
        let r = &mut self.records[m];
        let end = r.ended_ms.unwrap_or(now);
        let total_s = (end - r.started_ms) as f64 / 1000.0;
        r.criteria = plan
            .success_criteria
            .iter()
            .map(|c| {
                let (passed, measured) = match c {
                    SuccessCriterion::RemainsResponsive { max_pause_ms } => {
                        let max = max_pause_ms.unwrap_or(max_pause_default);
                        let lost = r.outcome == Some(Outcome::DataLoss);
                        (
                            !lost && r.downtime_ms <= max,
                            format!("paused {} ms", r.downtime_ms),
                        )
                    }
                    SuccessCriterion::CompletesWithin { max_duration_s } => (
                        r.outcome == Some(Outcome::Completed) && total_s <= *max_duration_s as f64,
                        format!("{total_s:.1} s"),
                    ),
                    SuccessCriterion::UtilizationImproves {
                        min_improvement_pct,
                    } => match r.actual_utilization {
                        Some(a) if r.source_before > 0.0 => {
                            let pct = (r.source_before - a) / r.source_before * 100.0;
                            (pct >= *min_improvement_pct, format!("{pct:.1} %"))
                        }
                        _ => (false, "not measured".to_string()),
                    },
                    SuccessCriterion::NoDataLoss => (
                        r.outcome != Some(Outcome::DataLoss),
                        match r.outcome {
                            Some(Outcome::DataLoss) => "VM lost".to_string(),
                            _ => "no loss".to_string(),
                        },
                    ),
                };
                CriterionResult {
                    criterion: c.to_string(),
                    passed,
                    measured,
                }
            })
            .collect();
    }
}
