//! The wakers of one set: every child is polled with a waker that names it,
//! so that a wake polls the child that woke and no other.
//!
//! A [`ChildWaker`] is a child's index; a wake sets that child's bit in the
//! set's [`Shared`] bitmap (`woke`), and the engine takes the bits it finds
//! set, a word at a time, and polls those children. The first wake in an
//! empty word also marks the word (`summary`, for sets of more than 64) and
//! raises `any_ready`; the wake that raises `any_ready` wakes the task.
//!
//! A child is first polled with the set's *spare* waker, which nobody else
//! holds (its index is set to the child's just before). If the child kept a
//! clone of it (a timer, a channel, a task handle registered it), it becomes
//! that child's own, and the child is polled with it from then on;
//! otherwise it stays the spare, for the next child. So children that are
//! ready at once, or that wake themselves during their poll without keeping
//! the waker (a yield), cost no allocation, and a set allocates one waker
//! per child that waits on something else, as `FuturesUnordered` does.
//!
//! A bit is taken (swapped out) before its child is polled: a wake during
//! or after that poll sets it again and polls the child again. A wake of a
//! finished child's waker (a clone someone kept) sets a bit the engine
//! skips.

use std::cell::RefCell;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::task::{ArcWake, waker_ref};

use crate::sync::{AtomicBool, AtomicU32, AtomicU64, AtomicWaker, Ordering};

/// Indices of children past the first 64 that woke, taken from the bitmap:
/// boxed, since only sets of more than 64 have any, and the set stays small
/// (it is moved a few times per call).
#[allow(clippy::box_collection, reason = "the box keeps the set small; only large sets have any")]
pub(super) type High = Option<Box<Vec<u32>>>;

/// Children per word of the bitmaps.
const WORD: u32 = u64::BITS;

/// What the wakers of one set share with the task polling it.
pub(super) struct Shared {
    /// The task polling the set: registered when a round is about to return
    /// `Pending`.
    parent: AtomicWaker,
    /// A bit per child (word `i / 64`, bit `i % 64`) whose waker woke since
    /// the engine last took it.
    woke: Box<[AtomicU64]>,
    /// A bit per word of `woke` that a wake found empty (its first wake
    /// marks it): the engine visits only marked words. Empty for a set of
    /// at most 64 children, whose one word is always visited.
    summary: Box<[AtomicU64]>,
    /// Some bit may be set: spares the look when nothing woke.
    any_ready: AtomicBool,
}

fn words(bits: usize) -> Box<[AtomicU64]> {
    (0..bits.div_ceil(WORD as usize)).map(|_| AtomicU64::new(0)).collect()
}

impl Shared {
    /// For a set of `capacity` children.
    fn new(capacity: usize) -> Self {
        let woke = words(capacity.max(1));
        let summary = if woke.len() > 1 { words(woke.len()) } else { Box::default() };
        Self { parent: AtomicWaker::new(), woke, summary, any_ready: AtomicBool::new(false) }
    }

    /// Child `index` woke: `true` if its word was empty, so that this wake
    /// owes the announcement (marking the word, raising `any_ready`).
    #[inline]
    fn mark(&self, index: u32) -> bool {
        let (word, bit) = ((index / WORD) as usize, index % WORD);
        let Some(cell) = self.woke.get(word) else { return false };
        if cell.fetch_or(1 << bit, Ordering::AcqRel) != 0 {
            return false;
        }
        if let Some(summary) = self.summary.get(word / WORD as usize) {
            summary.fetch_or(1 << (word as u32 % WORD), Ordering::AcqRel);
        }
        true
    }

    /// Takes the bits set: children 0 to 63 into `low` (a bit each, so that
    /// a small call allocates nothing), the others' indices onto `high`.
    #[inline]
    fn take(&self, low: &mut u64, high: &mut High) {
        if self.summary.is_empty() {
            *low |= self.woke[0].swap(0, Ordering::AcqRel);
            return;
        }
        self.take_marked(low, high);
    }

    /// [`Shared::take`] for a set of more than 64: the marked words only.
    fn take_marked(&self, low: &mut u64, high: &mut High) {
        let mut take_word = |word: usize| {
            let mut bits = self.woke[word].swap(0, Ordering::AcqRel);
            if word == 0 {
                *low |= bits;
                return;
            }
            let high = high.get_or_insert_with(Box::default);
            while bits != 0 {
                high.push(word as u32 * WORD + bits.trailing_zeros());
                bits &= bits - 1;
            }
        };
        for (s, summary) in self.summary.iter().enumerate() {
            let mut marked = summary.swap(0, Ordering::AcqRel);
            while marked != 0 {
                take_word(s * WORD as usize + marked.trailing_zeros() as usize);
                marked &= marked - 1;
            }
        }
    }
}

/// A child's waker.
pub(super) struct ChildWaker {
    /// The child it belongs to. Changed only while it is the spare (no one
    /// else holds it), before each poll.
    index: AtomicU32,
    shared: Arc<Shared>,
}

impl ChildWaker {
    /// Names the spare for child `index`, before that child's poll.
    #[inline(always)]
    pub(super) fn name(&self, index: usize) {
        self.index.store(index as u32, Ordering::Relaxed);
    }

    /// No one but the set holds this spare: no one can make a clone
    /// without holding one, so a count of one stays one.
    #[inline(always)]
    pub(super) fn is_alone(this: &Arc<Self>) -> bool {
        Arc::strong_count(this) == 1
    }
}

impl ArcWake for ChildWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let shared = &arc_self.shared;
        // Only the wake that raises `any_ready` wakes the task: until the
        // engine takes it down (then takes every bit, this one included),
        // the look it asks for is due anyway. (Swaps, not stores: see
        // `crate::sync`.)
        if shared.mark(arc_self.index.load(Ordering::Relaxed)) && !shared.any_ready.swap(true, Ordering::AcqRel) {
            shared.parent.wake();
        }
    }
}

/// A set's shared state and its spare waker, when no one else holds them.
type Unused = (Arc<Shared>, Option<Arc<ChildWaker>>);

thread_local! {
    /// Wakers of small sets dropped on this thread with no clone left
    /// anywhere, for the next call made here: a small call then allocates
    /// none.
    static SPARE: RefCell<Vec<Unused>> = const { RefCell::new(Vec::new()) };
}

/// Sets' wakers kept per thread: enough for the calls one thread has running
/// at once in practice.
const SPARES: usize = 8;

/// The wakers of one set.
pub(super) struct Wakers {
    /// `Some` until the set is dropped (then moved to the pool, if no one
    /// else holds it).
    shared: Option<Arc<Shared>>,
    /// The waker a child without one of its own is polled with; no one else
    /// holds it. Made when first needed.
    spare: Option<Arc<ChildWaker>>,
    /// Each child's own waker, by index, once it kept one; made and sized
    /// on first use (boxed: the set stays small, and it is moved a few times
    /// per call).
    #[expect(clippy::box_collection, reason = "the box keeps the set small; most sets never keep a waker")]
    kept: Option<Box<Vec<Option<Arc<ChildWaker>>>>>,
    /// The task's waker was registered in `shared.parent`.
    registered: bool,
}

impl Wakers {
    /// The wakers of a set of `capacity` children.
    #[inline]
    pub(super) fn new(capacity: usize) -> Self {
        // The pool is per thread, and loom runs every modelled thread on one:
        // the model makes its wakers afresh.
        #[cfg(not(loom))]
        if capacity <= WORD as usize {
            if let Some((shared, spare)) = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten() {
                return Self { shared: Some(shared), spare, kept: None, registered: false };
            }
        }
        Self::fresh(capacity)
    }

    #[cold]
    fn fresh(capacity: usize) -> Self {
        Self { shared: Some(Arc::new(Shared::new(capacity))), spare: None, kept: None, registered: false }
    }

    /// The bitmap has a bit for each of `capacity` children.
    #[inline(always)]
    pub(super) fn fits(&self, capacity: usize) -> bool {
        capacity <= self.shared().woke.len() * WORD as usize
    }

    #[inline(always)]
    fn shared(&self) -> &Arc<Shared> {
        self.shared.as_ref().expect("a set's shared state is there until the set is dropped")
    }

    /// Polls child `index` with its own waker if it kept one, else with the
    /// spare.
    #[inline(always)]
    pub(super) fn poll<T>(&mut self, index: usize, poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> Poll<T> {
        let Some(own) = self.kept.as_ref().and_then(|kept| kept.get(index)).and_then(Option::as_ref) else {
            let spare = self.spare_for(index);
            let polled = poll(&mut Context::from_waker(&waker_ref(spare)));
            if polled.is_pending() && !self.spare_is_alone() {
                self.keep_spare(index);
            }
            return polled;
        };
        let polled = poll(&mut Context::from_waker(&waker_ref(own)));
        if polled.is_ready() {
            if let Some(kept) = &mut self.kept {
                kept[index] = None;
            }
        }
        polled
    }

    /// The spare, made if needed, named for child `index`: the waker to poll
    /// a child that kept none with (a child never polled, or one that kept
    /// none).
    #[inline(always)]
    pub(super) fn spare_for(&mut self, index: usize) -> &Arc<ChildWaker> {
        let Self { shared, spare, .. } = self;
        let spare = spare.get_or_insert_with(|| {
            let shared = shared.as_ref().expect("a set's shared state is there until the set is dropped");
            Arc::new(ChildWaker { index: AtomicU32::new(0), shared: shared.clone() })
        });
        spare.name(index);
        spare
    }

    /// No one but the set holds the spare: no one can make a clone without
    /// holding one, so a count of one stays one.
    #[inline(always)]
    pub(super) fn spare_is_alone(&self) -> bool {
        self.spare.as_ref().is_none_or(ChildWaker::is_alone)
    }

    /// Child `index`, pending, kept a clone of the spare: it is its own from
    /// now on (it is named for the child already).
    #[cold]
    pub(super) fn keep_spare(&mut self, index: usize) {
        let Some(own) = self.spare.take() else { return };
        let kept = self.kept.get_or_insert_with(Box::default);
        if kept.len() <= index {
            kept.resize_with(index + 1, || None);
        }
        kept[index] = Some(own);
    }

    /// Takes the children that woke: 0 to 63 as bits into `low`, the others
    /// onto `high` (popped from the back); `false` if none may have.
    #[inline]
    pub(super) fn take_ready(&self, low: &mut u64, high: &mut High) -> bool {
        let shared = self.shared();
        if !shared.any_ready.load(Ordering::Relaxed) || !shared.any_ready.swap(false, Ordering::AcqRel) {
            return false;
        }
        shared.take(low, high);
        if let Some(high) = high {
            high.reverse();
        }
        true
    }

    /// Registers the task's waker, before the engine looks at the bitmap
    /// once more and then waits.
    #[inline]
    pub(super) fn register(&mut self, cx: &Context<'_>) {
        self.shared().parent.register(cx.waker());
        self.registered = true;
    }

    /// The task's waker was registered at least once.
    pub(super) fn registered(&self) -> bool {
        self.registered
    }
}

impl Drop for Wakers {
    fn drop(&mut self) {
        self.kept = None;
        #[cfg(not(loom))]
        self.give_back();
    }
}

impl Wakers {
    /// Hands the shared state and the spare of a small set to this thread's
    /// pool, if no clone of any waker is left anywhere.
    #[cfg(not(loom))]
    fn give_back(&mut self) {
        let spare_alone = self.spare_is_alone();
        let holders = 1 + usize::from(self.spare.is_some());
        let Some(shared) = self.shared.take() else { return };
        if !spare_alone || Arc::strong_count(&shared) != holders || !shared.summary.is_empty() {
            return;
        }
        // Pairs with the `Release` of the last clones' drops: their wakes
        // are seen here.
        crate::sync::fence(Ordering::Acquire);
        if self.registered {
            drop(shared.parent.take());
        }
        // Alone: plain stores do (a bit of a child that woke and completed
        // may be left).
        shared.any_ready.store(false, Ordering::Relaxed);
        shared.woke[0].store(0, Ordering::Relaxed);
        let entry = (shared, self.spare.take());
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(entry);
            }
        });
    }
}
