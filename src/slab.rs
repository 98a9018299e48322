//! Children pinned in place, a block of them per allocation, without unsafe.
//!
//! A `Box<[F]>` cannot hand out `Pin<&mut F>` to its elements without unsafe
//! code, so blocks are structs with one `#[pin] Option<F>` field per child,
//! projected by pin-project: 32 children per allocation (8 for large
//! futures, so that a block stays under 64 KiB while it is built). The tail
//! goes into blocks of 8 and then of 1. A finished child's field is set to
//! `None`, which drops it at once.
//!
//! Why our own rather than futures-buffered's `FuturesUnorderedBounded`
//! (the first version of this engine): that slab gives every child a waker
//! and a ready-queue entry up front, and hands back neither indices nor
//! futures. With these blocks and wakers made only on demand (see
//! `pending.rs`), measured side by side (`examples/compare.rs`, 2 cores): a
//! gather of ready futures went from 85 to 14 ns per future, of futures that
//! yield once from 141 to 50 ns, and a pending future from 56 to 23 bytes.
//!
//! Blocks are built as the first pass reaches them, not up front: a child is
//! moved into its block just before its first poll, while both are hot in the
//! cache. Children not reached yet wait, unpinned and never polled, in the
//! input `Vec`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;

macro_rules! block {
    ($name:ident $proj:ident; $($field:ident $i:literal)+) => {
        #[pin_project(project = $proj)]
        pub(crate) struct $name<F> {
            $(#[pin] $field: Option<F>,)+
        }

        impl<F> $name<F> {
            fn fill(children: &mut impl Iterator<Item = F>) -> Self {
                Self { $($field: children.next(),)+ }
            }

            #[inline]
            fn slot(self: Pin<&mut Self>, i: usize) -> Pin<&mut Option<F>> {
                let this = self.project();
                match i {
                    $($i => this.$field,)+
                    _ => unreachable!("slab invariant: offset {i} within its block"),
                }
            }

            fn get(&self, i: usize) -> &Option<F> {
                match i {
                    $($i => &self.$field,)+
                    _ => unreachable!("slab invariant: offset {i} within its block"),
                }
            }
        }
    };
}

block!(Block8 Block8Proj; c0 0 c1 1 c2 2 c3 3 c4 4 c5 5 c6 6 c7 7);
block!(Block32 Block32Proj;
    c0 0 c1 1 c2 2 c3 3 c4 4 c5 5 c6 6 c7 7 c8 8 c9 9 c10 10 c11 11 c12 12 c13 13 c14 14 c15 15
    c16 16 c17 17 c18 18 c19 19 c20 20 c21 21 c22 22 c23 23 c24 24 c25 25 c26 26 c27 27 c28 28 c29 29
    c30 30 c31 31);

enum Block<F> {
    Wide(Pin<Box<Block32<F>>>),
    Narrow(Pin<Box<Block8<F>>>),
    One(Pin<Box<Option<F>>>),
}

/// Up to this many children, blocks are built at once.
const EAGER: usize = 8;

/// Largest block built on the stack before it moves to the heap.
const MAX_BLOCK_BYTES: usize = 64 * 1024;

pub(crate) struct Slab<F> {
    blocks: Vec<Block<F>>,
    /// Children whose block is not built yet, in index order.
    unbuilt: std::vec::IntoIter<F>,
    /// Children in built blocks.
    built: usize,
    /// log2 of the children per main block (32, 8 or 1).
    shift: u32,
    /// Children in main blocks; the tail follows.
    main_end: usize,
    /// Blocks of 8 in the tail.
    tail_narrow: usize,
    capacity: usize,
}

impl<F> Slab<F> {
    pub(crate) fn new<I>(children: I) -> Self
    where
        I: IntoIterator<Item = F>,
        I::IntoIter: ExactSizeIterator,
    {
        let children = children.into_iter();
        let capacity = children.len();
        let size = std::mem::size_of::<Option<F>>().max(1);
        let width: usize = if size * 32 <= MAX_BLOCK_BYTES {
            32
        } else if size * 8 <= MAX_BLOCK_BYTES {
            8
        } else {
            1
        };
        let shift = width.trailing_zeros();
        let main_end = capacity >> shift << shift;
        let tail = capacity - main_end;
        let tail_narrow = if width > 8 { tail / 8 } else { 0 };
        let ones = tail - tail_narrow * 8;
        let blocks = Vec::with_capacity(main_end / width + tail_narrow + ones);
        let mut slab =
            Self { blocks, unbuilt: Vec::new().into_iter(), built: 0, shift, main_end, tail_narrow, capacity };
        if capacity <= EAGER {
            // A few children: build now, straight from the input, with no
            // intermediate `Vec`.
            let mut children = children;
            while slab.built < capacity {
                slab.build_next(&mut children);
            }
        } else {
            // Collecting a `Vec`'s own iterator reuses its buffer.
            slab.unbuilt = children.collect::<Vec<F>>().into_iter();
        }
        slab
    }

    /// How many children the slab was built with.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    #[inline]
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.main_end {
            (i >> self.shift, i & ((1 << self.shift) - 1))
        } else {
            let mains = self.main_end >> self.shift;
            let t = i - self.main_end;
            if t < self.tail_narrow * 8 {
                (mains + t / 8, t % 8)
            } else {
                (mains + self.tail_narrow + t - self.tail_narrow * 8, 0)
            }
        }
    }

    /// Builds the next block; its size follows from where it starts.
    fn build_next(&mut self, it: &mut impl Iterator<Item = F>) {
        let (block, size) = if self.built < self.main_end {
            match self.shift {
                5 => (Block::Wide(Box::pin(Block32::fill(it))), 32),
                3 => (Block::Narrow(Box::pin(Block8::fill(it))), 8),
                _ => (Block::One(Box::pin(it.next())), 1),
            }
        } else if self.built < self.main_end + self.tail_narrow * 8 {
            (Block::Narrow(Box::pin(Block8::fill(it))), 8)
        } else {
            (Block::One(Box::pin(it.next())), 1)
        };
        self.blocks.push(block);
        self.built += size;
    }

    #[inline]
    fn slot(&mut self, i: usize) -> Pin<&mut Option<F>> {
        while i >= self.built {
            let mut unbuilt = std::mem::replace(&mut self.unbuilt, Vec::new().into_iter());
            self.build_next(&mut unbuilt);
            self.unbuilt = unbuilt;
        }
        let (b, off) = self.locate(i);
        match &mut self.blocks[b] {
            Block::Wide(block) => block.as_mut().slot(off),
            Block::Narrow(block) => block.as_mut().slot(off),
            Block::One(slot) => slot.as_mut(),
        }
    }

    /// Is child `i` still pending?
    pub(crate) fn is_live(&self, i: usize) -> bool {
        if i >= self.built {
            return i < self.capacity;
        }
        let (b, off) = self.locate(i);
        match &self.blocks[b] {
            Block::Wide(block) => block.get(off).is_some(),
            Block::Narrow(block) => block.get(off).is_some(),
            Block::One(slot) => slot.is_some(),
        }
    }
}

impl<F: Unpin> Slab<F> {
    /// Moves child `i` out, if it is still here. Only `Unpin` children can
    /// leave their pinned slot.
    pub(crate) fn take(&mut self, i: usize) -> Option<F> {
        if i >= self.capacity {
            return None;
        }
        self.slot(i).get_mut().take()
    }
}

impl<F: Future> Slab<F> {
    /// Polls child `i`; on completion drops it and returns its output.
    /// A finished child is never polled again (it stays `Pending`).
    #[inline]
    pub(crate) fn poll(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut slot = self.slot(i);
        let Some(fut) = slot.as_mut().as_pin_mut() else { return Poll::Pending };
        let out = std::task::ready!(fut.poll(cx));
        slot.set(None);
        Poll::Ready(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_index_maps_to_its_own_slot() {
        for n in [0, 1, 7, 8, 9, 31, 32, 33, 40, 63, 64, 100, 1000] {
            let mut slab = Slab::new((0..n).collect::<Vec<usize>>());
            let mut seen = std::collections::HashSet::new();
            for i in 0..n {
                assert!(slab.is_live(i));
                let _ = slab.slot(i);
                assert!(seen.insert(slab.locate(i)), "n={n} i={i}");
                assert!(slab.is_live(i));
            }
            assert_eq!(slab.blocks.len(), slab.blocks.capacity(), "n={n}: as many blocks as planned");
            assert_eq!(slab.capacity(), n);
        }
    }

    #[test]
    fn outputs_come_from_the_right_child_and_slots_empty() {
        let n = 77;
        let mut slab = Slab::new((0..n).map(std::future::ready).collect::<Vec<_>>());
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        for i in (0..n).rev() {
            assert!(slab.is_live(i));
            assert_eq!(slab.poll(i, &mut cx), Poll::Ready(i));
            assert!(!slab.is_live(i));
            assert_eq!(slab.poll(i, &mut cx), Poll::Pending);
        }
    }

    #[test]
    fn unpin_children_can_be_taken_out() {
        let mut slab = Slab::new((0..40).map(std::future::ready).collect::<Vec<_>>());
        assert_eq!(slab.take(39).map(|f| f.into_inner()), Some(39));
        assert!(!slab.is_live(39));
        assert!(slab.take(39).is_none());
        assert!(slab.take(40).is_none());
    }

    #[test]
    fn large_futures_use_narrow_or_single_blocks() {
        let slab = Slab::new(vec![std::future::ready([0u8; 4096]); 20]);
        assert_eq!(slab.shift, 3);
        let slab = Slab::new(vec![std::future::ready([0u8; 16384]); 3]);
        assert_eq!(slab.shift, 0);
    }
}
