//! Where a migration is: one of its plan's five steps, or ended. The executor and the
//! CloudSim profile's pre-copy model walk the same steps.

use scalelab_engine::plan::StepAction;

/// Where a migration is: one of the plan's five steps, or ended with an outcome.
/// Before `Verification` the VM runs on the source; from it on, on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Validation,
    PreCopy,
    StopAndCopy,
    Verification,
    Cleanup,
    Ended,
}

impl Phase {
    pub(crate) fn of(step: StepAction) -> Self {
        match step {
            StepAction::PreMigrationValidation => Self::Validation,
            StepAction::MemoryPreCopy => Self::PreCopy,
            StepAction::StopAndCopy => Self::StopAndCopy,
            StepAction::PostMigrationVerification => Self::Verification,
            StepAction::Cleanup => Self::Cleanup,
        }
    }

    /// The plan step being run; `None` once ended.
    pub(crate) fn step(self) -> Option<StepAction> {
        match self {
            Self::Validation => Some(StepAction::PreMigrationValidation),
            Self::PreCopy => Some(StepAction::MemoryPreCopy),
            Self::StopAndCopy => Some(StepAction::StopAndCopy),
            Self::Verification => Some(StepAction::PostMigrationVerification),
            Self::Cleanup => Some(StepAction::Cleanup),
            Self::Ended => None,
        }
    }

    pub(crate) fn in_flight(self) -> bool {
        self != Self::Ended
    }

    /// The VM has switched over and runs on the target.
    pub(crate) fn switched(self) -> bool {
        matches!(self, Self::Verification | Self::Cleanup)
    }

    /// Memory is on the wire (the steps that cost CPU on both ends).
    pub(crate) fn moves_memory(self) -> bool {
        matches!(self, Self::PreCopy | Self::StopAndCopy)
    }
}

impl Phase {
    /// The VM still runs on its source and the migration can roll back.
    pub(crate) fn before_switchover(self) -> bool {
        self.in_flight() && !self.switched()
    }

    /// The step's place in the plan (0 to 4); `Ended` comes after them.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
