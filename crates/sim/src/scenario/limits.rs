//! What a run will need (memory, time), estimated before it starts, and the limits
//! that refuse a scenario which would exhaust the machine.

use super::*;

/// Up-front limits on what a run may need, so a scenario that would exhaust the
/// machine is refused with its estimate instead of dying half-way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResourceLimits {
    pub max_memory_bytes: f64,
    pub max_seconds: f64,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 8.0 * 1024.0 * 1024.0 * 1024.0,
            max_seconds: 3600.0,
        }
    }
}

/// What a run is expected to need.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub vms: u64,
    pub nodes: u64,
    pub vm_ticks: f64,
    pub memory_bytes: f64,
    pub seconds: f64,
}

/// Bytes per VM and per node the simulator keeps (state, window, forecaster), and the
/// VM-ticks per second it sustains: measured on the benchmark scenarios, rounded
/// pessimistically.
pub(super) const BYTES_PER_VM: f64 = 2_000.0;
const BYTES_PER_NODE: f64 = 2_000.0;
const VM_TICKS_PER_SECOND: f64 = 1_500_000.0;

/// Structural caps, checked before names are expanded (no flag lifts them).
pub const MAX_VMS: u64 = 20_000_000;
pub const MAX_NODES: u64 = 2_000_000;

impl Scenario {
    pub fn estimate(&self) -> Estimate {
        let vms: u64 = self.vms.iter().map(|g| g.count as u64).sum();
        let nodes: u64 = self.nodes.iter().map(|g| g.count as u64).sum();
        let samples = self.duration_s as f64 / self.sample_interval_s().max(1) as f64;
        let records = self.duration_s as f64 / self.record_interval_s().max(1) as f64;
        let vm_ticks = vms as f64 * samples;
        Estimate {
            vms,
            nodes,
            vm_ticks,
            memory_bytes: vms as f64 * BYTES_PER_VM
                + nodes as f64 * BYTES_PER_NODE
                + nodes as f64 * records * 5.0,
            seconds: vm_ticks / VM_TICKS_PER_SECOND + samples * 1e-6,
        }
    }

    /// Refuse a scenario whose estimate exceeds `limits`, naming the estimate.
    pub fn check_resources(&self, limits: &ResourceLimits) -> Result<Estimate, InputError> {
        let e = self.estimate();
        let gib = |b: f64| b / (1024.0 * 1024.0 * 1024.0);
        ensure(e.memory_bytes <= limits.max_memory_bytes, "vms", || {
            format!(
                "{} VMs on {} nodes need an estimated {:.1} GiB, above the limit of {:.1} GiB \
                 (override with --no-resource-limits)",
                e.vms,
                e.nodes,
                gib(e.memory_bytes),
                gib(limits.max_memory_bytes)
            )
        })?;
        ensure(e.seconds <= limits.max_seconds, "duration_s", || {
            format!(
                "{:.2e} VM samples ({} VMs x {} s / {} s) need an estimated {:.0} s, above the \
                 limit of {:.0} s (override with --no-resource-limits)",
                e.vm_ticks,
                e.vms,
                self.duration_s,
                self.sample_interval_s(),
                e.seconds,
                limits.max_seconds
            )
        })?;
        Ok(e)
    }
}
