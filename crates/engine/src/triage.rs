//! The decision round's first step, written once for every caller.
//!
//! A control round sorts VMs in two: the VMs of hot hosts become MIGRATE candidates and
//! go to one planner round together; every other VM gets the scaling rule on its own
//! utilization. [`crate::engine::Engine::decide`] and the simulator's control round both
//! call [`triage`], so the two cannot drift apart. The host check is a separate function
//! because a simulator checks each host once and triages all of its VMs against it.

use crate::model::ResourceType;
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
    /// A recent scaling action of the VM or its group holds further scaling back.
    pub cooling_down: bool,
}

/// What a control round does with one VM.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Triage {
    /// Its host is hot: the VM is a MIGRATE candidate for the round's planner (which
    /// falls back to the scaling rule when it finds no target).
    Candidate,
    /// The scaling rule decided on the VM's own utilization.
    Scale(ScaleOutcome),
    /// In cooldown: no scaling decision this round.
    CoolingDown,
}

/// Whether a host's check makes its VMs MIGRATE candidates (`None`: no host pressure
/// to check).
pub fn is_candidate(host: Option<MigrationCheck>) -> bool {
    host == Some(MigrationCheck::Wanted)
}

/// Triage one VM against its host's check (see the module docs); `None` when there is
/// no host pressure to check (a resource other than CPU, a host that is down).
/// Candidates are chosen whatever their cooldown: moving a VM off a hot host is not a
/// resize.
pub fn triage(p: &PolicyConfig, host: Option<MigrationCheck>, vm: &VmView) -> Triage {
    if is_candidate(host) {
        Triage::Candidate
    } else if vm.cooling_down {
        Triage::CoolingDown
    } else {
        Triage::Scale(crate::rules::scaling_rule(
            p,
            vm.stats,
            vm.forecast,
            vm.replicas,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ScalingAction;

    fn stats(current: f64, avg: f64, peak: f64) -> UtilStats {
        UtilStats { current, avg, peak }
    }

    #[test]
    fn hot_hosts_make_candidates_whatever_the_cooldown() {
        let p = PolicyConfig::default();
        let hot = host_check(&p, stats(0.9, 0.85, 0.95), None);
        assert_eq!(hot, MigrationCheck::Wanted);
        for cooling_down in [false, true] {
            let vm = VmView {
                stats: stats(0.1, 0.1, 0.1),
                forecast: None,
                replicas: None,
                cooling_down,
            };
            assert_eq!(triage(&p, Some(hot), &vm), Triage::Candidate);
            assert_ne!(triage(&p, None, &vm), Triage::Candidate);
        }
    }

    #[test]
    fn other_vms_get_the_scaling_rule_unless_cooling_down() {
        let p = PolicyConfig::default();
        let calm = host_check(&p, stats(0.3, 0.3, 0.4), None);
        assert_ne!(calm, MigrationCheck::Wanted);
        let mut vm = VmView {
            stats: stats(0.95, 0.9, 0.97),
            forecast: None,
            replicas: None,
            cooling_down: false,
        };
        let Triage::Scale(o) = triage(&p, Some(calm), &vm) else {
            panic!("expected a scaling outcome");
        };
        assert_eq!(o.action, ScalingAction::ScaleUp);
        assert_eq!(
            o,
            crate::rules::scaling_rule(&p, vm.stats, None, None),
            "the triage is the scaling rule itself"
        );
        vm.cooling_down = true;
        assert_eq!(triage(&p, Some(calm), &vm), Triage::CoolingDown);
    }
}
