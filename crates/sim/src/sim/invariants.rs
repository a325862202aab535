//! The invariant checker: placement lists, memory accounting and reservations agree
//! with the VMs and migrations they describe. Run after every event when
//! `sim.check_invariants` is on; what it finds goes into the record's violations.

use super::*;

impl Simulation {
    pub(super) fn check_invariants(&mut self) {
        let mut used = vec![0u64; self.nodes.len()];
        let mut msgs = Vec::new();
        for v in &self.vms {
            match (v.status, v.node) {
                (VmStatus::Lost | VmStatus::Removed, Some(n)) => msgs.push(format!(
                    "VM {} is gone but still on node {}",
                    v.id, self.nodes[n].id
                )),
                (VmStatus::Running | VmStatus::Down, None) => {
                    msgs.push(format!("VM {} is on no node and not lost", v.id))
                }
                (VmStatus::Departed { .. }, Some(n)) => msgs.push(format!(
                    "VM {} has left but is still on node {}",
                    v.id, self.nodes[n].id
                )),
                (VmStatus::Pending, Some(n)) if self.nodes[n].up => msgs.push(format!(
                    "VM {} waits to start on node {}, which serves",
                    v.id, self.nodes[n].id
                )),
                (_, Some(n)) => used[n] += v.memory_mib,
                _ => {}
            }
        }
        for (n, list) in self.node_vms.iter().enumerate() {
            for &v in list {
                if self.vms[v as usize].node != Some(n) {
                    msgs.push(format!(
                        "VM {} listed on node {} but placed elsewhere",
                        self.vms[v as usize].id, self.nodes[n].id
                    ));
                }
            }
        }
        let listed: usize = self.node_vms.iter().map(Vec::len).sum();
        let placed = self.vms.iter().filter(|v| v.node.is_some()).count();
        if listed != placed {
            msgs.push(format!("{listed} VMs listed on nodes, {placed} placed"));
        }
        let mut held = vec![0u64; self.nodes.len()];
        for &m in &self.active {
            let g = &self.migs[m];
            let mem = self.vms[g.vm].memory_mib;
            if g.phase.switched() {
                held[g.src] += mem;
            } else {
                held[g.dst] += mem;
            }
        }
        for (i, n) in self.nodes.iter().enumerate() {
            if used[i] != n.used_mem_mib {
                msgs.push(format!(
                    "node {} memory accounting {} != {}",
                    n.id, n.used_mem_mib, used[i]
                ));
            }
            if held[i] != n.held_mem_mib {
                msgs.push(format!(
                    "node {} held memory {} != {}",
                    n.id, n.held_mem_mib, held[i]
                ));
            }
            if n.used_mem_mib + n.held_mem_mib > n.memory_mib {
                msgs.push(format!(
                    "node {} reservations {} MiB exceed capacity {} MiB",
                    n.id,
                    n.used_mem_mib + n.held_mem_mib,
                    n.memory_mib
                ));
            }
            if n.reserved_cores < -1e-9 {
                msgs.push(format!("node {} has negative CPU reservation", n.id));
            }
            // Power states: serving means on and not crashed; an off node holds
            // nothing, and a VM runs only on a node that serves.
            if n.up != (n.pstate == PowerState::On && !n.crashed) {
                msgs.push(format!(
                    "node {} is {} but {:?}{}",
                    n.id,
                    if n.up { "up" } else { "down" },
                    n.pstate,
                    if n.crashed { " and crashed" } else { "" }
                ));
            }
            if n.pstate == PowerState::Off
                && (n.used_mem_mib + n.held_mem_mib > 0 || n.migrations > 0 || n.crashed)
            {
                msgs.push(format!("node {} is off but holds VMs or migrations", n.id));
            }
            if !n.up
                && let Some(&v) = self.node_vms[i]
                    .iter()
                    .find(|&&v| self.vms[v as usize].status == VmStatus::Running)
            {
                msgs.push(format!(
                    "VM {} runs on node {}, which does not serve",
                    self.vms[v as usize].id, n.id
                ));
            }
        }
        for m in msgs {
            self.violation(m);
        }
    }
}
