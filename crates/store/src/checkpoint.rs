//! The WAL checkpoint thread.

use std::path::Path;

use rusqlite::{Connection, OpenFlags};

use crate::BUSY_TIMEOUT;

/// Copies the WAL into the database file on a second thread, woken after each commit,
/// so a writer of thousands of plans never stops to checkpoint: that copy (reading the
/// WAL back, writing the pages again) was a third of the insert time on one thread.
/// PASSIVE checkpoints never block the writer or readers and never lose data.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    wake: Option<std::sync::mpsc::SyncSender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    pub(crate) fn start(path: &Path) -> Option<Self> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .ok()?;
        conn.busy_timeout(BUSY_TIMEOUT).ok()?;
        let (wake, rx) = std::sync::mpsc::sync_channel::<()>(1);
        let thread = std::thread::Builder::new()
            .name("scalelab-checkpoint".into())
            .spawn(move || {
                while rx.recv().is_ok() {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                }
            })
            .ok()?;
        Some(Self {
            wake: Some(wake),
            thread: Some(thread),
        })
    }

    pub(crate) fn poke(&self) {
        if let Some(w) = &self.wake {
            // A wake-up already pending covers this commit too.
            let _ = w.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.wake.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
