//! The `scalelab decide` input: VM metric histories plus a cluster snapshot, turned
//! into one round of decisions.
//!
//! # Format (JSON)
//!
//! ```json
//! {
//!   "timestamp_ms": 1700000000000,
//!   "sample_interval_s": 300,
//!   "cluster": { "nodes": [...], "vms": [...],
//!                "inter_rack_bandwidth_mbps": 1000, "in_flight": [] },
//!   "hosts":   [ { "node_id": "node-01", "cpu": [0.71, 0.78, ...] } ],
//!   "metrics": [ { "vm_id": "vm-001", "cpu": [...], "memory": [...],
//!                  "disk": [...], "network": [...],
//!                  "last_scaled_ms": 1699999400000, "last_migrated_ms": null } ]
//! }
//! ```
//!
//! Every series is oldest first, in fractions of capacity (VM series relative to the
//! VM's own allocation, host series relative to the node). Resources without a series
//! get no decision. A node without a `hosts` entry uses its snapshot
//! `cpu_utilization` as current, average and peak. Each series feeds the configured
//! forecaster; current / average / peak come from its last `window_s` seconds of samples.
//! `last_scaled_ms` and `last_migrated_ms` (optional) start the policy's cooldowns: a
//! VM scaled less than an action's cooldown ago gets NO_ACTION, saying what waits.

use serde::{Deserialize, Serialize};

use crate::cluster::ClusterSnapshot;
use crate::consolidation::HostLoad;
use crate::engine::{Engine, ResourceObservation, VmObservation};
use crate::forecast::Forecaster;
use crate::input::{InputError, ensure, from_json_str};
use crate::model::{ResourceType, ScalingDecision};
use crate::policy::PolicyConfig;
use crate::rules::UtilStats;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideInput {
    pub timestamp_ms: i64,
    pub sample_interval_s: u64,
    pub cluster: ClusterSnapshot,
    #[serde(default)]
    pub hosts: Vec<HostSeries>,
    pub metrics: Vec<VmSeries>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSeries {
    pub node_id: String,
    pub cpu: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmSeries {
    pub vm_id: String,
    #[serde(default)]
    pub cpu: Option<Vec<f64>>,
    #[serde(default)]
    pub memory: Option<Vec<f64>>,
    #[serde(default)]
    pub disk: Option<Vec<f64>>,
    #[serde(default)]
    pub network: Option<Vec<f64>>,
    /// When the VM or its group was last scaled, epoch ms (the policy's cooldowns
    /// count from it).
    #[serde(default)]
    pub last_scaled_ms: Option<i64>,
    /// When the VM last switched over to a new host, epoch ms.
    #[serde(default)]
    pub last_migrated_ms: Option<i64>,
}

impl VmSeries {
    fn series(&self) -> [(ResourceType, Option<&Vec<f64>>); 4] {
        [
            (ResourceType::Cpu, self.cpu.as_ref()),
            (ResourceType::Memory, self.memory.as_ref()),
            (ResourceType::Disk, self.disk.as_ref()),
            (ResourceType::Network, self.network.as_ref()),
        ]
    }
}

/// Utilization samples may exceed 1 (demand beyond capacity) but never this much: a
/// larger value is a unit mistake (percent instead of fraction), reported as such.
pub const MAX_UTILIZATION: f64 = 10.0;

fn check_series(path: &str, xs: &[f64]) -> Result<(), InputError> {
    ensure(!xs.is_empty(), path, || {
        "must have at least one sample".into()
    })?;
    for (i, &x) in xs.iter().enumerate() {
        ensure(
            x.is_finite() && (0.0..=MAX_UTILIZATION).contains(&x),
            &format!("{path}[{i}]"),
            || format!("utilization must be a fraction between 0 and {MAX_UTILIZATION}, got {x}"),
        )?;
    }
    Ok(())
}

impl DecideInput {
    pub fn from_json_str(src: &str) -> Result<Self, InputError> {
        let input: Self = from_json_str(src)?;
        input.validate()?;
        Ok(input)
    }

    pub fn validate(&self) -> Result<(), InputError> {
        ensure(self.sample_interval_s > 0, "sample_interval_s", || {
            "must be > 0".into()
        })?;
        self.cluster.validate().map_err(|e| e.within("cluster"))?;
        let nodes: std::collections::HashSet<&str> =
            self.cluster.nodes.iter().map(|n| n.id.as_str()).collect();
        let vms: std::collections::HashSet<&str> =
            self.cluster.vms.iter().map(|v| v.id.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        for (i, h) in self.hosts.iter().enumerate() {
            let at = format!("hosts[{i}]");
            ensure(
                nodes.contains(h.node_id.as_str()),
                &format!("{at}.node_id"),
                || format!("unknown node {:?} (not in cluster.nodes)", h.node_id),
            )?;
            ensure(
                seen.insert(h.node_id.as_str()),
                &format!("{at}.node_id"),
                || format!("node {:?} listed twice", h.node_id),
            )?;
            check_series(&format!("{at}.cpu"), &h.cpu)?;
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.metrics.iter().enumerate() {
            let at = format!("metrics[{i}]");
            ensure(
                vms.contains(m.vm_id.as_str()),
                &format!("{at}.vm_id"),
                || format!("unknown vm {:?} (not in cluster.vms)", m.vm_id),
            )?;
            ensure(
                seen.insert(m.vm_id.as_str()),
                &format!("{at}.vm_id"),
                || format!("vm {:?} listed twice", m.vm_id),
            )?;
            for (r, s) in m.series() {
                if let Some(s) = s {
                    check_series(&format!("{at}.{r}"), s)?;
                }
            }
            for (key, t) in [
                ("last_scaled_ms", m.last_scaled_ms),
                ("last_migrated_ms", m.last_migrated_ms),
            ] {
                if let Some(t) = t {
                    ensure(t <= self.timestamp_ms, &format!("{at}.{key}"), || {
                        format!(
                            "{t} is after the round's timestamp_ms ({}): a cooldown cannot \
                             start in the future",
                            self.timestamp_ms
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    /// One round of decisions for every VM with metrics, in input order.
    pub fn decide(&self, engine: &Engine) -> Vec<ScalingDecision> {
        let p = engine.policy();
        let observe = |r: ResourceType, xs: &[f64]| -> ResourceObservation {
            observation(p, r, xs, self.sample_interval_s)
        };
        let host_obs: std::collections::HashMap<&str, ResourceObservation> = self
            .hosts
            .iter()
            .map(|h| (h.node_id.as_str(), observe(ResourceType::Cpu, &h.cpu)))
            .collect();
        let vm_node: std::collections::HashMap<&str, &str> = self
            .cluster
            .vms
            .iter()
            .map(|v| (v.id.as_str(), v.node_id.as_str()))
            .collect();
        let obs: Vec<VmObservation> = self
            .metrics
            .iter()
            .map(|m| {
                let node = vm_node.get(m.vm_id.as_str()).copied().unwrap_or_default();
                let host_cpu = host_obs.get(node).cloned().or_else(|| {
                    let n = self.cluster.nodes.iter().find(|n| n.id == node)?;
                    Some(ResourceObservation {
                        resource_type: ResourceType::Cpu,
                        stats: UtilStats {
                            current: n.cpu_utilization,
                            avg: n.cpu_utilization,
                            peak: n.cpu_utilization,
                        },
                        forecast: None,
                    })
                });
                VmObservation {
                    vm_id: m.vm_id.clone(),
                    resources: m
                        .series()
                        .into_iter()
                        .filter_map(|(r, s)| s.map(|s| observe(r, s)))
                        .collect(),
                    host_cpu,
                    last_scaled_ms: m.last_scaled_ms,
                    last_migrated_ms: m.last_migrated_ms,
                }
            })
            .collect();
        let mut decisions = engine.decide(self.timestamp_ms, Some(&self.cluster), &obs);
        if p.consolidation.enabled {
            self.consolidate(engine, &host_obs, &mut decisions);
        }
        decisions
    }

    /// With `[consolidation]` on: the round's consolidation after its other decisions,
    /// on the cluster as those leave it (their moves in flight, their targets loaded).
    /// Each MIGRATE replaces the CPU decision of its VM, or is added for a VM without
    /// metrics (a host's VMs all move or none does).
    fn consolidate(
        &self,
        engine: &Engine,
        host_obs: &std::collections::HashMap<&str, ResourceObservation>,
        decisions: &mut Vec<ScalingDecision>,
    ) {
        let loads: Vec<HostLoad> = self
            .cluster
            .nodes
            .iter()
            .map(|n| HostLoad {
                node_id: n.id.clone(),
                stats: host_obs.get(n.id.as_str()).map_or(
                    UtilStats {
                        current: n.cpu_utilization,
                        avg: n.cpu_utilization,
                        peak: n.cpu_utilization,
                    },
                    |o| o.stats,
                ),
            })
            .collect();
        for c in engine.consolidate_after(self.timestamp_ms, &self.cluster, decisions, &loads) {
            let own = decisions
                .iter_mut()
                .find(|d| d.vm_id == c.decision.vm_id && d.resource_type == ResourceType::Cpu);
            match own {
                Some(d) => *d = c.decision,
                None => decisions.push(c.decision),
            }
        }
    }
}

/// Stats over the policy's window and a forecast fed with the whole series.
pub fn observation(
    p: &PolicyConfig,
    resource_type: ResourceType,
    xs: &[f64],
    step_seconds: u64,
) -> ResourceObservation {
    let window = &xs[xs.len().saturating_sub(p.window_len(step_seconds))..];
    let mut f = Forecaster::new(&p.forecast);
    for &x in xs {
        f.observe(x);
    }
    ResourceObservation {
        resource_type,
        stats: UtilStats::from_window(window),
        forecast: f.forecast(resource_type, step_seconds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScalingAction;

    const SAMPLE: &str = include_str!("../../../examples/decide-input.json");

    #[test]
    fn the_shipped_sample_is_valid_and_migrates_off_the_hot_host() {
        let input = DecideInput::from_json_str(SAMPLE).unwrap();
        let decisions = input.decide(&Engine::default());
        assert!(!decisions.is_empty());
        let migrations: Vec<_> = decisions
            .iter()
            .filter(|d| d.action == crate::model::ScalingAction::Migrate)
            .collect();
        assert!(!migrations.is_empty(), "the sample shows a migration");
        for m in migrations {
            assert!(m.target_node_id.is_some() && m.migration_plan.is_some());
        }
    }

    #[test]
    fn consolidation_empties_the_underloaded_host_of_a_batch() {
        let node = |id: &str, util: f64| {
            format!(
                r#"{{"id": "{id}", "cores": 8, "cpu_utilization": {util}, "memory_mib": 65536,
                    "free_memory_mib": 32768, "bandwidth_mbps": 10000}}"#
            )
        };
        let vm = |id: &str, node: &str, demand: f64| {
            format!(
                r#"{{"id": "{id}", "node_id": "{node}", "vcpus": 2, "memory_mib": 2048,
                    "cpu_demand_cores": {demand}}}"#
            )
        };
        let src = format!(
            r#"{{"timestamp_ms": 0, "sample_interval_s": 300,
                "cluster": {{"nodes": [{}, {}, {}], "vms": [{}, {}, {}]}},
                "metrics": [{{"vm_id": "a", "cpu": [0.4, 0.4, 0.4]}}]}}"#,
            node("n0", 0.1),
            node("n1", 0.5),
            node("n2", 0.3),
            vm("a", "n0", 0.8),
            vm("b", "n1", 4.0),
            vm("c", "n2", 2.4),
        );
        let input = DecideInput::from_json_str(&src).unwrap();
        // Without consolidation a's own CPU (0.4 of 2 vCPUs) calls for nothing.
        let plain = input.decide(&Engine::default());
        assert_eq!(plain.len(), 1);
        assert_eq!(plain[0].action, ScalingAction::NoAction);
        // With it: n0 (0.1) is below 0.2; a (0.1 of n1's 8 cores) goes to the fullest
        // node at or below 0.6, n1 (0.5 -> 0.6), and replaces a's own decision.
        let p = PolicyConfig::from_toml_str("[consolidation]\nenabled = true").unwrap();
        let ds = input.decide(&Engine::new(p));
        assert_eq!(ds.len(), 1);
        assert_eq!(ds[0].action, ScalingAction::Migrate);
        assert_eq!(ds[0].target_node_id.as_deref(), Some("n1"));
        assert!((ds[0].target_value - 0.6).abs() < 1e-9);
    }

    fn err(src: &str) -> InputError {
        DecideInput::from_json_str(src).unwrap_err()
    }

    fn with(patch: impl Fn(&mut serde_json::Value)) -> String {
        let mut v: serde_json::Value = serde_json::from_str(SAMPLE).unwrap();
        patch(&mut v);
        v.to_string()
    }

    #[test]
    fn bad_input_names_the_field() {
        let e = err(&with(|v| {
            v["cluster"]["vms"][1]["node_id"] = "ghost".into()
        }));
        assert_eq!(e.path, "cluster.vms[1].node_id");
        let e = err(&with(|v| v["cluster"]["nodes"][0]["cores"] = (-4.0).into()));
        assert_eq!(e.path, "cluster.nodes[0].cores");
        let e = err(&with(|v| v["metrics"][0]["cpu"][3] = (-0.5).into()));
        assert_eq!(e.path, "metrics[0].cpu[3]");
        let e = err(&with(|v| v["metrics"][0]["cpu"][3] = 75.into()));
        assert!(e.message.contains("fraction"), "{e}");
        let e = err(&with(|v| v["metrics"][0]["vm_id"] = "nobody".into()));
        assert_eq!(e.path, "metrics[0].vm_id");
        let e = err(&with(|v| {
            v.as_object_mut().unwrap().remove("cluster");
        }));
        assert!(e.message.contains("missing field `cluster`"), "{e}");
        let e = err(&with(|v| v["hosts"][0]["node_id"] = "nope".into()));
        assert_eq!(e.path, "hosts[0].node_id");
        let e = err(&with(|v| v["metrics"][0]["cpu"] = serde_json::json!([])));
        assert_eq!(e.path, "metrics[0].cpu");
        let e = err("{\"timestamp_ms\": NaN}");
        assert_eq!(e.line, Some(1));
        let e = err(&with(|v| v["cluster"]["nodes"][0]["colour"] = "red".into()));
        assert!(e.message.contains("colour"), "{e}");
    }
}
