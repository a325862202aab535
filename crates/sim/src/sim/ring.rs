//! The window of recent samples a node or VM keeps, for current / average / peak.

use scalelab_engine::rules::UtilStats;

/// Samples a window keeps inline, without a heap allocation.
pub(super) const INLINE_WINDOW: usize = 16;

/// Fixed-size window of the last samples, for current / average / peak.
///
/// Windows up to [`INLINE_WINDOW`] samples (the default is 12) live inside the VM's
/// own struct: at 100,000 VMs a separate heap buffer per VM costs a cache miss per VM
/// per tick, which was most of the simulator's time.
#[derive(Debug, Clone)]
pub(super) struct Ring {
    store: RingStore,
    cap: usize,
    next: usize,
    len: usize,
}

#[derive(Debug, Clone)]
pub(super) enum RingStore {
    Inline([f64; INLINE_WINDOW]),
    Heap(Box<[f64]>),
}

impl Ring {
    pub(super) fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        let store = if cap <= INLINE_WINDOW {
            RingStore::Inline([0.0; INLINE_WINDOW])
        } else {
            RingStore::Heap(vec![0.0; cap].into_boxed_slice())
        };
        Self {
            store,
            cap,
            next: 0,
            len: 0,
        }
    }

    pub(super) fn buf(&self) -> &[f64] {
        match &self.store {
            RingStore::Inline(a) => &a[..self.cap],
            RingStore::Heap(b) => b,
        }
    }

    pub(super) fn push(&mut self, x: f64) {
        let next = self.next;
        match &mut self.store {
            RingStore::Inline(a) => a[next] = x,
            RingStore::Heap(b) => b[next] = x,
        }
        self.next = (next + 1) % self.cap;
        self.len = (self.len + 1).min(self.cap);
    }

    /// Multiply every sample by `f`: a VM's utilization history re-expressed for a new
    /// allocation (`old / new` vCPUs), so that a resize is not read as a load step.
    pub(super) fn scale(&mut self, f: f64) {
        let buf = match &mut self.store {
            RingStore::Inline(a) => &mut a[..self.cap],
            RingStore::Heap(b) => &mut b[..],
        };
        for x in buf {
            *x *= f;
        }
    }

    /// Samples oldest first (the baselines' history).
    pub(super) fn ordered(&self) -> Vec<f64> {
        let buf = self.buf();
        (0..self.len)
            .map(|i| buf[(self.next + self.cap - self.len + i) % self.cap])
            .collect()
    }

    pub(super) fn stats(&self) -> UtilStats {
        if self.len == 0 {
            return UtilStats::default();
        }
        let buf = self.buf();
        let current = buf[(self.next + self.cap - 1) % self.cap];
        // Sum and peak do not depend on order: walk the filled part straight through.
        let mut sum = 0.0;
        let mut peak = f64::NEG_INFINITY;
        for &x in &buf[..self.len] {
            sum += x;
            peak = peak.max(x);
        }
        UtilStats {
            current,
            avg: sum / self.len as f64,
            peak,
        }
    }
}
