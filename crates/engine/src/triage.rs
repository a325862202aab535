//! The decision round's first step, written once for every caller.
//!
//! A control round sorts VMs in two: the VMs of hot hosts become MIGRATE candidates and
//! go to one planner round together; every other VM gets the scaling rule on its own
//! utilization. [`crate::engine::Engine::decide`] and the simulator's control round both
//! call [`triage`], so the two cannot drift apart. The host check is a separate function
//! because a simulator checks each host once and triages all of its VMs against it.

use crate::model::{ResourceType, ScalingAction};
use crate::policy::PolicyConfig;
use crate::rules::{ForecastSummary, MigrationCheck, ScaleOutcome, UtilStats, migration_check};

/// The MIGRATE rule on a host's CPU pressure.
pub fn host_check(
    p: &PolicyConfig,
    host: UtilStats,
    forecast: Option<ForecastSummary>,
) -> MigrationCheck {
    migration_check(p, ResourceType::Cpu, host.current, host.avg, forecast)
}

/// One VM as the triage sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VmView {
    /// The VM's own utilization (demand over its allocation).
    pub stats: UtilStats,
    pub forecast: Option<ForecastSummary>,
    /// Its service group's size, when it is in one.
    pub replicas: Option<u32>,
    /// Milliseconds since the last scaling action of the VM or its group (`None`:
    /// never scaled); each action then waits its own cooldown.
    pub since_scaled_ms: Option<u64>,
    /// Milliseconds since the VM last switched over to a new host (`None`: never moved).
    pub since_migrated_ms: Option<u64>,
}

impl VmView {
    /// Whether `action`'s cooldown still holds it back.
    pub fn held(&self, p: &PolicyConfig, action: ScalingAction) -> bool {
        let since = if action == ScalingAction::Migrate {
            self.since_migrated_ms
        } else {
            self.since_scaled_ms
        };
        cooldown_holds(p, action, since)
    }
}

/// Whether `action` still waits its cooldown, `since_ms` after the event it counts from
/// (`None`: no such event, nothing to wait for).
pub fn cooldown_holds(p: &PolicyConfig, action: ScalingAction, since_ms: Option<u64>) -> bool {
    since_ms.is_some_and(|ms| ms < p.cooldowns.of_ms(action))
}

/// What a control round does with one VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Triage {
    /// Its host is hot: the VM is a MIGRATE candidate for the round's planner (which
    /// falls back to the scaling rule when it finds no target).
    Candidate,
    /// The scaling rule decided on the VM's own utilization.
    Scale(ScaleOutcome),
    /// The scaling rule chose this action, and its cooldown holds it back: no
    /// scaling this round.
    CoolingDown(ScaleOutcome),
}

/// Whether a host's check makes its VMs MIGRATE candidates (`None`: no host pressure
/// to check).
pub fn is_candidate(host: Option<MigrationCheck>) -> bool {
    host == Some(MigrationCheck::Wanted)
}

/// Triage one VM against its host's check (see the module docs); `None` when there is
/// no host pressure to check (a resource other than CPU, a host that is down).
/// Candidates are chosen whatever their scaling cooldown (moving a VM off a hot host is
/// not a resize), unless the VM itself moved less than the MIGRATE cooldown ago; the
/// scaling rule's outcome is held back only by its own action's cooldown, so a policy
/// can let scale-ups through at once and make scale-downs wait.
pub fn triage(p: &PolicyConfig, host: Option<MigrationCheck>, vm: &VmView) -> Triage {
    if is_candidate(host) && !vm.held(p, ScalingAction::Migrate) {
        return Triage::Candidate;
    }
    let o = crate::rules::scaling_rule(p, vm.stats, vm.forecast, vm.replicas);
    if vm.held(p, o.action) {
        Triage::CoolingDown(o)
    } else {
        Triage::Scale(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(current: f64, avg: f64, peak: f64) -> UtilStats {
        UtilStats { current, avg, peak }
    }

    fn view(s: UtilStats) -> VmView {
        VmView {
            stats: s,
            forecast: None,
            replicas: None,
            since_scaled_ms: None,
            since_migrated_ms: None,
        }
    }

    #[test]
    fn hot_hosts_make_candidates_whatever_the_scaling_cooldown() {
        let p = PolicyConfig::default();
        let hot = host_check(&p, stats(0.9, 0.85, 0.95), None);
        assert_eq!(hot, MigrationCheck::Wanted);
        for since in [None, Some(0), Some(1_000_000)] {
            let vm = VmView {
                since_scaled_ms: since,
                ..view(stats(0.1, 0.1, 0.1))
            };
            assert_eq!(triage(&p, Some(hot), &vm), Triage::Candidate);
            assert_ne!(triage(&p, None, &vm), Triage::Candidate);
        }
    }

    #[test]
    fn a_vm_that_just_moved_waits_the_migrate_cooldown() {
        let mut p = PolicyConfig::default();
        let hot = host_check(&p, stats(0.9, 0.85, 0.95), None);
        let vm = VmView {
            since_migrated_ms: Some(60_000),
            ..view(stats(0.1, 0.1, 0.1))
        };
        // Off by default.
        assert_eq!(triage(&p, Some(hot), &vm), Triage::Candidate);
        p.cooldowns.migrate_s = Some(120);
        // Held: it gets the scaling rule instead (idle: scale down, not held).
        let Triage::Scale(o) = triage(&p, Some(hot), &vm) else {
            panic!("expected the scaling rule");
        };
        assert_eq!(o.action, ScalingAction::ScaleDown);
        p.cooldowns.migrate_s = Some(60);
        assert_eq!(
            triage(&p, Some(hot), &vm),
            Triage::Candidate,
            "60 s elapsed"
        );
    }

    #[test]
    fn other_vms_get_the_scaling_rule_unless_its_action_cools_down() {
        let mut p = PolicyConfig::default();
        let calm = host_check(&p, stats(0.3, 0.3, 0.4), None);
        assert_ne!(calm, MigrationCheck::Wanted);
        let mut vm = view(stats(0.95, 0.9, 0.97));
        let Triage::Scale(o) = triage(&p, Some(calm), &vm) else {
            panic!("expected a scaling outcome");
        };
        assert_eq!(o.action, ScalingAction::ScaleUp);
        assert_eq!(
            o,
            crate::rules::scaling_rule(&p, vm.stats, None, None),
            "the triage is the scaling rule itself"
        );
        // The default 900 s: held at 899 s, free at 900 s.
        vm.since_scaled_ms = Some(899_999);
        assert_eq!(triage(&p, Some(calm), &vm), Triage::CoolingDown(o));
        vm.since_scaled_ms = Some(900_000);
        assert_eq!(triage(&p, Some(calm), &vm), Triage::Scale(o));
        // Per action: a short scale-up cooldown lets it through while a scale-down
        // of an idle VM at the same age still waits.
        p.cooldowns.scale_up_s = Some(60);
        vm.since_scaled_ms = Some(60_000);
        assert_eq!(triage(&p, Some(calm), &vm), Triage::Scale(o));
        let idle = VmView {
            since_scaled_ms: Some(60_000),
            ..view(stats(0.1, 0.1, 0.1))
        };
        let Triage::CoolingDown(d) = triage(&p, Some(calm), &idle) else {
            panic!("the scale-down waits its 900 s");
        };
        assert_eq!(d.action, ScalingAction::ScaleDown);
        // No action is never held.
        let steady = VmView {
            since_scaled_ms: Some(0),
            ..view(stats(0.5, 0.5, 0.6))
        };
        assert!(matches!(
            triage(&p, Some(calm), &steady),
            Triage::Scale(ScaleOutcome {
                action: ScalingAction::NoAction,
                ..
            })
        ));
    }
}
