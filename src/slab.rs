//! Children pinned in place, a block of them per allocation, without unsafe.
//!
//! A `Box<[F]>` cannot hand out `Pin<&mut F>` to its elements without unsafe
//! code, so a block is a binary tree of pinned pairs (`Pair<Pair<..>>`,
//! down to `Option<F>` slots), projected by pin-project: slot `i` is found
//! by the bits of `i`, one branch-free select per level. (A struct of 32
//! fields and a `match` per lookup, the first form, cost an indirect jump
//! per poll: a gather of 100,000 futures that yield once went from 53 to
//! 35 ns per future with the tree and the live-child poll inlined.) A
//! block has 32 slots (fewer for a call of fewer children, or for large
//! ones, so that a block stays under 64 KiB). A finished child's slot is
//! set to `None`, which drops it at once.
//!
//! Children are placed as the first pass reaches them, each into the next
//! free slot, just before its first poll. A child that completes on that
//! poll frees its slot again at once, and the next child takes it: a run of
//! ready children reuses one slot that stays hot in the cache, and only
//! children that stay pending occupy slots, densely, in blocks. While no
//! slot has been reused, child `i` sits in slot `i`; `loc` records where each
//! child sits only from the first reuse on. Children not reached yet wait,
//! unpinned and never polled, in the input `Vec`. A few children (up to
//! `EAGER`) skip that `Vec`: they go straight into slots `0..n`. A slot is
//! looked up when a child comes to fill it, so a call whose children fill
//! their block exactly allocates no block after it.
//!
//! The slab is returned by value and built from values, with nothing out
//! of line called in between: a slab filled in place and then returned was
//! copied on its way into the call (`memmove` was a quarter of a small
//! call's time).
//!
//! Why our own rather than futures-buffered's `FuturesUnorderedBounded`
//! (the first version of this engine): that slab gives every child a waker
//! and a ready-queue entry up front, and hands back neither indices nor
//! futures. With these blocks and wakers made only on demand (see
//! `pending.rs`), measured side by side (`benches/src/bin/compare.rs`, 2 cores): a
//! gather of ready futures went from 85 to 4-6 ns per future (14 before
//! slots were reused and the first pass ran inside the slab), of futures that yield once from 141 to 45-50 ns, and
//! a pending future from 56 to 24 bytes.

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;

use crate::shape::Feed;

/// Two halves of a block, each pinned: blocks of 2, 4, .. 32 slots are
/// pairs of pairs, down to single slots (`Option<F>`).
#[pin_project]
pub(crate) struct Pair<T> {
    #[pin]
    lo: T,
    #[pin]
    hi: T,
}

/// A block's slots, found by the bits of the offset: one pointer select per
/// level, where a `match` over 32 fields was an indirect jump per poll.
trait Slots<F>: Sized {
    /// How many slots.
    const WIDTH: usize;
    fn empty() -> Self;
    /// Slot `i` (its bits below `WIDTH`).
    fn slot(self: Pin<&mut Self>, i: usize) -> Pin<&mut Option<F>>;
    fn get(&self, i: usize) -> &Option<F>;
}

impl<F> Slots<F> for Option<F> {
    const WIDTH: usize = 1;
    fn empty() -> Self {
        None
    }
    #[inline(always)]
    fn slot(self: Pin<&mut Self>, _: usize) -> Pin<&mut Option<F>> {
        self
    }
    #[inline(always)]
    fn get(&self, _: usize) -> &Option<F> {
        self
    }
}

impl<F, T: Slots<F>> Slots<F> for Pair<T> {
    const WIDTH: usize = 2 * T::WIDTH;
    fn empty() -> Self {
        Pair { lo: T::empty(), hi: T::empty() }
    }
    #[inline(always)]
    fn slot(self: Pin<&mut Self>, i: usize) -> Pin<&mut Option<F>> {
        let this = self.project();
        let half = if i & T::WIDTH == 0 { this.lo } else { this.hi };
        half.slot(i)
    }
    #[inline(always)]
    fn get(&self, i: usize) -> &Option<F> {
        if i & T::WIDTH == 0 { self.lo.get(i) } else { self.hi.get(i) }
    }
}

/// An empty block, made on the stack and moved to the heap. Never inlined:
/// the caller's frame would then be as large as the widest block it could
/// make (32 slots), whatever width it does make, and a future of 70 KB
/// overflowed a Tokio worker's 2 MiB stack. Apart, each width takes its own
/// size only, and `shift_for` keeps that under 64 KiB.
#[inline(never)]
fn boxed<F, T: Slots<F>>() -> Pin<Box<T>> {
    Box::pin(T::empty())
}

type Block2<F> = Pair<Option<F>>;
type Block4<F> = Pair<Block2<F>>;
type Block8<F> = Pair<Block4<F>>;
type Block16<F> = Pair<Block8<F>>;
type Block32<F> = Pair<Block16<F>>;

/// A block of 32, 16, 8, 4, 2 or 1 slots: a call of a few children gets a
/// block its size (rounded up to a power of two), not one of 32.
enum Block<F> {
    W32(Pin<Box<Block32<F>>>),
    W16(Pin<Box<Block16<F>>>),
    W8(Pin<Box<Block8<F>>>),
    W4(Pin<Box<Block4<F>>>),
    W2(Pin<Box<Block2<F>>>),
    One(Pin<Box<Option<F>>>),
}

/// The blocks of a slab. Most calls need one block: it sits here without a
/// `Vec` of its own, one allocation fewer per call.
enum Blocks<F> {
    None,
    One(Block<F>),
    Many(Vec<Block<F>>),
}

impl<F> Blocks<F> {
    fn len(&self) -> usize {
        match self {
            Self::None => 0,
            Self::One(_) => 1,
            Self::Many(v) => v.len(),
        }
    }

    fn push(&mut self, block: Block<F>) {
        match std::mem::replace(self, Self::None) {
            Self::None => *self = Self::One(block),
            Self::One(first) => *self = Self::Many(vec![first, block]),
            Self::Many(mut v) => {
                v.push(block);
                *self = Self::Many(v);
            }
        }
    }

    #[inline(always)]
    fn get_mut(&mut self, i: usize) -> &mut Block<F> {
        match self {
            Self::One(b) if i == 0 => b,
            Self::Many(v) => &mut v[i],
            _ => unreachable!("slab invariant: block {i} exists"),
        }
    }

    fn get(&self, i: usize) -> &Block<F> {
        match self {
            Self::One(b) if i == 0 => b,
            Self::Many(v) => &v[i],
            _ => unreachable!("slab invariant: block {i} exists"),
        }
    }
}

/// Largest block allowed, in bytes.
const MAX_BLOCK_BYTES: usize = 64 * 1024;

/// `loc` entry of a child with no slot (not placed yet, or finished).
const NOWHERE: u32 = u32::MAX;

/// Up to this many children are placed at once, with no intermediate `Vec`.
const EAGER: usize = 8;

pub(crate) struct Slab<F> {
    blocks: Blocks<F>,
    /// log2 of the slots per block (32, 8 or 1).
    shift: u32,
    /// Slots ever used, densely from 0: a child goes into a free slot, or
    /// into this one.
    placed: usize,
    /// Slots below `placed` freed by a child that finished after its first
    /// poll, for the next children: under a concurrency limit, slots stay
    /// as many as the children in flight.
    free: Vec<u32>,
    /// Children not reached yet, in index order.
    unbuilt: std::vec::IntoIter<F>,
    /// How many children have been taken from `unbuilt`: the next index.
    reached: usize,
    /// Child index to slot; empty while child `i` sits in slot `i`.
    loc: Vec<u32>,
    /// Children placed at construction (in slots `0..preplaced`).
    preplaced: usize,
    /// Children a lazy input said it had and did not hand over.
    missing: usize,
    capacity: usize,
}

/// The slot `at` in `blocks`, adding a block if `at` is past the last one.
/// A free function, so that callers can hold it while using other fields.
#[inline(always)]
fn slot_in<F>(blocks: &mut Blocks<F>, shift: u32, at: usize) -> Pin<&mut Option<F>> {
    if at >> shift >= blocks.len() {
        grow(blocks, shift);
    }
    blocks.get_mut(at >> shift).slot(at & ((1 << shift) - 1))
}

/// One more block, for the next slots. Kept out of line: it runs once per
/// block, `slot_in` once per poll.
#[cold]
#[inline(never)]
fn grow<F>(blocks: &mut Blocks<F>, shift: u32) {
    blocks.push(Block::empty(shift));
}

impl<F> Block<F> {
    /// An empty block of `1 << shift` slots.
    #[inline]
    fn empty(shift: u32) -> Self {
        match shift {
            5 => Block::W32(boxed()),
            4 => Block::W16(boxed()),
            3 => Block::W8(boxed()),
            2 => Block::W4(boxed()),
            1 => Block::W2(boxed()),
            _ => Block::One(boxed()),
        }
    }

    #[inline(always)]
    fn slot(&mut self, off: usize) -> Pin<&mut Option<F>> {
        match self {
            Block::W32(block) => block.as_mut().slot(off),
            Block::W16(block) => block.as_mut().slot(off),
            Block::W8(block) => block.as_mut().slot(off),
            Block::W4(block) => block.as_mut().slot(off),
            Block::W2(block) => block.as_mut().slot(off),
            Block::One(slot) => slot.as_mut(),
        }
    }

    fn get(&self, off: usize) -> &Option<F> {
        match self {
            Block::W32(block) => block.get(off),
            Block::W16(block) => block.get(off),
            Block::W8(block) => block.get(off),
            Block::W4(block) => block.get(off),
            Block::W2(block) => block.get(off),
            Block::One(slot) => slot,
        }
    }
}

/// From here on, write down where each child sits: until now child `j` sat
/// in slot `j`, for every slot below `placed`.
#[cold]
fn start_locating(loc: &mut Vec<u32>, capacity: usize, placed: usize) {
    *loc = vec![NOWHERE; capacity];
    for (j, entry) in loc.iter_mut().enumerate().take(placed) {
        *entry = j as u32;
    }
}

/// Children are indexed by `u32` (in the engine's lists and wakers).
fn assert_indexable(capacity: usize) {
    assert!(u32::try_from(capacity).is_ok(), "concurry takes at most {} children in one call", u32::MAX);
}

/// log2 of the slots per block for `capacity` children: `capacity` rounded
/// up to a power of two, at most 32, and halved while a block would pass
/// `MAX_BLOCK_BYTES`.
fn shift_for<F>(capacity: usize) -> u32 {
    let size = std::mem::size_of::<Option<F>>().max(1);
    let mut width = capacity.clamp(1, 32).next_power_of_two();
    while width > 1 && size * width > MAX_BLOCK_BYTES {
        width /= 2;
    }
    width.trailing_zeros()
}

/// The next child not reached yet, if any: from the slab's own list, then
/// from `source` (a lazy input).
#[inline(always)]
fn next_fresh<F, S: Feed<F>>(
    unbuilt: &mut std::vec::IntoIter<F>,
    source: &mut S,
    reached: usize,
    capacity: &mut usize,
    missing: &mut usize,
) -> Option<F> {
    if reached >= *capacity {
        return None;
    }
    let fut = unbuilt.next().or_else(|| source.next_child());
    if fut.is_none() {
        // An iterator that said it had more: the call is over with the
        // children it did hand over.
        *missing += *capacity - reached;
        *capacity = reached;
    }
    fut
}

/// Records that child `i` stays in slot `at` (a free slot, or `*placed`,
/// which then moves on).
#[inline(always)]
fn keep_in(loc: &mut Vec<u32>, capacity: usize, placed: &mut usize, at: usize, i: usize) {
    if loc.is_empty() && at != i {
        // The first child out of its own slot (finished ones are marked by
        // their empty slot).
        start_locating(loc, capacity, *placed);
    }
    if !loc.is_empty() {
        loc[i] = at as u32;
    }
    if at == *placed {
        *placed += 1;
    }
}

impl<F> Slab<F> {
    #[inline]
    pub(crate) fn new<I>(children: I) -> Self
    where
        I: IntoIterator<Item = F>,
    {
        let mut children = children.into_iter();
        let (lower, upper) = children.size_hint();
        // Built as one expression at the end, from values: a slab filled
        // in place and then returned was copied on its way into the call.
        let (blocks, shift, placed, unbuilt) = if upper == Some(lower) && (1..=EAGER).contains(&lower) {
            let shift = shift_for::<F>(lower);
            let mut block = Block::empty(shift);
            let mut placed = 0;
            for fut in children.by_ref().take(1 << shift) {
                block.slot(placed).set(Some(fut));
                placed += 1;
            }
            // An iterator that under-stated its length: the rest waits in
            // line, as for a large input.
            let rest: Vec<F> = match children.next() {
                None => Vec::new(),
                Some(next) => std::iter::once(next).chain(children).collect(),
            };
            (Blocks::One(block), shift, placed, rest)
        } else {
            // Collecting a `Vec`'s own iterator reuses its buffer.
            let unbuilt: Vec<F> = children.collect();
            (Blocks::None, shift_for::<F>(unbuilt.len()), 0, unbuilt)
        };
        let capacity = placed + unbuilt.len();
        assert_indexable(capacity);
        Self {
            blocks,
            shift,
            placed,
            free: Vec::new(),
            capacity,
            unbuilt: unbuilt.into_iter(),
            reached: 0,
            loc: Vec::new(),
            preplaced: placed,
            missing: 0,
        }
    }

    /// A slab whose `len` children come from a lazy input's iterator, one
    /// at a time, as the first pass reaches them.
    pub(crate) fn lazy(len: usize) -> Self {
        assert_indexable(len);
        let mut slab = Self::new(std::iter::empty());
        slab.capacity = len;
        slab.shift = shift_for::<F>(len);
        slab
    }

    /// How many children the slab was built with.
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Children not reached yet remain.
    pub(crate) fn has_fresh(&self) -> bool {
        self.reached < self.capacity
    }

    /// The index of the next child to reach.
    pub(crate) fn reached(&self) -> usize {
        self.reached
    }

    /// How many children are not reached yet.
    pub(crate) fn unreached(&self) -> usize {
        self.capacity - self.reached
    }

    /// How many children a lazy input said it had and did not hand over
    /// (its iterator ended early).
    pub(crate) fn missing(&self) -> usize {
        self.missing
    }

    /// A slot already in use (no block to add).
    #[inline(always)]
    fn slot(&mut self, at: usize) -> Pin<&mut Option<F>> {
        self.blocks.get_mut(at >> self.shift).slot(at & ((1 << self.shift) - 1))
    }

    fn get(&self, at: usize) -> &Option<F> {
        self.blocks.get(at >> self.shift).get(at & ((1 << self.shift) - 1))
    }

    /// The slot of a reached child that is still placed.
    fn lookup(&self, i: usize) -> Option<usize> {
        if self.loc.is_empty() {
            (i < self.placed).then_some(i)
        } else {
            self.loc.get(i).filter(|&&at| at != NOWHERE).map(|&at| at as usize)
        }
    }

    /// Is child `i` still pending (not reached yet, or placed and not done)?
    pub(crate) fn is_live(&self, i: usize) -> bool {
        if i >= self.reached {
            return i < self.capacity;
        }
        self.lookup(i).is_some_and(|at| self.get(at).is_some())
    }
}

impl<F: Unpin> Slab<F> {
    /// Every child still here, moved out, with its index. Only `Unpin`
    /// children can leave their pinned slot.
    pub(crate) fn take_all(&mut self, source: &mut impl Feed<F>) -> Vec<(usize, F)> {
        let mut out = Vec::new();
        let in_slots = self.reached.max(self.preplaced);
        for i in 0..in_slots {
            if let Some(at) = self.lookup(i) {
                if let Some(f) = self.slot(at).get_mut().take() {
                    out.push((i, f));
                }
            }
        }
        let before = out.len();
        out.extend((in_slots..).zip(self.unbuilt.by_ref()));
        let next = in_slots + (out.len() - before);
        out.extend((next..self.capacity).map_while(|i| Some((i, source.next_child()?))));
        self.reached = self.capacity;
        out
    }
}

impl<F: Future> Slab<F> {
    /// Reaches the next child and polls it: see [`Slab::poll_fresh_run`].
    /// `None` once every child has been reached. (The engine reaches them in
    /// runs; the tests one by one.)
    #[cfg(test)]
    fn poll_fresh(&mut self, cx: &mut Context<'_>) -> Option<(usize, Poll<F::Output>)> {
        let mut got = None;
        let _ = self.poll_fresh_run(cx, &mut crate::shape::Indices, |index, polled, _| {
            got = Some((index, polled));
            ControlFlow::Break(())
        });
        got
    }

    /// Polls the next child placed at construction, in its own slot.
    #[inline(always)]
    fn poll_preplaced(&mut self, cx: &mut Context<'_>) -> (usize, Poll<F::Output>) {
        let index = self.reached;
        self.reached += 1;
        let mut slot = self.slot(index);
        match slot.as_mut().as_pin_mut().map(|fut| fut.poll(cx)) {
            Some(Poll::Ready(out)) => {
                slot.set(None);
                (index, Poll::Ready(out))
            }
            _ => (index, Poll::Pending),
        }
    }

    /// Reaches the children not reached yet, in order, polling each in the
    /// next free slot and handing `on` its index and poll, until `on` breaks
    /// or none is left. The free slot is looked up once per child that stays
    /// pending, not once per child: a run of ready children polls in one.
    ///
    /// Children come from the slab's own list, then from `source` (a lazy
    /// input), which `on` also gets to read (keys live there).
    pub(crate) fn poll_fresh_run<S: Feed<F>>(
        &mut self,
        cx: &mut Context<'_>,
        source: &mut S,
        mut on: impl FnMut(usize, Poll<F::Output>, &S) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        while self.reached < self.preplaced {
            let (index, polled) = self.poll_preplaced(cx);
            on(index, polled, source)?;
        }
        if self.reached >= self.capacity {
            return ControlFlow::Continue(());
        }
        let Self { blocks, shift, placed, free, unbuilt, reached, loc, capacity, missing, .. } = self;
        let mut at = free.pop().map_or(*placed, |at| at as usize);
        // A slot is looked up once a child comes to fill it (looked up
        // ahead, the slot after a full block added a block for a child that
        // never came), and serves the children after it while they complete
        // on their first poll.
        let flow = 'children: loop {
            let Some(mut fut) = next_fresh(unbuilt, source, *reached, capacity, missing) else {
                break ControlFlow::Continue(());
            };
            let mut slot = slot_in(blocks, *shift, at);
            loop {
                let index = *reached;
                *reached += 1;
                slot.set(Some(fut));
                let polled = match slot.as_mut().as_pin_mut() {
                    Some(fut) => fut.poll(cx),
                    None => unreachable!("slab invariant: the slot was just filled"),
                };
                match polled {
                    Poll::Ready(out) => {
                        // The slot is free again, for the next child.
                        slot.set(None);
                        if on(index, Poll::Ready(out), source).is_break() {
                            break 'children ControlFlow::Break(());
                        }
                        match next_fresh(unbuilt, source, *reached, capacity, missing) {
                            Some(following) => fut = following,
                            None => break 'children ControlFlow::Continue(()),
                        }
                    }
                    Poll::Pending => {
                        keep_in(loc, *capacity, placed, at, index);
                        at = free.pop().map_or(*placed, |at| at as usize);
                        if on(index, Poll::Pending, source).is_break() {
                            break 'children ControlFlow::Break(());
                        }
                        continue 'children;
                    }
                }
            }
        };
        // The slot chosen for a next child that did not come stays free.
        if at < *placed {
            free.push(at as u32);
        }
        flow
    }

    /// Polls child `i` again; on completion drops it and returns its output.
    /// A finished (or never reached) child stays `Pending`.
    #[inline]
    #[cfg(test)]
    fn poll(&mut self, i: usize, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.poll_live(i, |fut| fut.poll(cx)).unwrap_or(Poll::Pending)
    }

    /// Polls child `i` if it is still live (reached, placed and not done);
    /// `None` if it is not. One lookup where `is_live` then `poll` take two.
    /// Inlined into the engine's loops: returned through memory, its result
    /// cost a store-forwarding stall per poll. `poll` polls it with the
    /// waker the scheduler chose for it.
    #[inline(always)]
    pub(crate) fn poll_live(
        &mut self,
        i: usize,
        poll: impl FnOnce(Pin<&mut F>) -> Poll<F::Output>,
    ) -> Option<Poll<F::Output>> {
        if i >= self.reached {
            return None;
        }
        let at = self.lookup(i)?;
        let mut slot = self.slot(at);
        let fut = slot.as_mut().as_pin_mut()?;
        let Poll::Ready(out) = poll(fut) else { return Some(Poll::Pending) };
        slot.set(None);
        // Only children still to be reached can reuse the slot: once all are
        // (every call without a limit, after its first pass), freeing costs
        // nothing. A slot about to be reused needs the location table.
        if self.reached < self.capacity {
            if self.loc.is_empty() {
                start_locating(&mut self.loc, self.capacity, self.placed);
            }
            self.free.push(at as u32);
        }
        if let Some(entry) = self.loc.get_mut(i) {
            *entry = NOWHERE;
        }
        Some(Poll::Ready(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> Context<'static> {
        Context::from_waker(std::task::Waker::noop())
    }

    #[test]
    fn ready_children_reuse_one_slot() {
        let mut slab = Slab::new((0..1000).map(std::future::ready).collect::<Vec<_>>());
        let mut seen = Vec::new();
        while let Some((i, polled)) = slab.poll_fresh(&mut cx()) {
            assert_eq!(polled, Poll::Ready(i));
            seen.push(i);
        }
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        assert_eq!(slab.blocks.len(), 1, "one block, its first slot reused");
        assert!(slab.loc.is_empty(), "no child left its own slot");
        assert!((0..1000).all(|i| !slab.is_live(i)));
    }

    /// Pending on the first poll, ready on the second.
    struct Twice(Option<usize>, bool);
    impl Future for Twice {
        type Output = usize;
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<usize> {
            if std::mem::replace(&mut self.1, true) { Poll::Ready(self.0.take().unwrap_or(0)) } else { Poll::Pending }
        }
    }

    #[test]
    fn pending_children_pack_densely_and_keep_their_index() {
        for n in [1, 2, 7, 8, 9, 31, 32, 33, 100] {
            // Even children are ready at once, odd ones stay pending.
            let children: Vec<_> = (0..n).map(|i| Twice(Some(i), i % 2 == 0)).collect();
            let mut slab = Slab::new(children);
            assert!((0..n).all(|i| slab.is_live(i)));
            let mut pending = Vec::new();
            while let Some((i, polled)) = slab.poll_fresh(&mut cx()) {
                match polled {
                    Poll::Ready(v) => assert_eq!((i % 2, v), (0, i)),
                    Poll::Pending => pending.push(i),
                }
            }
            if n > EAGER {
                assert_eq!(slab.placed, pending.len(), "n={n}: one slot per pending child");
            }
            for &i in pending.iter().rev() {
                assert!(slab.is_live(i));
                assert_eq!(slab.poll(i, &mut cx()), Poll::Ready(i));
                assert!(!slab.is_live(i));
                assert_eq!(slab.poll(i, &mut cx()), Poll::Pending, "never polled after completion");
            }
        }
    }

    #[test]
    fn unpin_children_can_be_taken_out() {
        let children: Vec<_> = (0..40).map(|i| Twice(Some(i), false)).collect();
        let mut slab = Slab::new(children);
        for _ in 0..10 {
            let _ = slab.poll_fresh(&mut cx());
        }
        assert_eq!(slab.poll(3, &mut cx()), Poll::Ready(3));
        let taken: Vec<usize> = slab.take_all(&mut crate::shape::Indices).into_iter().map(|(i, _)| i).collect();
        assert_eq!(taken, (0..40).filter(|&i| i != 3).collect::<Vec<_>>());
        assert!((0..40).all(|i| !slab.is_live(i)));
    }

    #[test]
    fn all_pending_children_need_no_location_table() {
        let mut slab = Slab::new((0..100).map(|i| Twice(Some(i), false)).collect::<Vec<_>>());
        while slab.poll_fresh(&mut cx()).is_some() {}
        assert!(slab.loc.is_empty());
        assert_eq!(slab.poll(57, &mut cx()), Poll::Ready(57));
        assert!(!slab.is_live(57) && slab.is_live(58));
    }

    #[test]
    fn few_children_are_placed_at_once() {
        let mut slab = Slab::new([Twice(Some(0), true), Twice(Some(1), false), Twice(Some(2), true)]);
        assert_eq!((slab.preplaced, slab.placed), (3, 3));
        assert!(slab.unbuilt.len() == 0);
        assert_eq!(slab.poll_fresh(&mut cx()), Some((0, Poll::Ready(0))));
        assert_eq!(slab.poll_fresh(&mut cx()), Some((1, Poll::Pending)));
        assert!(slab.is_live(1) && slab.is_live(2) && !slab.is_live(0));
        let taken: Vec<usize> = slab.take_all(&mut crate::shape::Indices).into_iter().map(|(i, _)| i).collect();
        assert_eq!(taken, [1, 2]);
    }

    #[test]
    fn large_or_few_children_use_narrow_or_single_blocks() {
        assert_eq!(Slab::new(vec![std::future::ready([0u8; 4096]); 20]).shift, 3);
        assert_eq!(Slab::new(vec![std::future::ready([0u8; 16384]); 20]).shift, 1);
        assert_eq!(Slab::new(vec![std::future::ready([0u8; 40000]); 20]).shift, 0);
        assert_eq!(Slab::new(vec![std::future::ready(0); 1]).shift, 0);
        assert_eq!(Slab::new(vec![std::future::ready(0); 5]).shift, 3);
        assert_eq!(Slab::new(vec![std::future::ready(0); 3]).shift, 2);
        assert_eq!(Slab::new(vec![std::future::ready(0); 10]).shift, 4);
        assert_eq!(Slab::new(vec![std::future::ready(0); 1000]).shift, 5);
    }
}
