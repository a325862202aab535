//! Typed indices. Migrations are named by [`MigId`] everywhere (events, the active
//! list, a VM's migration, records), so a node or VM index can never be taken for one.
//! It is a `u32`, as in the record, and indexes the executor's vectors directly.

use std::ops::{Index, IndexMut};

use crate::record::MigrationRecord;

use super::MigRt;

/// A migration: its position in `Simulation::migs` and `Simulation::records`, and the
/// `id` of its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct MigId(u32);

impl std::fmt::Display for MigId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl MigId {
    /// The migration at position `ix` (the next one's id is the number started so far).
    pub(super) fn from_ix(ix: usize) -> Self {
        Self(u32::try_from(ix).expect("fewer than 2^32 migrations in one run"))
    }

    /// As the record writes it.
    pub(super) fn raw(self) -> u32 {
        self.0
    }

    pub(super) fn ix(self) -> usize {
        self.0 as usize
    }

    /// Every migration started so far, oldest first.
    pub(super) fn all(started: usize) -> impl Iterator<Item = Self> {
        (0..started).map(Self::from_ix)
    }
}

macro_rules! indexed_by_mig {
    ($t:ty) => {
        impl Index<MigId> for Vec<$t> {
            type Output = $t;
            fn index(&self, m: MigId) -> &$t {
                &self[m.ix()]
            }
        }
        impl IndexMut<MigId> for Vec<$t> {
            fn index_mut(&mut self, m: MigId) -> &mut $t {
                &mut self[m.ix()]
            }
        }
    };
}

indexed_by_mig!(MigRt);
indexed_by_mig!(MigrationRecord);
