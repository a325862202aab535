//! Building the cluster of a scenario: nodes from their templates, VMs placed at time 0
//! (listed nodes round-robin, else spread), the first events scheduled.

use super::*;

impl Simulation {
    /// Build the cluster of a validated scenario. `seed` overrides the scenario's.
    pub fn new(sc: Scenario, content_hash: String, seed: Option<u64>) -> Result<Self, SimError> {
        let mut sc = sc;
        if let Some(s) = seed {
            sc.seed = s;
        }
        let policy = sc.effective_policy();
        let window = policy.window_len(sc.sample_interval_s());
        let racks: Vec<String> = sc.racks().into_iter().collect();
        let rack_ix = |r: &str| racks.iter().position(|x| x == r).unwrap_or(0);
        let mut nodes = Vec::new();
        for (gi, i) in sc.node_members() {
            let g = &sc.nodes[gi];
            {
                let rack = match (&g.rack, g.racks.is_empty()) {
                    (Some(r), _) => rack_ix(r),
                    (None, false) => rack_ix(&g.racks[i as usize % g.racks.len()]),
                    (None, true) => rack_ix(""),
                };
                let core_speed = g.core_mips.map_or(1.0, |m| m / REF_MIPS);
                nodes.push(NodeRt {
                    id: member_name(&g.name, g.count, i),
                    rack,
                    cores: g.cores * core_speed,
                    core_count: g.cores,
                    core_speed,
                    memory_mib: g.memory_mib,
                    nic_mbps: g.nic_mbps,
                    power: g.power.as_ref().and_then(|p| p.watts()),
                    up: true,
                    pstate: PowerState::On,
                    crashed: false,
                    ready_ms: 0,
                    boot_ms: (g.boot_s.unwrap_or(0.0) * 1000.0).round() as TimeMs,
                    boot_energy_j: g.boot_energy_j.unwrap_or(0.0),
                    empty_since_ms: None,
                    nic_factor: 1.0,
                    background_cores: 0.0,
                    acct_ms: 0,
                    used_mem_mib: 0,
                    held_mem_mib: 0,
                    reserved_cores: 0.0,
                    load_cores: 0.0,
                    hist: Ring::new(window),
                    forecaster: Forecaster::new(&policy.forecast),
                    stats: UtilStats::default(),
                    summary: None,
                    migrations: 0,
                    mtbf_s: g.mtbf_s,
                    mttr_s: g.mttr_s,
                    dist: g.failure_distribution,
                    weibull_shape: g.weibull_shape,
                    vcpus_placed: 0,
                });
            }
        }
        let nr = racks.len();
        let mut link_mbps = vec![sc.network.inter_rack_mbps; nr * nr];
        for l in &sc.network.links {
            let (a, b) = (rack_ix(&l.racks[0]), rack_ix(&l.racks[1]));
            link_mbps[pair_index(nr, a, b)] = Some(l.mbps);
        }
        let mut groups: Vec<GroupRt> = Vec::new();
        let mut vms = Vec::new();
        let mut placements = Vec::new();
        let mut spread_cursor = 0usize;
        let duration_ms = sc.duration_s * 1000;
        // Arrivals and departures to schedule, in VM order.
        let mut lifecycle: Vec<(TimeMs, Ev)> = Vec::new();
        for (gi, g) in sc.vms.iter().enumerate() {
            let spec = std::sync::Arc::new(g.workload.clone());
            let trace = group_trace(gi, g)?;
            let shape_from_trace =
                matches!(&g.workload, WorkloadSpec::Trace(t) if t.shape_from_trace);
            for i in 0..g.count {
                let idx = vms.len();
                let tvm = trace.as_ref().map(|s| &s[i as usize]);
                let (vcpus, memory_mib) = match tvm {
                    Some(t) if shape_from_trace => (
                        t.vcpus.unwrap_or(g.vcpus),
                        t.memory_mib.unwrap_or(g.memory_mib),
                    ),
                    _ => (g.vcpus, g.memory_mib),
                };
                let group = g.service_group.as_ref().map(|name| {
                    match groups.iter().position(|x| &x.name == name) {
                        Some(k) => k,
                        None => {
                            groups.push(GroupRt {
                                name: name.clone(),
                                originals: Vec::new(),
                                active: Vec::new(),
                                last_scaled_ms: None,
                            });
                            groups.len() - 1
                        }
                    }
                });
                if let Some(k) = group {
                    groups[k].originals.push(idx);
                    groups[k].active.push(idx);
                }
                let name = member_name(&g.name, g.count, i);
                let (arrive_s, depart_s) = g.lifetime_s(tvm.map(|t| t.span_s), sc.duration_s);
                let arrive_ms = (arrive_s * 1000.0).round() as TimeMs;
                if let Some(d) = depart_s.map(|d| (d * 1000.0).round() as TimeMs) {
                    if d < duration_ms {
                        lifecycle.push((d.max(arrive_ms), Ev::VmDepart { vm: idx as u32 }));
                    }
                }
                let stream = derive(sc.seed, idx as u64 + 1);
                let shape = VmShape {
                    id: name.clone(),
                    vcpus,
                    vcpu_size: g.mips.map_or(1.0, |m| m / REF_MIPS),
                    memory_mib,
                    resident_frac: g.resident_memory_frac,
                    dirty_rate: g.dirty_rate_mib_s,
                    dirty_follows_cpu: g.dirty_rate_follows_cpu,
                    group,
                    anti_affinity: g.anti_affinity_group.clone(),
                };
                let mut vm = VmRt::new(shape, &policy, window);
                vm.workload = Some(Workload::trace_member(
                    spec.clone(),
                    i as usize,
                    Pcg32::new(stream, 1),
                ));
                if arrive_ms > 0 {
                    // Placed when it arrives (lifecycle.rs).
                    vm.status = VmStatus::Pending;
                    lifecycle.push((arrive_ms, Ev::VmArrive { vm: idx as u32 }));
                    vms.push(vm);
                    continue;
                }
                // Placement: the listed nodes round-robin, else spread over all nodes,
                // skipping nodes without memory for the VM.
                let node = if g.nodes.is_empty() {
                    let mut found = None;
                    for k in 0..nodes.len() {
                        let n = (spread_cursor + k) % nodes.len();
                        if nodes[n].free_mem_mib() >= memory_mib {
                            found = Some(n);
                            spread_cursor = n + 1;
                            break;
                        }
                    }
                    found
                } else {
                    let want = &g.nodes[i as usize % g.nodes.len()];
                    nodes
                        .iter()
                        .position(|n| &n.id == want)
                        .filter(|&n| nodes[n].free_mem_mib() >= memory_mib)
                };
                let Some(node) = node else {
                    return Err(SimError::Placement(format!(
                        "VM {name:?} ({} MiB) does not fit on {}",
                        memory_mib,
                        if g.nodes.is_empty() {
                            "any node".to_string()
                        } else {
                            format!("node {:?}", g.nodes[i as usize % g.nodes.len()])
                        }
                    )));
                };
                nodes[node].used_mem_mib += memory_mib;
                nodes[node].vcpus_placed += vcpus as u64;
                placements.push(PlacementChange {
                    t_ms: 0,
                    vm: idx as u32,
                    node: Some(node as u32),
                });
                vm.node = Some(node);
                vm.vcpu_cap = vm.vcpu_size.min(nodes[node].core_speed);
                vms.push(vm);
            }
        }
        let sample_ms = sc.sample_interval_s() * 1000;
        let has_power = nodes.iter().any(|n| n.power.is_some());
        let mut sim = Self {
            content_hash,
            engine: Engine::new(policy.clone()),
            params: PreCopyParams::from(&policy.migration),
            policy,
            q: EventQueue::new(),
            link_factor: vec![1.0; nr * nr],
            link_mbps,
            racks,
            nodes,
            vms,
            groups,
            migs: Vec::new(),
            records: Vec::new(),
            active: Vec::new(),
            rollback_check_pending: false,
            decisions: Vec::new(),
            events: Vec::new(),
            placements,
            series: Series {
                interval_ms: sc.record_interval_s() * 1000,
                ..Default::default()
            },
            metrics: RunMetrics::default(),
            rng_crash: Pcg32::new(derive(sc.seed, stream::CRASHES), 7),
            rng_steps: Pcg32::new(derive(sc.seed, stream::STEP_FAILURES), 7),
            rng_durations: Pcg32::new(derive(sc.seed, stream::STEP_DURATIONS), 9),
            rng_selection: Pcg32::new(derive(sc.seed, stream::VM_SELECTION), 5),
            last_tick_ms: 0,
            duration_ms,
            sample_ms,
            control_ms: sc.control_interval_s * 1000,
            record_ms: sc.record_interval_s() * 1000,
            active_ms: 0.0,
            overload_ms: 0.0,
            energy_j: 0.0,
            has_power,
            pdm_lost: 0.0,
            pdm_requested: 0.0,
            downtime_ms: 0,
            violations: Vec::new(),
            last_event_ms: 0,
            decision_counts: [0; 6],
            running_demand_cores: 0.0,
            node_vms: Vec::new(),
            snapshot_nodes: Vec::new(),
            sc,
        };
        sim.node_vms = vec![Vec::new(); sim.nodes.len()];
        for (i, v) in sim.vms.iter().enumerate() {
            if let Some(n) = v.node {
                sim.node_vms[n].push(i as u32);
            }
        }
        // Failures first: one at time t takes effect before the control round at t.
        for (i, f) in sim.sc.failures.iter().enumerate() {
            sim.q.schedule(
                (f.at_s() * 1000.0).round() as u64,
                Ev::FailureStart { idx: i as u32 },
            );
        }
        for (t, ev) in lifecycle {
            sim.q.schedule(t, ev);
        }
        sim.q.schedule(0, Ev::Tick);
        for n in 0..sim.nodes.len() {
            sim.schedule_stochastic_crash(n);
        }
        Ok(sim)
    }
}

/// The loaded series of a trace-driven VM group (`None` for other workloads), or why
/// the group cannot run: its trace was not loaded, or gave another number of VMs.
pub(crate) fn group_trace(
    gi: usize,
    g: &crate::scenario::VmGroup,
) -> Result<Option<std::sync::Arc<Vec<crate::workload::TraceVm>>>, SimError> {
    let WorkloadSpec::Trace(t) = &g.workload else {
        return Ok(None);
    };
    match &t.series {
        Some(s) if s.len() == g.count as usize => Ok(Some(s.clone())),
        Some(s) => Err(SimError::Trace(format!(
            "vms[{gi}] ({}) has count = {} but its trace gave {} VMs",
            g.name,
            g.count,
            s.len()
        ))),
        None => Err(SimError::Trace(format!(
            "vms[{gi}] ({}) replays the trace {:?}, which was not loaded \
             (scalelab run loads it from the trace data directory)",
            g.name, t.path
        ))),
    }
}
