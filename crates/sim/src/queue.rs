//! The event queue: integer milliseconds, ties broken by insertion order, cancellable.
//!
//! A binary heap of (time, sequence) keys. Cancellation marks the sequence number dead
//! and the entry is dropped when it reaches the top, which keeps `cancel` O(1) and
//! `pop` O(log n) amortized; step timeouts are cancelled far more often than they fire.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

/// Simulated time in milliseconds since the start of the run.
pub type TimeMs = u64;

/// Handle of a scheduled event, for cancellation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u64);

#[derive(Debug)]
struct Entry<E> {
    time: TimeMs,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}

#[derive(Debug)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Entry<E>>>,
    next_seq: u64,
    now: TimeMs,
    /// Timers scheduled and not yet fired or cancelled.
    timers: HashSet<u64>,
    cancelled: HashSet<u64>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self {
            heap: BinaryHeap::new(),
            next_seq: 0,
            now: 0,
            timers: HashSet::new(),
            cancelled: HashSet::new(),
        }
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Time of the last popped event.
    pub fn now(&self) -> TimeMs {
        self.now
    }

    /// Schedule `event` at absolute `time`; a time in the past is clamped to now, so
    /// time never goes backwards.
    pub fn schedule(&mut self, time: TimeMs, event: E) -> EventId {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Reverse(Entry {
            time: time.max(self.now),
            seq,
            event,
        }));
        EventId(seq)
    }

    pub fn schedule_in(&mut self, delay: TimeMs, event: E) -> EventId {
        self.schedule(self.now.saturating_add(delay), event)
    }

    /// Schedule an event that may be cancelled with [`Self::cancel`].
    pub fn schedule_timer(&mut self, time: TimeMs, event: E) -> EventId {
        let id = self.schedule(time, event);
        self.timers.insert(id.0);
        id
    }

    /// Cancel a timer; cancelling one that already fired (or was cancelled) does nothing.
    pub fn cancel(&mut self, id: EventId) {
        if self.timers.remove(&id.0) {
            self.cancelled.insert(id.0);
        }
    }

    /// Next live event, advancing `now`.
    pub fn pop(&mut self) -> Option<(TimeMs, E)> {
        while let Some(Reverse(e)) = self.heap.pop() {
            if !self.timers.is_empty() || !self.cancelled.is_empty() {
                if self.cancelled.remove(&e.seq) {
                    continue;
                }
                self.timers.remove(&e.seq);
            }
            debug_assert!(e.time >= self.now);
            self.now = e.time;
            return Some((e.time, e.event));
        }
        None
    }

    /// Time of the next live event without removing it.
    pub fn peek_time(&mut self) -> Option<TimeMs> {
        while let Some(Reverse(e)) = self.heap.peek() {
            if self.cancelled.contains(&e.seq) {
                let seq = e.seq;
                self.heap.pop();
                self.cancelled.remove(&seq);
                continue;
            }
            return Some(e.time);
        }
        None
    }

    pub fn len(&self) -> usize {
        self.heap.len().saturating_sub(self.cancelled.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::new();
        q.schedule(10, "b1");
        q.schedule(5, "a");
        q.schedule(10, "b2");
        q.schedule(10, "b3");
        q.schedule(7, "x");
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(
            got,
            [(5, "a"), (7, "x"), (10, "b1"), (10, "b2"), (10, "b3")]
        );
    }

    #[test]
    fn cancelled_events_never_fire() {
        let mut q = EventQueue::new();
        let a = q.schedule_timer(1, 'a');
        q.schedule(2, 'b');
        let c = q.schedule_timer(3, 'c');
        let d = q.schedule_timer(4, 'd');
        q.cancel(a);
        q.cancel(c);
        assert_eq!(q.len(), 2);
        assert_eq!(q.peek_time(), Some(2));
        assert_eq!(q.pop(), Some((2, 'b')));
        assert_eq!(q.pop(), Some((4, 'd')));
        assert_eq!(q.pop(), None);
        // Cancelling fired or already cancelled timers is harmless.
        q.cancel(a);
        q.cancel(d);
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn time_never_goes_back() {
        let mut q = EventQueue::new();
        q.schedule(100, 1);
        assert_eq!(q.pop(), Some((100, 1)));
        q.schedule(50, 2); // in the past: clamped to now
        q.schedule_in(5, 3);
        assert_eq!(q.pop(), Some((100, 2)));
        assert_eq!(q.pop(), Some((105, 3)));
        assert_eq!(q.now(), 105);
    }
}
