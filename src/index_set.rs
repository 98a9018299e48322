//! A set of child indices, taken out lowest first: a bit each for the
//! first 64 children, a list for the others.
//!
//! The engine lists the children that were polled with the shared waker and
//! are still pending, to rescan them when it wakes. In a small call that
//! list was one allocation in three; as bits, a call of up to 64 children
//! needs none, and taking the lowest index is one instruction.

/// Indices below this are bits.
const BITS: u32 = u64::BITS;

#[derive(Debug, Default)]
pub(crate) struct IndexSet {
    low: u64,
    /// Indices of `BITS` and up, in the order pushed; reversed by
    /// [`IndexSet::take`] so that `pop` takes the lowest. Boxed: only large
    /// calls have any, and the set stays two words.
    #[expect(clippy::box_collection, reason = "the box keeps the set two words; the list is rare")]
    high: Option<Box<Vec<u32>>>,
}

impl IndexSet {
    /// Adds `index`. Indices past the bits must come in increasing order;
    /// the first of them sizes the list for `expected` more.
    #[inline]
    pub(crate) fn push(&mut self, index: u32, expected: usize) {
        if index < BITS {
            self.low |= 1 << index;
        } else {
            self.push_high(index, expected);
        }
    }

    // Out of line: the bits are the common case, and this kept the caller's
    // loop from being inlined.
    #[inline(never)]
    fn push_high(&mut self, index: u32, expected: usize) {
        self.high.get_or_insert_with(|| Box::new(Vec::with_capacity(expected))).push(index);
    }

    /// Holds no index.
    pub(crate) fn is_empty(&self) -> bool {
        self.low == 0 && self.high.as_ref().is_none_or(|h| h.is_empty())
    }

    /// Removes and returns the lowest index.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<u32> {
        if self.low != 0 {
            let index = self.low.trailing_zeros();
            self.low &= self.low - 1;
            return Some(index);
        }
        self.high.as_mut()?.pop()
    }

    /// Moves every index of `self` into `into` (empty), to be popped lowest
    /// first; `self` keeps `into`'s old buffer, so steady use allocates
    /// nothing.
    #[inline]
    pub(crate) fn take(&mut self, into: &mut IndexSet) {
        debug_assert!(into.is_empty(), "taken into an empty set");
        std::mem::swap(self, into);
        if let Some(high) = &mut into.high {
            high.reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_come_out_lowest_first_across_bits_and_list() {
        let mut set = IndexSet::default();
        for i in [0u32, 5, 63, 64, 70, 1000] {
            set.push(i, 3);
        }
        let mut rescan = IndexSet::default();
        set.take(&mut rescan);
        assert!(set.pop().is_none(), "taken whole");
        let order: Vec<u32> = std::iter::from_fn(|| rescan.pop()).collect();
        assert_eq!(order, [0, 5, 63, 64, 70, 1000]);
    }

    #[test]
    fn a_call_of_up_to_64_children_allocates_nothing() {
        let mut set = IndexSet::default();
        for i in 0..64 {
            set.push(i, 0);
        }
        assert!(set.high.is_none());
        assert_eq!(std::iter::from_fn(|| set.pop()).count(), 64);
    }
}
