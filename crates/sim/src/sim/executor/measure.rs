//! Expected against actual: after switchover the target's and the source's utilization
//! (and the share of the VM's demand its new host serves) are averaged over a window of
//! control intervals, then the plan's success criteria are judged on what was measured.

use crate::sim::*;

/// Sums over the window after switchover.
#[derive(Debug, Clone, Copy)]
pub(in crate::sim) struct Window {
    end_ms: TimeMs,
    target_sum: f64,
    source_sum: f64,
    /// The share of the VM's demand its new host serves, summed.
    served_sum: f64,
    samples: u32,
}

impl Window {
    pub(in crate::sim) fn until(end_ms: TimeMs) -> Self {
        Self {
            end_ms,
            target_sum: 0.0,
            source_sum: 0.0,
            served_sum: 0.0,
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
                let served = self.nodes[dst].served_frac();
                if let Some(w) = &mut self.migs[m].window {
                    w.target_sum += t;
                    w.source_sum += s;
                    w.served_sum += served;
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
            self.records[m].vm_served_after = Some(w.served_sum / n);
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
                    } => utilization_improves(r, *min_improvement_pct),
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

/// "Resource utilization improves by at least X %", judged on what the move was for:
/// the source host's utilization fell by at least X % of its value at the decision (its
/// relief), and the VM is served at least the share of its CPU demand on the target that
/// it was on the source (a move that relieves the source by starving the VM is no
/// improvement). Comparing the target after with the source before, as the seed's
/// wording suggests, fails by construction whenever the target ceiling is close to the
/// migration threshold.
pub(in crate::sim) fn utilization_improves(r: &MigrationRecord, min_pct: f64) -> (bool, String) {
    let (Some(after), Some(served)) = (r.source_after, r.vm_served_after) else {
        return (false, "not measured".to_string());
    };
    if r.source_before <= 0.0 {
        return (false, "not measured (idle source)".to_string());
    }
    let relief_pct = (r.source_before - after) / r.source_before * 100.0;
    let before = r.vm_served_before.unwrap_or(1.0);
    // A thousandth of slack: the window's average of a share that is exactly 1 is 1.
    let served_ok = served >= before - 1e-3;
    (
        relief_pct >= min_pct && served_ok,
        format!(
            "source relieved {relief_pct:.1} % (at least {min_pct} % needed), VM served {:.1} % \
             of its CPU demand (was {:.1} %)",
            served * 100.0,
            before * 100.0
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(before: f64, after: Option<f64>, served: (f64, Option<f64>)) -> MigrationRecord {
        let mut r = crate::sim::tests::sample_record();
        r.source_before = before;
        r.source_after = after;
        r.vm_served_before = Some(served.0);
        r.vm_served_after = served.1;
        r
    }

    #[test]
    fn improvement_is_the_sources_relief_with_the_vm_no_worse_served() {
        // 0.8 -> 0.7 on the source is 12.5 %: passes 6.2 %, fails 20 %, whatever the
        // target runs at (it is not compared).
        let r = record(0.8, Some(0.7), (1.0, Some(1.0)));
        let (ok, m) = utilization_improves(&r, 6.2);
        assert!(ok, "{m}");
        assert!(m.starts_with("source relieved 12.5 %"), "{m}");
        assert!(!utilization_improves(&r, 20.0).0);
        // An over-full source served the VM 80 % of its demand; a target that serves
        // 79 % is no improvement even though the source is relieved.
        let r = record(1.25, Some(0.9), (0.8, Some(0.79)));
        let (ok, m) = utilization_improves(&r, 6.2);
        assert!(!ok, "{m}");
        assert!(
            m.contains("VM served 79.0 %") && m.contains("(was 80.0 %)"),
            "{m}"
        );
        let r = record(1.25, Some(0.9), (0.8, Some(1.0)));
        assert!(utilization_improves(&r, 6.2).0);
        // The source filled up again: no relief.
        let r = record(0.8, Some(0.82), (1.0, Some(1.0)));
        assert!(!utilization_improves(&r, 0.0).0);
        // No window (rolled back before switchover): not measured.
        let r = record(0.8, None, (1.0, None));
        assert_eq!(
            utilization_improves(&r, 6.2),
            (false, "not measured".to_string())
        );
    }
}
