//! The discrete event queue: events ordered by (virtual time, sequence number).
//!
//! The sequence number is assigned at push time, so two events due at the same instant
//! run in the order they were scheduled, never in an order the heap's internals pick.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

pub struct EventQueue<T> {
    heap: BinaryHeap<Entry<T>>,
    next_seq: u64,
}

struct Entry<T> {
    time_us: u64,
    seq: u64,
    item: T,
}

impl<T> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.time_us, self.seq) == (other.time_us, other.seq)
    }
}
impl<T> Eq for Entry<T> {}
impl<T> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Entry<T> {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest event must come out first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time_us, other.seq).cmp(&(self.time_us, self.seq))
    }
}

impl<T> Default for EventQueue<T> {
    fn default() -> Self {
        EventQueue { heap: BinaryHeap::new(), next_seq: 0 }
    }
}

impl<T> EventQueue<T> {
    pub fn push(&mut self, time_us: u64, item: T) {
        self.heap.push(Entry { time_us, seq: self.next_seq, item });
        self.next_seq += 1;
    }

    pub fn pop(&mut self) -> Option<(u64, T)> {
        self.heap.pop().map(|entry| (entry.time_us, entry.item))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_time_first_then_push_order() {
        let mut queue = EventQueue::default();
        for (time, label) in [(5, "c"), (1, "a"), (5, "d"), (1, "b"), (0, "first")] {
            queue.push(time, label);
        }
        let order: Vec<_> = std::iter::from_fn(|| queue.pop()).map(|(_, l)| l).collect();
        assert_eq!(order, ["first", "a", "b", "c", "d"]);
    }
}
