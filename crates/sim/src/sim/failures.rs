//! Failures: the scenario's injected ones (crashes, degraded links, partitions, dirty
//! rate and load spikes, hangs), the stochastic crash process, recoveries and restarts.
//! Failures call the executor (a crash aborts the migrations it touches), never the
//! reverse.

use super::*;

impl Simulation {
    pub(super) fn schedule_stochastic_crash(&mut self, n: usize) {
        let node = &self.nodes[n];
        if let Some(mtbf) = node.mtbf_s {
            let dt = match node.dist {
                FailureDistribution::Exponential => self.rng_crash.exponential(mtbf),
                FailureDistribution::Weibull => self.rng_crash.weibull(node.weibull_shape, mtbf),
            };
            let t = self
                .q
                .now()
                .saturating_add((dt * 1000.0).round().max(1.0) as u64);
            if t < self.duration_ms {
                self.q.schedule(t, Ev::StochasticCrash { node: n as u32 });
            }
        }
    }

    pub(super) fn on_failure(&mut self, idx: usize, now: TimeMs, start: bool) {
        let f = self.sc.failures[idx].clone();
        let node_ix = |sim: &Self, name: &str| sim.nodes.iter().position(|n| n.id == name);
        let vm_ix = |sim: &Self, name: &str| sim.vms.iter().position(|v| v.id == name);
        let rack_pair = |sim: &Self, r: &[String; 2]| {
            let a = sim.racks.iter().position(|x| *x == r[0]).unwrap_or(0);
            let b = sim.racks.iter().position(|x| *x == r[1]).unwrap_or(0);
            pair_index(sim.racks.len(), a, b)
        };
        // User-given durations may be absurd: events past the end are simply never reached.
        let end_at = |d: f64| now.saturating_add((d * 1000.0).round() as u64);
        match &f {
            FailureSpec::NodeCrash {
                node,
                recover_after_s,
                ..
            } => {
                if let Some(n) = node_ix(self, node)
                    && start
                {
                    self.crash_node(n, now, "scheduled crash");
                    if let Some(r) = recover_after_s {
                        self.q
                            .schedule(end_at(*r), Ev::NodeRecover { node: n as u32 });
                    }
                }
            }
            FailureSpec::LinkDegrade {
                duration_s,
                factor,
                node,
                racks,
                ..
            } => {
                let (kind, f) = if start {
                    (EventKind::LinkDegrade, *factor)
                } else {
                    (EventKind::LinkRestore, 1.0)
                };
                let mut at_node = None;
                let what = if let Some(n) = node.as_deref().and_then(|n| node_ix(self, n)) {
                    self.nodes[n].nic_factor = f;
                    at_node = Some(n);
                    format!("NIC of {} at {:.0} %", self.nodes[n].id, f * 100.0)
                } else if let Some(r) = racks {
                    let k = rack_pair(self, r);
                    self.link_factor[k] = f;
                    format!("link {} - {} at {:.0} %", r[0], r[1], f * 100.0)
                } else {
                    String::new()
                };
                self.event(now, kind, at_node, None, None, what);
                if start {
                    self.q
                        .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                }
                self.reflow(now);
                self.check_rollbacks(now);
            }
            FailureSpec::Partition {
                duration_s, racks, ..
            } => {
                let k = rack_pair(self, racks);
                self.link_factor[k] = if start { 0.0 } else { 1.0 };
                let kind = if start {
                    EventKind::Partition
                } else {
                    EventKind::PartitionHeal
                };
                self.event(
                    now,
                    kind,
                    None,
                    None,
                    None,
                    format!("{} - {}", racks[0], racks[1]),
                );
                if start {
                    self.q
                        .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                }
                self.reflow(now);
                self.check_rollbacks(now);
            }
            FailureSpec::DirtyRateSpike {
                duration_s,
                vm,
                factor,
                ..
            } => {
                if let Some(v) = vm_ix(self, vm) {
                    // Dirtying so far counted at the old rate.
                    self.settle(now);
                    self.vms[v].dirty_factor = if start { *factor } else { 1.0 };
                    let kind = if start {
                        EventKind::DirtyRateSpike
                    } else {
                        EventKind::DirtyRateNormal
                    };
                    let node = self.vms[v].node;
                    self.event(
                        now,
                        kind,
                        node,
                        Some(v),
                        None,
                        format!("dirty rate x{}", self.vms[v].dirty_factor),
                    );
                    if start {
                        self.q
                            .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                    }
                }
            }
            FailureSpec::LoadSpike {
                duration_s,
                node,
                extra_cores,
                ..
            } => {
                if let Some(n) = node_ix(self, node) {
                    let delta = if start { *extra_cores } else { -*extra_cores };
                    self.account_node(n, now);
                    self.nodes[n].background_cores =
                        (self.nodes[n].background_cores + delta).max(0.0);
                    self.nodes[n].load_cores = (self.nodes[n].load_cores + delta).max(0.0);
                    let kind = if start {
                        EventKind::LoadSpike
                    } else {
                        EventKind::LoadSpikeEnd
                    };
                    self.event(now, kind, Some(n), None, None, format!("{delta:+} cores"));
                    if start {
                        self.q
                            .schedule(end_at(*duration_s), Ev::FailureEnd { idx: idx as u32 });
                    }
                    self.check_rollbacks(now);
                }
            }
            FailureSpec::VmHang { duration_s, vm, .. } => {
                if let Some(v) = vm_ix(self, vm) {
                    let node = self.vms[v].node;
                    if start {
                        let until = end_at(*duration_s);
                        self.vms[v].hung_until_ms = until;
                        self.event(
                            now,
                            EventKind::VmHang,
                            node,
                            Some(v),
                            None,
                            format!("for {duration_s} s"),
                        );
                        self.q.schedule(until, Ev::FailureEnd { idx: idx as u32 });
                        if let Some(m) = self.vms[v].migration {
                            let max = self.max_pause_ms(m);
                            if (*duration_s * 1000.0) as u64 > max {
                                self.q.schedule(now + max + 1, Ev::HangCheck { mig: m });
                            }
                        }
                    } else {
                        self.event(now, EventKind::VmResume, node, Some(v), None, String::new());
                    }
                }
            }
        }
    }

    /// A node that is already down, off or booting does not crash.
    pub(super) fn crash_node(&mut self, n: usize, now: TimeMs, why: &str) {
        if !self.nodes[n].up {
            return;
        }
        self.account_node(n, now);
        self.nodes[n].up = false;
        self.nodes[n].crashed = true;
        self.event(
            now,
            EventKind::NodeCrash,
            Some(n),
            None,
            None,
            why.to_string(),
        );
        // Migrations touching the node.
        let active = self.active.clone();
        for m in active {
            let (src, dst, step, switched, vm) = {
                let g = &self.migs[m];
                (g.src, g.dst, g.phase, g.phase.switched(), g.vm)
            };
            if src == n && step == Phase::StopAndCopy && !switched {
                // The VM was paused mid-copy on the dying source: its memory is gone.
                self.cancel_timers(m);
                self.release_target(m);
                let pause = now - self.migs[m].pause_start_ms.unwrap_or(now);
                self.records[m].downtime_ms = pause;
                // Not switched over: the VM is still placed on the source.
                self.unplace(vm, now);
                let v = &mut self.vms[vm];
                v.status = VmStatus::Lost;
                v.paused = false;
                self.metrics.data_loss_events += 1;
                let reason = format!("source {} crashed during stop-and-copy", self.nodes[n].id);
                self.event(
                    now,
                    EventKind::DataLoss,
                    Some(n),
                    Some(vm),
                    Some(m),
                    reason.clone(),
                );
                self.end_step(m, now, StepOutcome::Failed);
                self.finish_migration(m, now, Outcome::DataLoss, Some(reason));
            } else if (src == n || dst == n) && !switched {
                self.end_step(m, now, StepOutcome::Aborted);
                let which = if src == n { "source" } else { "target" };
                self.abort(m, now, format!("{which} {} crashed", self.nodes[n].id));
            } else if dst == n && switched {
                self.end_step(m, now, StepOutcome::Failed);
                self.event(
                    now,
                    EventKind::NodeCrash,
                    Some(n),
                    Some(vm),
                    Some(m),
                    "target crashed after switchover".into(),
                );
                self.abort(
                    m,
                    now,
                    format!("target {} crashed after switchover", self.nodes[n].id),
                );
            }
        }
        let mut on_node = self.node_vms[n].clone();
        on_node.sort_unstable();
        for v in on_node {
            let v = v as usize;
            if self.vms[v].status == VmStatus::Running {
                self.vms[v].status = VmStatus::Down;
                self.vms[v].down_since_ms = now;
                if self.sc.sim.restart_elsewhere {
                    let at = now.saturating_add(self.sc.sim.restart_delay_s.saturating_mul(1000));
                    self.q.schedule(at, Ev::VmRestart { vm: v as u32 });
                }
            }
        }
        self.nodes[n].load_cores = 0.0;
        self.reflow(now);
    }

    pub(super) fn recover_node(&mut self, n: usize, now: TimeMs) {
        if !self.nodes[n].crashed {
            return;
        }
        self.nodes[n].crashed = false;
        self.event(
            now,
            EventKind::NodeRecover,
            Some(n),
            None,
            None,
            String::new(),
        );
        self.serve(n, now);
        self.schedule_stochastic_crash(n);
    }

    /// A node that was not serving (crashed, or booting) serves again: its VMs that
    /// waited for it run, and its load is what they use.
    pub(super) fn serve(&mut self, n: usize, now: TimeMs) {
        self.account_node(n, now);
        self.nodes[n].up = true;
        for &v in &self.node_vms[n] {
            let v = &mut self.vms[v as usize];
            if v.status == VmStatus::Down {
                v.status = VmStatus::Running;
                self.downtime_ms += now - v.down_since_ms;
            } else if v.status == VmStatus::Pending {
                // It arrived while the node booted (lifecycle.rs).
                v.status = VmStatus::Running;
            }
        }
        self.nodes[n].load_cores = self.nodes[n].background_cores
            + self.node_vms[n]
                .iter()
                .map(|&v| self.vms[v as usize].used_cores())
                .sum::<f64>();
        self.reflow(now);
    }

    pub(super) fn restart_vm(&mut self, v: usize, now: TimeMs) {
        if self.vms[v].status != VmStatus::Down {
            return;
        }
        let mem = self.vms[v].memory_mib;
        // A node that is on first; else one that is off, woken for it (the VM runs
        // once it has booted).
        let Some(t) = self
            .least_loaded_with_room(mem)
            .or_else(|| self.wake_for(mem, now))
        else {
            return;
        };
        let old = self.vms[v].node.unwrap_or(0);
        let vcpus = self.vms[v].vcpus as u64;
        self.nodes[old].used_mem_mib -= mem;
        self.nodes[old].vcpus_placed -= vcpus;
        self.nodes[t].used_mem_mib += mem;
        self.nodes[t].vcpus_placed += vcpus;
        self.move_vm(v, Some(t), now);
        self.event(
            now,
            EventKind::VmRestart,
            Some(t),
            Some(v),
            None,
            format!("from {}", self.nodes[old].id),
        );
        if !self.nodes[t].up {
            return;
        }
        self.vms[v].status = VmStatus::Running;
        self.downtime_ms += now - self.vms[v].down_since_ms;
        let used = self.vms[v].used_cores();
        self.account_node(t, now);
        self.nodes[t].load_cores += used;
    }
}
