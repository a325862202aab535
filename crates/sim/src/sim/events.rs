//! Everything the event queue delivers. Migrations, nodes, VMs and failures are named
//! by index, so an event is a few bytes and the queue stays cache-friendly.

use scalelab_engine::plan::StepAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ev {
    Tick,
    StepDone { mig: u32 },
    TransferDone { mig: u32 },
    Timeout { mig: u32, step: StepAction },
    PauseCheck { mig: u32 },
    HangCheck { mig: u32 },
    FailureStart { idx: u32 },
    FailureEnd { idx: u32 },
    NodeRecover { node: u32 },
    StochasticCrash { node: u32 },
    VmRestart { vm: u32 },
}
