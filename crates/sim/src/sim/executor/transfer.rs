//! Memory on the wire: every flow settled to now at its rate, then given its max-min
//! fair share of the NICs and inter-rack links it crosses, and its completion
//! rescheduled. A finished transfer ends a pre-copy round or the stop-and-copy.

use crate::sim::*;

#[derive(Debug, Clone, Copy)]
pub(in crate::sim) struct Transfer {
    pub(in crate::sim) left_mib: f64,
    pub(in crate::sim) rate_mib_s: f64,
    pub(in crate::sim) last_ms: TimeMs,
    pub(in crate::sim) timer: Option<EventId>,
}

impl Transfer {
    /// A round of `mib` to send from `now`; its rate comes from the next reflow.
    pub(in crate::sim) fn start(mib: f64, now: TimeMs) -> Self {
        Self {
            left_mib: mib,
            rate_mib_s: 0.0,
            last_ms: now,
            timer: None,
        }
    }
}

impl Simulation {
    /// Move every flow forward to `now` at its current rate (bytes sent, pages dirtied).
    pub(in crate::sim) fn settle(&mut self, now: TimeMs) {
        let wws = self.params.writable_working_set_frac;
        for &m in &self.active {
            let mig = &mut self.migs[m];
            let Some(t) = &mut mig.transfer else { continue };
            let dt = (now - t.last_ms) as f64 / 1000.0;
            t.left_mib = (t.left_mib - t.rate_mib_s * dt).max(0.0);
            t.last_ms = now;
            if mig.phase == Phase::PreCopy {
                let v = &self.vms[mig.vm];
                let rate = mig.throttle.dirty_rate(v.dirty_rate_mib_s());
                mig.dirtied_mib = (mig.dirtied_mib + rate * dt).min(wws * v.memory_mib as f64);
                // PDM: the CPU auto-converge takes from the guest is lost to migration.
                if mig.throttle.frac > 0.0 {
                    let demand = v.capped_demand();
                    self.pdm_lost += mig.throttle.frac * demand * dt * 1000.0;
                }
            }
        }
    }

    /// Settle every flow, give each its max-min fair share, reschedule completions.
    pub(in crate::sim) fn reflow(&mut self, now: TimeMs) {
        self.settle(now);
        let flows: Vec<Flow> = self
            .active
            .iter()
            .filter(|&&m| self.migs[m].transfer.is_some())
            .map(|&m| self.flow_between(m.ix(), self.migs[m].src, self.migs[m].dst))
            .collect();
        let nic_caps: Vec<f64> = self
            .nodes
            .iter()
            .map(|n| if n.up { n.nic_mbps * n.nic_factor } else { 0.0 })
            .collect();
        let rates = fair_rates(&flows, &nic_caps);
        for (f, rate_mbps) in flows.iter().zip(rates) {
            let m = MigId::from_ix(f.id);
            let Some(t) = &mut self.migs[m].transfer else {
                continue;
            };
            if let Some(old) = t.timer.take() {
                self.q.cancel(old);
            }
            // What carries memory: the flow's rate less protocol overhead.
            let rate = mbps_to_mib_s(rate_mbps) * self.params.goodput_frac;
            t.rate_mib_s = rate;
            if rate > 0.0 {
                let ms = (t.left_mib / rate * 1000.0).ceil();
                let at = now.saturating_add(if ms.is_finite() {
                    ms as u64
                } else {
                    NEVER_S.saturating_mul(1000)
                });
                t.timer = Some(self.q.schedule_timer(at, Ev::TransferDone { mig: m }));
            }
        }
        // New rates: a flow squeezed below its plan's minimum rolls back.
        self.request_rollback_check(now);
    }

    pub(in crate::sim) fn on_transfer_done(&mut self, m: MigId, now: TimeMs) {
        if !self.migs[m].phase.in_flight() || self.migs[m].transfer.is_none() {
            return;
        }
        self.settle(now);
        let vm = self.migs[m].vm;
        let mem = self.vms[vm].memory_mib as f64;
        let rate = self.migs[m].transfer.map_or(0.0, |t| t.rate_mib_s);
        match self.migs[m].phase {
            Phase::PreCopy => {
                let mig = &mut self.migs[m];
                mig.rounds += 1;
                mig.sent_mib += mig.round_volume_mib;
                let remainder = mig.dirtied_mib;
                let stop = self
                    .params
                    .stop_reason(mem, mig.rounds, mig.sent_mib, remainder, rate);
                if stop.is_some() {
                    self.records[m].precopy_rounds = self.migs[m].rounds;
                    if self.injected_failure(m, StepAction::MemoryPreCopy, now) {
                        return;
                    }
                    self.end_step(m, now, StepOutcome::Ok);
                    self.begin_step(m, StepAction::StopAndCopy, now);
                    let mig = &mut self.migs[m];
                    mig.round_volume_mib = remainder;
                    mig.transfer = Some(Transfer::start(remainder, now));
                    mig.pause_start_ms = Some(now);
                    self.vms[vm].paused = true;
                    let max_pause = self.max_pause_ms(m);
                    self.migs[m].pause_check = Some(
                        self.q
                            .schedule_timer(now + max_pause + 1, Ev::PauseCheck { mig: m }),
                    );
                } else {
                    let mig = &mut self.migs[m];
                    let round = mig.round_volume_mib;
                    mig.throttle
                        .after_round(self.params.auto_converge.as_ref(), round, remainder);
                    let frac = mig.throttle.frac;
                    mig.round_volume_mib = remainder;
                    mig.dirtied_mib = 0.0;
                    mig.transfer = Some(Transfer::start(remainder, now));
                    let r = &mut self.records[m];
                    r.max_throttle_pct = r.max_throttle_pct.max(frac * 100.0);
                }
                self.reflow(now);
            }
            Phase::StopAndCopy => {
                let mig = &mut self.migs[m];
                mig.sent_mib += mig.round_volume_mib;
                mig.transfer = None;
                let resume = self.policy.migration.resume_ms;
                self.migs[m].step_event =
                    Some(self.q.schedule(now + resume, Ev::StepDone { mig: m }));
                self.reflow(now);
            }
            _ => {}
        }
    }
}
