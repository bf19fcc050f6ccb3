//! A small jitter buffer: holds a few packets and releases them in sequence-number order (with wrap-around),
//! dropping duplicates and late arrivals and skipping a gap once the buffer is full.

use std::collections::BTreeMap;

/// Reorders packets by RTP sequence number.
#[derive(Debug)]
pub struct JitterBuffer<T> {
    depth: usize,
    next: Option<u64>,
    highest: Option<u64>,
    held: BTreeMap<u64, T>,
}

impl<T> JitterBuffer<T> {
    /// A buffer holding up to `depth` packets while waiting for a missing one.
    pub fn new(depth: usize) -> Self {
        JitterBuffer {
            depth: depth.max(1),
            next: None,
            highest: None,
            held: BTreeMap::new(),
        }
    }

    /// Extends a 16-bit sequence number to 64 bits near the highest seen, so wrap-around keeps the order.
    fn extend(&self, seq: u16) -> u64 {
        let Some(highest) = self.highest else {
            return u64::from(seq) + (1 << 16);
        };
        let base = highest & !0xFFFF;
        let candidates = [base.wrapping_sub(1 << 16), base, base + (1 << 16)];
        candidates
            .into_iter()
            .map(|b| b + u64::from(seq))
            .min_by_key(|&c| c.abs_diff(highest))
            .unwrap_or(u64::from(seq))
    }

    /// Adds a packet; returns the packets now ready, in order.
    pub fn push(&mut self, seq: u16, item: T) -> Vec<T> {
        let ext = self.extend(seq);
        let next = *self.next.get_or_insert(ext);
        if ext < next || self.held.contains_key(&ext) {
            return Vec::new();
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.held.insert(ext, item);
        let mut out = Vec::new();
        self.release(&mut out);
        if self.held.len() > self.depth {
            // Give up on the missing packet(s): continue from the oldest one held.
            if let Some((&first, _)) = self.held.iter().next() {
                self.next = Some(first);
            }
            self.release(&mut out);
        }
        out
    }

    fn release(&mut self, out: &mut Vec<T>) {
        while let Some(next) = self.next {
            match self.held.remove(&next) {
                Some(item) => {
                    out.push(item);
                    self.next = Some(next + 1);
                }
                None => break,
            }
        }
    }

    /// Everything still held, in order (at the end of a call).
    pub fn drain(&mut self) -> Vec<T> {
        std::mem::take(&mut self.held).into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(buf: &mut JitterBuffer<u16>, seqs: &[u16]) -> Vec<u16> {
        seqs.iter().flat_map(|&s| buf.push(s, s)).collect()
    }

    #[test]
    fn out_of_order_packets_come_out_in_sequence() {
        let mut buf = JitterBuffer::new(4);
        assert_eq!(feed(&mut buf, &[10, 12, 11, 14, 13, 15]), vec![10, 11, 12, 13, 14, 15]);
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let mut buf = JitterBuffer::new(4);
        assert_eq!(feed(&mut buf, &[1, 2, 2, 1, 3]), vec![1, 2, 3]);
    }

    #[test]
    fn a_lost_packet_is_skipped_once_the_buffer_is_full() {
        let mut buf = JitterBuffer::new(2);
        assert_eq!(feed(&mut buf, &[1, 3, 4, 5]), vec![1, 3, 4, 5]);
    }

    #[test]
    fn the_order_survives_sequence_wrap_around() {
        let mut buf = JitterBuffer::new(4);
        assert_eq!(feed(&mut buf, &[65534, 0, 65535, 1]), vec![65534, 65535, 0, 1]);
    }
}
