//! What a run writes down as it goes: events, violations, the replay series.

use super::*;

pub(super) fn action_index(a: ScalingAction) -> usize {
    ScalingAction::ALL.iter().position(|&x| x == a).unwrap_or(0)
}

const MAX_VIOLATIONS: usize = 100;

impl Simulation {
    pub(super) fn record_series(&mut self, now: TimeMs) {
        self.series.times_ms.push(now);
        self.series
            .node_util
            .push(self.nodes.iter().map(|n| n.util() as f32).collect());
        self.series.node_state.push(
            self.nodes
                .iter()
                .map(|n| {
                    if n.asleep() {
                        node_state::OFF
                    } else if !n.up {
                        node_state::DOWN
                    } else if n.util() > 1.0 {
                        node_state::OVERLOADED
                    } else {
                        node_state::HEALTHY
                    }
                })
                .collect(),
        );
        if self.has_power {
            let w: f64 = self
                .nodes
                .iter()
                .filter(|n| n.up)
                .filter_map(|n| Some(super::sampling::power_w(n.power.as_ref()?, n.util())))
                .sum();
            self.series.power_w.push(w as f32);
        }
    }

    pub(super) fn event(
        &mut self,
        t_ms: TimeMs,
        kind: EventKind,
        node: Option<usize>,
        vm: Option<usize>,
        migration: Option<MigId>,
        detail: String,
    ) {
        self.events.push(EventRecord {
            t_ms,
            kind,
            node: node.map(|n| n as u32),
            vm: vm.map(|v| v as u32),
            migration: migration.map(MigId::raw),
            detail,
        });
    }

    pub(super) fn violation(&mut self, msg: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations
                .push(format!("t={} ms: {msg}", self.q.now()));
        }
    }
}
