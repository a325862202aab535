//! VMs that arrive and leave during a run (`arrive_s`, `depart_s`, `trace_lifecycle`).
//!
//! An arriving VM is placed by the policy's own rule for a new VM: the Beloglazov
//! baselines' power-aware best fit (which may wake a host that is off, and refuses a
//! VM that would overload every host), else the engine's rule for replicas and
//! restarts (the least utilized node that is on with room for its memory, else one
//! woken for it). A VM that finds no node is refused: it never runs, and the record
//! says so. A VM placed on a node that is still booting starts when the node serves.
//!
//! A departing VM frees its node at once; one that is migrating leaves when its
//! migration ends (a live migration is not abandoned halfway, and its outcome stays
//! measured), one that is down with its node leaves without coming back.

use super::*;

impl Simulation {
    pub(super) fn arrive_vm(&mut self, v: usize, now: TimeMs) {
        if self.vms[v].status != VmStatus::Pending || self.vms[v].node.is_some() {
            return;
        }
        // Its demand as of now, so placement and its node's load see it at once.
        let t_s = now as f64 / 1000.0;
        let vm = &mut self.vms[v];
        if let Some(w) = &mut vm.workload {
            vm.own_level = w.sample(t_s);
        }
        vm.demand_cores = vm.own_demand_cores();
        let (mem, vcpus) = (vm.memory_mib, vm.vcpus);
        let pabfd = self.sc.sim.baseline.filter(|b| b.is_beloglazov());
        let node = match pabfd {
            Some(b) => self.power_aware_arrival(b, v, now),
            None => self
                .least_loaded_with_room(mem)
                .or_else(|| self.wake_for(mem, now)),
        };
        let Some(n) = node else {
            self.vms[v].status = VmStatus::Departed { refused: true };
            self.metrics.refused_arrivals += 1;
            let why = if pabfd.is_some() {
                format!("no node has {mem} MiB free and room for its CPU without overload")
            } else {
                format!("no node has {mem} MiB free")
            };
            self.event(now, EventKind::ArrivalRefused, None, Some(v), None, why);
            return;
        };
        self.nodes[n].used_mem_mib += mem;
        self.nodes[n].vcpus_placed += u64::from(vcpus);
        self.move_vm(v, Some(n), now);
        self.metrics.vm_arrivals += 1;
        let detail = if self.nodes[n].up {
            String::new()
        } else {
            "starts once its node has booted".to_string()
        };
        self.event(now, EventKind::VmArrival, Some(n), Some(v), None, detail);
        if self.nodes[n].up {
            self.start_placed(v, n, now);
        }
    }

    /// A VM placed on a node that serves starts running there now.
    pub(super) fn start_placed(&mut self, v: usize, n: usize, now: TimeMs) {
        self.vms[v].status = VmStatus::Running;
        let used = self.vms[v].used_cores();
        self.account_node(n, now);
        self.nodes[n].load_cores += used;
        // Its load may break a migration's rollback condition on that node.
        self.request_rollback_check(now);
    }

    pub(super) fn depart_vm(&mut self, v: usize, now: TimeMs) {
        let status = self.vms[v].status;
        match status {
            VmStatus::Running | VmStatus::Down | VmStatus::Pending => {}
            VmStatus::Lost | VmStatus::Removed | VmStatus::Departed { .. } => return,
        }
        if self.vms[v].migration.is_some() {
            // finish_migration queues the departure again.
            self.vms[v].depart_pending = true;
            return;
        }
        let node = self.vms[v].node;
        if status == VmStatus::Down {
            self.downtime_ms += now - self.vms[v].down_since_ms;
        }
        if let Some(n) = node {
            let used = self.vms[v].used_cores();
            self.account_node(n, now);
            self.nodes[n].load_cores -= used;
            self.unplace(v, now);
        }
        self.vms[v].status = VmStatus::Departed { refused: false };
        self.metrics.vm_departures += 1;
        let detail = match status {
            VmStatus::Down => "left while down",
            VmStatus::Pending => "left before it could start",
            _ => "left as scheduled",
        };
        self.event(
            now,
            EventKind::VmDeparture,
            node,
            Some(v),
            None,
            detail.to_string(),
        );
    }
}
