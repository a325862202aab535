//! Power states in scalelab's own model (`[power]` in the scenario): nodes found empty
//! by the control rounds are switched off, and a node that is off is woken when a
//! placement needs it. An off node draws nothing and counts no active time; a booting
//! one has drawn its boot energy and serves after its boot delay.

use super::*;

impl Simulation {
    /// After a control round: switch off the nodes that have been empty long enough,
    /// lowest index first, keeping `min_nodes_on` on.
    pub(super) fn power_round(&mut self, now: TimeMs) {
        let cfg = &self.sc.power;
        if !cfg.switch_off_empty {
            return;
        }
        let (wait_ms, min_on) = (cfg.empty_for_s.saturating_mul(1000), cfg.min_nodes_on);
        let mut on = self
            .nodes
            .iter()
            .filter(|n| n.pstate != PowerState::Off)
            .count() as u32;
        for n in 0..self.nodes.len() {
            if !self.is_empty(n) {
                self.nodes[n].empty_since_ms = None;
                continue;
            }
            let since = *self.nodes[n].empty_since_ms.get_or_insert(now);
            if now - since >= wait_ms && on > min_on {
                self.power_off(n, now);
                on -= 1;
            }
        }
    }

    /// Serving, and nothing on it: no VM placed (a VM down with it counts), no
    /// migration in or out, nothing held or reserved, no background load.
    fn is_empty(&self, n: usize) -> bool {
        let node = &self.nodes[n];
        node.up
            && self.node_vms[n].is_empty()
            && node.migrations == 0
            && node.held_mem_mib == 0
            && node.reserved_cores == 0.0
            && node.background_cores == 0.0
    }

    fn power_off(&mut self, n: usize, now: TimeMs) {
        self.account_node(n, now);
        let node = &mut self.nodes[n];
        node.up = false;
        node.pstate = PowerState::Off;
        node.load_cores = 0.0;
        node.empty_since_ms = None;
        self.metrics.host_shutdowns += 1;
        self.event(
            now,
            EventKind::HostPowerOff,
            Some(n),
            None,
            None,
            "empty".into(),
        );
    }

    /// Power on an off node; it serves after its boot delay (at once without one).
    pub(super) fn power_on(&mut self, n: usize, now: TimeMs, why: &str) {
        if self.nodes[n].pstate != PowerState::Off {
            return;
        }
        let node = &mut self.nodes[n];
        node.pstate = PowerState::Booting;
        node.ready_ms = now.saturating_add(node.boot_ms);
        let (boot_ms, energy_j) = (node.boot_ms, node.boot_energy_j);
        if node.power.is_some() {
            self.energy_j += energy_j;
        }
        self.metrics.host_power_ons += 1;
        self.event(
            now,
            EventKind::HostPowerOn,
            Some(n),
            None,
            None,
            format!("{why}; boots in {:.1} s", boot_ms as f64 / 1000.0),
        );
        if boot_ms == 0 {
            self.node_booted(n, now);
        } else {
            self.q
                .schedule(self.nodes[n].ready_ms, Ev::NodeBooted { node: n as u32 });
        }
    }

    pub(super) fn node_booted(&mut self, n: usize, now: TimeMs) {
        if self.nodes[n].pstate != PowerState::Booting {
            return;
        }
        self.nodes[n].pstate = PowerState::On;
        self.serve(n, now);
    }

    /// A sleeping node for a VM that fits no node that is on (a restart): one already
    /// booting with `mem_mib` free, else the first off node with that much memory,
    /// woken; `None` when there is neither.
    pub(super) fn wake_for(&mut self, mem_mib: u64, now: TimeMs) -> Option<usize> {
        let fits = |s: &Self, n: usize, p: PowerState| {
            s.nodes[n].pstate == p && s.nodes[n].free_mem_mib() >= mem_mib
        };
        if let Some(n) = (0..self.nodes.len()).find(|&n| fits(self, n, PowerState::Booting)) {
            return Some(n);
        }
        let n = (0..self.nodes.len()).find(|&n| fits(self, n, PowerState::Off))?;
        self.power_on(n, now, "a VM needs a host");
        Some(n)
    }
}
