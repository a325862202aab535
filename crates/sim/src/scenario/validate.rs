//! Field-by-field checks of a parsed scenario; every error names its field path.

use super::limits::BYTES_PER_VM;
use super::*;
use crate::baselines::{Baseline, VmSelection};

impl Scenario {
    pub fn validate(&self) -> Result<(), InputError> {
        ensure(!self.name.trim().is_empty(), "name", || {
            "must not be empty".into()
        })?;
        ensure(self.duration_s > 0, "duration_s", || "must be > 0".into())?;
        ensure(self.control_interval_s > 0, "control_interval_s", || {
            "must be > 0".into()
        })?;
        let sample = self.sample_interval_s();
        ensure(
            sample > 0 && self.control_interval_s % sample == 0,
            "sample_interval_s",
            || {
                format!(
                    "must be > 0 and divide control_interval_s ({}), got {sample}",
                    self.control_interval_s
                )
            },
        )?;
        let record = self.record_interval_s();
        ensure(
            record > 0 && record % sample == 0,
            "record_interval_s",
            || format!("must be a multiple of sample_interval_s ({sample}), got {record}"),
        )?;
        self.policy.validate().map_err(|e| e.within("policy"))?;
        self.validate_sim().map_err(|e| e.within("sim"))?;
        self.validate_cooldowns()?;
        ensure(!self.nodes.is_empty(), "nodes", || {
            "at least one node group is needed".into()
        })?;
        ensure(!self.vms.is_empty(), "vms", || {
            "at least one VM group is needed".into()
        })?;
        // Hard caps before anything is expanded: validating a billion VM names would
        // itself exhaust the machine.
        let vms: u64 = self.vms.iter().map(|g| g.count as u64).sum();
        let nodes: u64 = self.nodes.iter().map(|g| g.count as u64).sum();
        ensure(vms <= MAX_VMS, "vms", || {
            format!(
                "{vms} VMs (estimated {:.0} GiB), above the limit of {MAX_VMS} per scenario",
                vms as f64 * BYTES_PER_VM / (1024.0 * 1024.0 * 1024.0)
            )
        })?;
        ensure(nodes <= MAX_NODES, "nodes", || {
            format!("{nodes} nodes, above the limit of {MAX_NODES} per scenario")
        })?;

        let mut node_names: BTreeMap<String, usize> = BTreeMap::new();
        for (i, g) in self.nodes.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("nodes[{i}]"));
            validate_node_group(g).map_err(at)?;
            for k in 0..g.count {
                let n = member_name(&g.name, g.count, k);
                if node_names.insert(n.clone(), i).is_some() {
                    return Err(at(InputError::field(
                        "name",
                        format!("node name {n:?} is used twice"),
                    )));
                }
            }
        }
        let racks = self.racks();
        if let Some(bw) = self.network.inter_rack_mbps {
            check_positive("network.inter_rack_mbps", bw)?;
        }
        for (i, l) in self.network.links.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("network.links[{i}]"));
            for r in &l.racks {
                ensure(racks.contains(r), "racks", || format!("unknown rack {r:?}")).map_err(at)?;
            }
            check_positive("mbps", l.mbps).map_err(at)?;
        }
        let mut vm_names = BTreeSet::new();
        for (i, g) in self.vms.iter().enumerate() {
            let at = |e: InputError| e.within(&format!("vms[{i}]"));
            ensure(!g.name.trim().is_empty(), "name", || {
                "must not be empty".into()
            })
            .map_err(at)?;
            ensure(g.count >= 1, "count", || "must be at least 1".into()).map_err(at)?;
            ensure(g.vcpus >= 1, "vcpus", || "must be at least 1".into()).map_err(at)?;
            ensure(g.memory_mib > 0, "memory_mib", || "must be > 0".into()).map_err(at)?;
            check_non_negative("dirty_rate_mib_s", g.dirty_rate_mib_s).map_err(at)?;
            ensure(
                g.resident_memory_frac > 0.0 && g.resident_memory_frac <= 1.0,
                "resident_memory_frac",
                || format!("must be in (0, 1], got {}", g.resident_memory_frac),
            )
            .map_err(at)?;
            for (k, n) in g.nodes.iter().enumerate() {
                ensure(node_names.contains_key(n), &format!("nodes[{k}]"), || {
                    format!("unknown node {n:?}")
                })
                .map_err(at)?;
            }
            g.workload
                .validate()
                .map_err(|e| at(e.within("workload")))?;
            for k in 0..g.count {
                let n = member_name(&g.name, g.count, k);
                if !vm_names.insert(n.clone()) {
                    return Err(at(InputError::field(
                        "name",
                        format!("VM name {n:?} is used twice"),
                    )));
                }
            }
        }
        for (i, f) in self.failures.iter().enumerate() {
            self.validate_failure(f, &node_names, &vm_names, &racks)
                .map_err(|e| e.within(&format!("failures[{i}]")))?;
        }
        check_range(
            "stochastic.step_failure_prob",
            self.stochastic.step_failure_prob,
            0.0,
            1.0,
        )?;
        let d = &self.stochastic.step_durations;
        d.validation_s
            .validate("stochastic.step_durations.validation_s")?;
        d.verification_s
            .validate("stochastic.step_durations.verification_s")?;
        d.cleanup_s
            .validate("stochastic.step_durations.cleanup_s")?;
        let largest = self.nodes.iter().map(|g| g.memory_mib).max().unwrap_or(0);
        for (i, g) in self.vms.iter().enumerate() {
            ensure(
                g.memory_mib <= largest,
                &format!("vms[{i}].memory_mib"),
                || {
                    format!(
                        "{} MiB is more than any node has (the largest has {largest} MiB)",
                        g.memory_mib
                    )
                },
            )?;
        }
        self.validate_speeds()?;
        self.validate_power()?;
        Ok(())
    }

    /// `[power]`: nothing to save without power models, nothing to set under the
    /// CloudSim profile (its hosts always switch off when empty), and a floor the
    /// cluster can hold.
    fn validate_power(&self) -> Result<(), InputError> {
        let p = &self.power;
        if self.policy.consolidation.enabled {
            let field = "policy.consolidation.enabled";
            ensure(self.sim.baseline.is_none(), field, || {
                "is the engine's consolidation, but sim.baseline runs a baseline instead; \
                 use sim.consolidate for a Beloglazov baseline"
                    .into()
            })?;
            ensure(self.nodes.iter().any(|g| g.power.is_some()), field, || {
                "no node has a power model: consolidation saves energy the run cannot \
                     measure; give the nodes `power`"
                    .into()
            })?;
            // The CloudSim profile switches empty hosts off by itself.
            ensure(self.compat.is_some() || p.switch_off_empty, field, || {
                "empties hosts to switch them off, but [power] switch_off_empty is not set, \
                 so they would stay on"
                    .into()
            })?;
        }
        if p.is_default() {
            return Ok(());
        }
        ensure(self.compat.is_none(), "power", || {
            "the CloudSim profile switches every empty host off itself; remove [power] or \
             the [compat] section"
                .into()
        })?;
        ensure(
            !p.switch_off_empty || self.nodes.iter().any(|g| g.power.is_some()),
            "power.switch_off_empty",
            || {
                "no node has a power model, so switching nodes off saves nothing the run \
                 can measure; give the nodes `power` or leave it off"
                    .into()
            },
        )?;
        ensure(p.empty_for_s < self.duration_s, "power.empty_for_s", || {
            format!(
                "{} s is not shorter than the run ({} s): no node would ever switch off",
                p.empty_for_s, self.duration_s
            )
        })?;
        let nodes: u64 = self.nodes.iter().map(|g| g.count as u64).sum();
        ensure(p.min_nodes_on as u64 <= nodes, "power.min_nodes_on", || {
            format!("{} is more than the {nodes} nodes", p.min_nodes_on)
        })?;
        Ok(())
    }

    /// Unlike CPUs (`core_mips`, VM `mips`) and the CloudSim profile's requirements.
    fn validate_speeds(&self) -> Result<(), InputError> {
        for (i, g) in self.nodes.iter().enumerate() {
            if let Some(m) = g.core_mips {
                check_range(&format!("nodes[{i}].core_mips"), m, 1e-3, 1e9)?;
            }
        }
        for (i, g) in self.vms.iter().enumerate() {
            if let Some(m) = g.mips {
                check_range(&format!("vms[{i}].mips"), m, 1e-3, 1e9)?;
            }
            let end = self.duration_s as f64;
            if let Some(a) = g.arrive_s {
                ensure(
                    a.is_finite() && (0.0..end).contains(&a),
                    &format!("vms[{i}].arrive_s"),
                    || format!("must be within the run (0 to {end} s), got {a}"),
                )?;
            }
            if g.trace_lifecycle {
                ensure(
                    matches!(g.workload, WorkloadSpec::Trace(_)),
                    &format!("vms[{i}].trace_lifecycle"),
                    || "needs a trace workload: the trace says when each VM existed".into(),
                )?;
                ensure(
                    g.arrive_s.is_none() && g.depart_s.is_none(),
                    &format!("vms[{i}].trace_lifecycle"),
                    || "contradicts arrive_s / depart_s: keep one of the two".into(),
                )?;
            }
            if let Some(d) = g.depart_s {
                let from = g.arrive_s.unwrap_or(0.0);
                ensure(
                    d.is_finite() && d > from,
                    &format!("vms[{i}].depart_s"),
                    || format!("must come after the VMs arrive ({from} s), got {d}"),
                )?;
            }
        }
        for (i, g) in self.nodes.iter().enumerate() {
            for (f, v) in [("boot_s", g.boot_s), ("boot_energy_j", g.boot_energy_j)] {
                if let Some(v) = v {
                    ensure(
                        v.is_finite() && v >= 0.0,
                        &format!("nodes[{i}].{f}"),
                        || format!("must be 0 or more, got {v}"),
                    )?;
                }
            }
        }
        // Speeds are all or nothing: a core without one, beside cores with one, has no
        // meaning (and a VM without a size cannot be compared with a host's cores).
        let first_speed = self
            .nodes
            .iter()
            .position(|g| g.core_mips.is_some())
            .map(|i| format!("nodes[{i}].core_mips"))
            .or_else(|| {
                self.vms
                    .iter()
                    .position(|g| g.mips.is_some())
                    .map(|i| format!("vms[{i}].mips"))
            });
        if let Some(first) = &first_speed {
            let missing = self
                .nodes
                .iter()
                .position(|g| g.core_mips.is_none())
                .map(|i| format!("nodes[{i}].core_mips"))
                .or_else(|| {
                    self.vms
                        .iter()
                        .position(|g| g.mips.is_none())
                        .map(|i| format!("vms[{i}].mips"))
                });
            if let Some(field) = missing {
                return Err(InputError::field(
                    field,
                    format!(
                        "missing: {first} gives speeds in MIPS, so every node group needs \
                         core_mips and every VM group mips"
                    ),
                ));
            }
        }
        let Some(compat) = &self.compat else {
            // scalelab's own model: a service group's replicas come and go by scale
            // out / in, sharing the group's load; a schedule of their own would fight it.
            if let Some(i) = self.vms.iter().position(|g| {
                g.service_group.is_some()
                    && (g.arrive_s.is_some() || g.depart_s.is_some() || g.trace_lifecycle)
            }) {
                let g = &self.vms[i];
                let f = if g.arrive_s.is_some() {
                    "arrive_s"
                } else if g.depart_s.is_some() {
                    "depart_s"
                } else {
                    "trace_lifecycle"
                };
                return Err(InputError::field(
                    format!("vms[{i}].{f}"),
                    "a service group's VMs come and go by scale out / in, not on a schedule: \
                     remove it or the group's service_group",
                ));
            }
            return Ok(());
        };
        let _ = compat.profile;
        ensure(
            compat.migrations == CompatMigrations::Cloudsim || !self.policy.migration.auto_converge,
            "policy.migration.auto_converge",
            || {
                "auto-converge is not modelled by the CloudSim profile's pre-copy migrations; \
                 turn it off or run without [compat]"
                    .into()
            },
        )?;
        if compat.migrations == CompatMigrations::Cloudsim {
            if let Some(i) = self.vms.iter().position(|g| g.dirty_rate_mib_s != 0.0) {
                return Err(InputError::field(
                    format!("vms[{i}].dirty_rate_mib_s"),
                    "CloudSim's migrations copy RAM once and ignore dirty memory; set \
                     compat.migrations = \"precopy\" for scalelab's pre-copy model, or remove it",
                ));
            }
        }
        // No baseline: the engine decides in CloudSim's datacenter (cloudsim/engine.rs).
        if self.sim.baseline == Some(Baseline::Watcher) {
            return Err(InputError::field(
                "sim.baseline",
                "watcher_workload_balance is not part of CloudSim; use it without [compat]",
            ));
        }
        ensure(self.failures.is_empty(), "failures", || {
            "CloudSim's model has no failures; remove them or the [compat] section".into()
        })?;
        ensure(
            self.stochastic.step_failure_prob == 0.0,
            "stochastic.step_failure_prob",
            || "CloudSim's migrations never fail; it must be 0 under [compat]".into(),
        )?;
        ensure(
            self.sample_interval_s() == self.control_interval_s,
            "sample_interval_s",
            || {
                format!(
                    "CloudSim has one scheduling interval: must equal control_interval_s ({})",
                    self.control_interval_s
                )
            },
        )?;
        for (i, g) in self.nodes.iter().enumerate() {
            let at = |f: &str| format!("nodes[{i}].{f}");
            ensure(g.power.is_some(), &at("power"), || {
                "the CloudSim profile switches hosts off and counts their energy: every \
                 node needs a power model"
                    .into()
            })?;
            ensure(g.core_mips.is_some(), &at("core_mips"), || {
                "the CloudSim profile needs each node's speed per core in MIPS".into()
            })?;
            ensure(g.cores.fract() == 0.0, &at("cores"), || {
                format!("CloudSim hosts have whole cores (PEs), got {}", g.cores)
            })?;
        }
        for (i, g) in self.vms.iter().enumerate() {
            ensure(g.mips.is_some(), &format!("vms[{i}].mips"), || {
                "the CloudSim profile needs each VM's size per vCPU in MIPS".into()
            })?;
        }
        Ok(())
    }

    /// Cooldowns the scenario sets must fit in the run (a cooldown longer than the run
    /// allows one action of its kind, all day: most likely milliseconds written as
    /// seconds), and the deprecated per-interval form cannot be mixed with the new one.
    fn validate_cooldowns(&self) -> Result<(), InputError> {
        if let (Some(n), Some(s)) = (
            self.sim.scale_cooldown_intervals,
            self.deprecated_cooldown_s(),
        ) {
            ensure(
                self.policy.cooldowns.is_unset(),
                "sim.scale_cooldown_intervals",
                || {
                    "contradicts policy.cooldowns: keep policy.cooldowns (seconds, per \
                     action) and remove sim.scale_cooldown_intervals"
                        .into()
                },
            )?;
            ensure(s < self.duration_s, "sim.scale_cooldown_intervals", || {
                format!(
                    "{n} intervals of {} s is {s} s, not shorter than the run ({} s): one \
                     scale action per VM for the whole run",
                    self.control_interval_s, self.duration_s
                )
            })?;
        }
        for (key, v) in self.policy.cooldowns.set() {
            ensure(
                v < self.duration_s,
                &format!("policy.cooldowns.{key}"),
                || {
                    format!(
                        "{v} s is not shorter than the run ({} s): one action of this kind per \
                     VM for the whole run",
                        self.duration_s
                    )
                },
            )?;
        }
        Ok(())
    }

    fn validate_sim(&self) -> Result<(), InputError> {
        let s = &self.sim;
        check_range(
            "migration_cpu_overhead_frac",
            s.migration_cpu_overhead_frac,
            0.0,
            1.0,
        )?;
        ensure(
            s.actual_window_intervals >= 1,
            "actual_window_intervals",
            || "must be at least 1".into(),
        )?;
        check_positive("vcpu_overcommit", s.vcpu_overcommit)?;
        ensure(s.max_replicas >= 1, "max_replicas", || {
            "must be at least 1".into()
        })?;
        if let Some(p) = s.baseline_parameter {
            let Some(b) = s.baseline else {
                return Err(InputError::field(
                    "baseline_parameter",
                    "is the parameter of a baseline, but no `baseline` is set",
                ));
            };
            match b {
                Baseline::Thr | Baseline::Watcher => {
                    check_range("baseline_parameter", p, 1e-6, 1.0)?
                }
                _ => check_range("baseline_parameter", p, 0.0, 1e3)?,
            }
            ensure(
                b != Baseline::Watcher || p == b.default_parameter(),
                "baseline_parameter",
                || {
                    format!(
                        "watcher_workload_balance runs with its published threshold ({})",
                        b.default_parameter()
                    )
                },
            )?;
        }
        let beloglazov = s.baseline.is_some_and(Baseline::is_beloglazov);
        ensure(
            beloglazov || s.vm_selection == VmSelection::Mmt,
            "vm_selection",
            || {
                format!(
                    "selects the VMs of a Beloglazov baseline (beloglazov_thr, _iqr, _mad, \
                     _lr, _lrr), which this scenario does not run; {} needs one",
                    s.vm_selection.name()
                )
            },
        )?;
        if s.consolidate {
            ensure(self.compat.is_none(), "consolidate", || {
                "the CloudSim profile always consolidates; remove it or the [compat] section".into()
            })?;
            ensure(beloglazov, "consolidate", || {
                "is CloudSim's underload consolidation, part of the Beloglazov baselines \
                 (beloglazov_thr, _iqr, _mad, _lr, _lrr); set one as `baseline`"
                    .into()
            })?;
            ensure(self.power.switch_off_empty, "consolidate", || {
                "empties hosts to switch them off, but [power] switch_off_empty is not set, \
                 so they would stay on"
                    .into()
            })?;
        }
        Ok(())
    }

    fn validate_failure(
        &self,
        f: &FailureSpec,
        nodes: &BTreeMap<String, usize>,
        vms: &BTreeSet<String>,
        racks: &BTreeSet<String>,
    ) -> Result<(), InputError> {
        let at_s = f.at_s();
        ensure(
            at_s.is_finite() && at_s >= 0.0 && at_s < self.duration_s as f64,
            "at_s",
            || {
                format!(
                    "must be within the run (0 to {} s), got {at_s}",
                    self.duration_s
                )
            },
        )?;
        let node = |n: &str| {
            ensure(nodes.contains_key(n), "node", || {
                format!("unknown node {n:?}")
            })
        };
        let vm = |n: &str| ensure(vms.contains(n), "vm", || format!("unknown VM {n:?}"));
        let rack_pair = |r: &[String; 2]| {
            for x in r {
                ensure(racks.contains(x), "racks", || format!("unknown rack {x:?}"))?;
            }
            ensure(r[0] != r[1], "racks", || {
                "must name two different racks".into()
            })
        };
        match f {
            FailureSpec::NodeCrash {
                node: n,
                recover_after_s,
                ..
            } => {
                node(n)?;
                if let Some(r) = recover_after_s {
                    check_positive("recover_after_s", *r)?;
                }
            }
            FailureSpec::LinkDegrade {
                duration_s,
                factor,
                node: n,
                racks: r,
                ..
            } => {
                check_positive("duration_s", *duration_s)?;
                ensure(*factor > 0.0 && *factor <= 1.0, "factor", || {
                    format!("must be above 0 and at most 1 (use partition for 0), got {factor}")
                })?;
                match (n, r) {
                    (Some(n), None) => node(n)?,
                    (None, Some(r)) => rack_pair(r)?,
                    _ => {
                        return Err(InputError::field(
                            "node",
                            "give exactly one of `node` (a NIC) or `racks` (an inter-rack link)",
                        ));
                    }
                }
            }
            FailureSpec::Partition {
                duration_s,
                racks: r,
                ..
            } => {
                check_positive("duration_s", *duration_s)?;
                rack_pair(r)?;
            }
            FailureSpec::DirtyRateSpike {
                duration_s,
                vm: v,
                factor,
                ..
            } => {
                check_positive("duration_s", *duration_s)?;
                vm(v)?;
                check_positive("factor", *factor)?;
            }
            FailureSpec::LoadSpike {
                duration_s,
                node: n,
                extra_cores,
                ..
            } => {
                check_positive("duration_s", *duration_s)?;
                node(n)?;
                // As node cores: utilization (load / cores) must stay finite, also in the
                // record's single-precision series.
                check_range("extra_cores", *extra_cores, 0.0, 1e6)?;
            }
            FailureSpec::VmHang {
                duration_s, vm: v, ..
            } => {
                check_positive("duration_s", *duration_s)?;
                vm(v)?;
            }
        }
        Ok(())
    }
}

fn validate_node_group(g: &NodeGroup) -> Result<(), InputError> {
    ensure(!g.name.trim().is_empty(), "name", || {
        "must not be empty".into()
    })?;
    ensure(g.count >= 1, "count", || "must be at least 1".into())?;
    // Bounds keep utilization (demand / cores) and transfer times finite.
    check_range("cores", g.cores, 0.01, 1e6)?;
    ensure(g.memory_mib > 0, "memory_mib", || "must be > 0".into())?;
    check_range("nic_mbps", g.nic_mbps, 0.001, 1e9)?;
    ensure(g.rack.is_none() || g.racks.is_empty(), "racks", || {
        "give either `rack` or `racks`, not both".into()
    })?;
    if let Some(p) = &g.power {
        ensure(p.watts().is_some(), "power", || {
            "must be \"hp_ml110_g4\", \"hp_ml110_g5\" or 11 wattages (0 %, 10 %, ..., 100 % load)"
                .into()
        })?;
        if let Some(w) = p.watts() {
            ensure(
                w.iter().all(|x| x.is_finite() && *x >= 0.0),
                "power",
                || "wattages must be finite and >= 0".into(),
            )?;
        }
    }
    if let Some(m) = g.mtbf_s {
        check_positive("mtbf_s", m)?;
    }
    check_positive("mttr_s", g.mttr_s)?;
    check_positive("weibull_shape", g.weibull_shape)?;
    Ok(())
}
