//! Everything the event queue delivers. Migrations, nodes, VMs and failures are named
//! by index, so an event is a few bytes and the queue stays cache-friendly.

use scalelab_engine::plan::StepAction;

use super::MigId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ev {
    Tick,
    StepDone {
        mig: MigId,
    },
    TransferDone {
        mig: MigId,
    },
    Timeout {
        mig: MigId,
        step: StepAction,
    },
    /// The plan's overall deadline (its Timeout rollback condition).
    Deadline {
        mig: MigId,
    },
    /// Re-evaluate every rollback condition now (something they read has changed).
    RollbackCheck,
    PauseCheck {
        mig: MigId,
    },
    HangCheck {
        mig: MigId,
    },
    FailureStart {
        idx: u32,
    },
    FailureEnd {
        idx: u32,
    },
    NodeRecover {
        node: u32,
    },
    StochasticCrash {
        node: u32,
    },
    VmRestart {
        vm: u32,
    },
    /// A powered-on node has booted and serves.
    NodeBooted {
        node: u32,
    },
    /// A VM's scheduled (or trace-given) arrival: it is placed now, or refused.
    VmArrive {
        vm: u32,
    },
    /// A VM's scheduled (or trace-given) departure.
    VmDepart {
        vm: u32,
    },
}
