//! The engine's control round: the triage of every VM (MIGRATE candidates on hot hosts,
//! the scaling rule for the rest), one planner round over the candidates, and the
//! decisions handed to the executor and to scaling.

use super::*;

impl Simulation {
    pub(super) fn control_round(&mut self, now: TimeMs) {
        match self.sc.sim.baseline {
            Some(b) => self.baseline_round(b, now),
            None => self.engine_round(now),
        }
        self.power_round(now);
    }

    fn engine_round(&mut self, now: TimeMs) {
        let p = &self.policy;
        // The MIGRATE rule on each live host's pressure, once per host.
        let host: Vec<Option<MigrationCheck>> = self
            .nodes
            .iter()
            .map(|n| n.up.then(|| host_check(p, n.stats, n.summary)))
            .collect();
        // One pass of the engine's triage: VMs of hot hosts go to the engine's full
        // round; every other VM gets the scaling rule on its own demand.
        let mut candidates = Vec::new();
        let mut pending = Vec::new();
        for (i, v) in self.vms.iter().enumerate() {
            if !v.movable() {
                continue;
            }
            let view = self.view(i, now);
            let o = match triage(p, v.node.and_then(|n| host[n]), &view) {
                Triage::Candidate => {
                    candidates.push(i);
                    continue;
                }
                Triage::CoolingDown(_) => continue,
                Triage::Scale(o) => o,
            };
            self.decision_counts[action_index(o.action)] += 1;
            if o.action != Act::NoAction {
                let confidence = v
                    .summary
                    .map_or(p.confidence_without_forecast, |f| f.accuracy);
                pending.push((
                    i,
                    ScaleRequest {
                        action: o.action,
                        target: o.target_value,
                        current: v.stats.current,
                        confidence,
                        reasoning: None,
                    },
                ));
            }
        }
        // The engine's decisions for the candidates (MIGRATE or its fallback) first.
        if !candidates.is_empty() {
            let (snapshot, obs) = self.snapshot_for(&candidates, now);
            let ds = self
                .engine
                .decide_planned(now as i64, Some(&snapshot), &obs);
            self.snapshot_nodes = snapshot.nodes;
            for (planned, &vm) in ds.into_iter().zip(&candidates) {
                let (d, estimate, model) = (
                    planned.decision,
                    planned.estimate,
                    planned.model_utilization,
                );
                self.decision_counts[action_index(d.action)] += 1;
                // An earlier decision of this round may have changed the VM (a scale
                // in of its group removed it): act only on VMs still as decided on.
                let v = &self.vms[vm];
                if v.status != VmStatus::Running || v.node.is_none() || v.migration.is_some() {
                    *self
                        .metrics
                        .unapplied_decisions_by_action
                        .entry(d.action)
                        .or_insert(0) += 1;
                    continue;
                }
                if d.action == Act::Migrate {
                    self.start_migration(vm, d, estimate, model, now);
                } else if d.action != Act::NoAction
                    && !self.view(vm, now).held(&self.policy, d.action)
                {
                    let req = ScaleRequest {
                        action: d.action,
                        target: d.target_value,
                        current: d.current_value,
                        confidence: d.confidence,
                        reasoning: Some(d.reasoning),
                    };
                    self.apply_scale(vm, req, now);
                }
            }
        }
        // Then the rule's, unless an engine action put the VM's group in cooldown.
        for (vm, req) in pending {
            if self.view(vm, now).held(&self.policy, req.action) {
                *self
                    .metrics
                    .unapplied_decisions_by_action
                    .entry(req.action)
                    .or_insert(0) += 1;
                continue;
            }
            self.apply_scale(vm, req, now);
        }
        self.consolidation_round(now);
    }

    /// One VM as the triage sees it at `now`: its window, forecast, group size and
    /// cooldown clocks (a group's scaling counts for each member).
    pub(super) fn view(&self, vm: usize, now: TimeMs) -> VmView {
        let v = &self.vms[vm];
        let group = v.group.map(|g| &self.groups[g]);
        VmView {
            stats: v.stats,
            forecast: v.summary,
            replicas: group.map(|g| g.active.len() as u32),
            since_scaled_ms: self.scaled_at(vm).map(|t| now.saturating_sub(t)),
            since_migrated_ms: v.left.map(|(_, t)| now.saturating_sub(t)),
        }
    }

    /// When the VM or its group was last scaled, whichever was later.
    fn scaled_at(&self, vm: usize) -> Option<TimeMs> {
        let v = &self.vms[vm];
        v.last_scaled_ms
            .max(v.group.and_then(|g| self.groups[g].last_scaled_ms))
    }

    /// The engine's view and its observations of the candidates (see
    /// [`Self::cluster_snapshot`]).
    pub(super) fn snapshot_for(
        &mut self,
        candidates: &[usize],
        now: TimeMs,
    ) -> (ClusterSnapshot, Vec<VmObservation>) {
        let snapshot = self.cluster_snapshot(candidates, now);
        let step = self.sample_ms / 1000;
        let obs = candidates
            .iter()
            .map(|&c| {
                let v = &self.vms[c];
                let n = v.node.unwrap_or(0);
                let host = &self.nodes[n];
                VmObservation {
                    vm_id: v.id.clone(),
                    resources: vec![ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: v.hist.stats(),
                        forecast: v.forecaster.forecast(ResourceType::Cpu, step),
                    }],
                    host_cpu: Some(ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: host.hist.stats(),
                        forecast: host.forecaster.forecast(ResourceType::Cpu, step),
                    }),
                    last_scaled_ms: self.scaled_at(c).map(|t| t as i64),
                    last_migrated_ms: v.left.map(|(_, t)| t as i64),
                }
            })
            .collect();
        (snapshot, obs)
    }

    /// The engine's view: every node (a node that is off or booting as switched off,
    /// with the NIC it will have), and the VMs it needs (`candidates`, anti-affinity
    /// members, candidates' service groups).
    pub(super) fn cluster_snapshot(
        &mut self,
        candidates: &[usize],
        now: TimeMs,
    ) -> ClusterSnapshot {
        let mut include = vec![false; self.vms.len()];
        for &c in candidates {
            include[c] = true;
            if let Some(g) = self.vms[c].group {
                for &m in &self.groups[g].active {
                    include[m] = true;
                }
            }
        }
        for (i, v) in self.vms.iter().enumerate() {
            if v.anti_affinity.is_some() && v.alive() {
                include[i] = true;
            }
        }
        // Node snapshots are kept between rounds: only their numbers change, and
        // cloning 10,000 ids every round is measurable.
        let mut nodes = std::mem::take(&mut self.snapshot_nodes);
        if nodes.len() != self.nodes.len() {
            nodes = self
                .nodes
                .iter()
                .map(|n| NodeSnapshot {
                    id: n.id.clone(),
                    cores: n.cores,
                    cpu_utilization: 0.0,
                    memory_mib: n.memory_mib,
                    free_memory_mib: 0,
                    bandwidth_mbps: 0.0,
                    rack: self.racks[n.rack].clone(),
                    health: NodeHealth::Healthy,
                })
                .collect();
        }
        for (snap, n) in nodes.iter_mut().zip(&self.nodes) {
            snap.cpu_utilization = if n.usable() {
                (n.load_cores + n.reserved_cores) / n.cores
            } else {
                0.0
            };
            snap.free_memory_mib = n.free_mem_mib();
            snap.bandwidth_mbps = if n.usable() {
                n.nic_mbps * n.nic_factor
            } else {
                0.0
            };
            snap.health = if n.up {
                NodeHealth::Healthy
            } else if n.asleep() {
                NodeHealth::Off
            } else {
                NodeHealth::Down
            };
        }
        let return_window_ms = self.policy.planner.return_window_s.saturating_mul(1000);
        let vms = (0..self.vms.len())
            .filter(|&i| include[i] && self.vms[i].node.is_some())
            .map(|i| {
                let v = &self.vms[i];
                VmSnapshot {
                    id: v.id.clone(),
                    node_id: self.nodes[v.node.unwrap_or(0)].id.clone(),
                    vcpus: v.vcpus,
                    memory_mib: v.memory_mib,
                    cpu_demand_cores: v.capped_demand(),
                    dirty_rate_mib_s: v.dirty_rate_mib_s(),
                    anti_affinity_group: v.anti_affinity.clone(),
                    service_group: v.group.map(|g| self.groups[g].name.clone()),
                    recently_left: v
                        .left
                        .filter(|&(_, t)| now.saturating_sub(t) < return_window_ms)
                        .map(|(n, _)| vec![self.nodes[n].id.clone()])
                        .unwrap_or_default(),
                }
            })
            .collect();
        let in_flight = self
            .active
            .iter()
            .map(|&m| {
                let mig = &self.migs[m];
                InFlightMigration {
                    vm_id: self.vms[mig.vm].id.clone(),
                    source_node_id: self.nodes[mig.src].id.clone(),
                    target_node_id: self.nodes[mig.dst].id.clone(),
                    min_share_mbps: self.min_share_mbps(m),
                }
            })
            .collect();
        // The engine sees one inter-rack figure: the narrowest link between any two
        // racks as it is now (degraded or partitioned links included).
        let nr = self.racks.len();
        let inter_rack = (0..nr)
            .flat_map(|a| (a + 1..nr).map(move |b| (a, b)))
            .filter_map(|(a, b)| self.link_capacity_mbps(a, b))
            .reduce(f64::min);
        ClusterSnapshot {
            nodes,
            vms,
            inter_rack_bandwidth_mbps: inter_rack,
            in_flight,
        }
    }

    /// The engine's consolidation (policy `[consolidation]`): the hosts it may empty,
    /// under the threshold with every VM free to move (running, not migrating, out of
    /// its MIGRATE cooldown), offered with their window stats; its MIGRATE decisions
    /// start at once, and `[power]` switches the emptied hosts off.
    fn consolidation_round(&mut self, now: TimeMs) {
        let c = &self.policy.consolidation;
        if !c.enabled {
            return;
        }
        let u = c.underload_avg;
        let free = |s: &Self, v: usize| {
            s.vms[v].movable() && !s.view(v, now).held(&s.policy, Act::Migrate)
        };
        let hosts: Vec<usize> = (0..self.nodes.len())
            .filter(|&n| {
                let x = &self.nodes[n];
                x.up && x.migrations == 0
                    && x.reserved_cores == 0.0
                    && x.stats.avg < u
                    && x.stats.current < u
                    && !self.node_vms[n].is_empty()
                    && self.node_vms[n].iter().all(|&v| free(self, v as usize))
            })
            .collect();
        if hosts.is_empty() {
            return;
        }
        let vms: Vec<usize> = hosts
            .iter()
            .flat_map(|&n| self.node_vms[n].iter().map(|&v| v as usize))
            .collect();
        let by_id: std::collections::BTreeMap<String, usize> =
            vms.iter().map(|&v| (self.vms[v].id.clone(), v)).collect();
        let snapshot = self.cluster_snapshot(&vms, now);
        let loads: Vec<scalelab_engine::HostLoad> = hosts
            .iter()
            .map(|&n| scalelab_engine::HostLoad {
                node_id: self.nodes[n].id.clone(),
                stats: self.nodes[n].stats,
            })
            .collect();
        let decided = self.engine.consolidate(now as i64, &snapshot, &loads);
        self.snapshot_nodes = snapshot.nodes;
        for d in decided {
            let Some(&vm) = by_id.get(&d.decision.vm_id) else {
                self.violation(format!(
                    "consolidation moved unknown VM {}",
                    d.decision.vm_id
                ));
                continue;
            };
            self.decision_counts[action_index(Act::Migrate)] += 1;
            self.start_migration(vm, d.decision, d.estimate, d.model_utilization, now);
        }
    }

    /// What an in-flight migration still needs of its path for its plan's pre-copy and
    /// stop-and-copy timeouts (none once its memory has moved), so that the planner
    /// does not squeeze it below that with new migrations on the same NICs.
    fn min_share_mbps(&self, m: MigId) -> Option<f64> {
        let mig = &self.migs[m];
        if !matches!(
            mig.phase,
            Phase::Validation | Phase::PreCopy | Phase::StopAndCopy
        ) {
            return None;
        }
        let timeout = |a: StepAction| mig.plan.step(a).map(|s| s.timeout_seconds as f64);
        let (pre, stop) = (
            timeout(StepAction::MemoryPreCopy)?,
            timeout(StepAction::StopAndCopy)?,
        );
        let v = &self.vms[mig.vm];
        let max_downtime_s = self.policy.migration.max_estimated_downtime_ms as f64 / 1000.0;
        Some(scalelab_engine::planner::tolerable_mbps(
            v.memory_mib as f64,
            v.dirty_rate_mib_s(),
            pre,
            stop.min(max_downtime_s),
            &self.params,
            self.path_capacity_mbps(mig.src, mig.dst),
        ))
    }
}
