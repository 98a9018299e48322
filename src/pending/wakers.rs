//! The wakers of one set: every child is polled with a waker that names it,
//! so that a wake polls the child that woke and no other.
//!
//! A [`ChildWaker`] is a child's index and two flags ([`QUEUED`],
//! [`POLLING`]); the wakers of a set share a [`Shared`]: the ready list
//! (children woken from anywhere) and the waker of the task polling the set.
//!
//! A child is first polled with the set's *spare* waker, which nobody else
//! holds. If the child kept a clone of it (a timer, a channel, a task handle
//! registered it), it becomes that child's own, and the child is polled with
//! it from then on; otherwise it stays the spare, for the next child. So
//! children that are ready at once, or that wake themselves during their
//! poll without keeping the waker (a yield), cost no allocation, and a set
//! allocates one waker per child that waits on something else, as
//! `FuturesUnordered` does.
//!
//! # The protocol of the flags
//!
//! - `POLLING` is up on the spare (which no child holds) and while a child
//!   polled with it decides whether it keeps it. A wake then only raises
//!   `QUEUED`; the engine reads it when the poll returns (`fetch_and`, which
//!   sees any wake that came before), and lists the child to be polled
//!   again.
//! - Otherwise the first wake raises `QUEUED`, pushes the index on the ready
//!   list, and (if it raised `any_ready`) wakes the task; later wakes find
//!   `QUEUED` and add nothing.
//! - The engine takes `QUEUED` down just before each poll of a kept waker:
//!   a wake before that point is answered by that poll, and one after it
//!   (during the poll too) lists the child again.
//! - When the child completes, its waker gets `POLLING` for good if anyone
//!   still holds a clone: that clone wakes no one.

use std::cell::RefCell;
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};

use futures::task::{ArcWake, waker_ref};

use crate::sync::{AtomicBool, AtomicU8, AtomicU32, AtomicWaker, Mutex, Ordering, fence};

/// Woken since its poll began: listed to be polled again (on the ready
/// list, or in the engine's own lists).
const QUEUED: u8 = 1;
/// Being polled, or idle as the set's spare: a wake only raises `QUEUED`.
const POLLING: u8 = 2;

/// What the wakers of one set share with the task polling it.
pub(super) struct Shared {
    /// The task polling the set: registered when a round is about to return
    /// `Pending`.
    parent: AtomicWaker,
    /// Children whose own waker woke, in wake order.
    ready: Mutex<Vec<u32>>,
    /// `ready` may be non-empty: spares the lock when nothing woke.
    any_ready: AtomicBool,
}

impl Shared {
    fn new() -> Self {
        Self { parent: AtomicWaker::new(), ready: Mutex::new(Vec::new()), any_ready: AtomicBool::new(false) }
    }
}

/// A child's waker.
pub(super) struct ChildWaker {
    /// The child it belongs to. Read by a wake only while `POLLING` is
    /// clear, and written only while it is set.
    index: AtomicU32,
    /// `QUEUED` and `POLLING`.
    state: AtomicU8,
    shared: Arc<Shared>,
}

impl ArcWake for ChildWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        let before = arc_self.state.fetch_or(QUEUED, Ordering::AcqRel);
        if before & (QUEUED | POLLING) == 0 {
            let shared = &arc_self.shared;
            let index = arc_self.index.load(Ordering::Relaxed);
            shared.ready.lock().unwrap_or_else(PoisonError::into_inner).push(index);
            // Only the wake that raises `any_ready` wakes the task: until the
            // engine takes the flag down (then drains the list, this push
            // included), the drain it asks for is due anyway. (A swap, not a
            // store: see `crate::sync`.)
            if !shared.any_ready.swap(true, Ordering::AcqRel) {
                shared.parent.wake();
            }
        }
    }
}

impl ChildWaker {
    /// Takes `QUEUED` down on the spare, which no one else holds: `true` if
    /// it was up (the child woke during its poll).
    #[inline(always)]
    fn take_queued(&self) -> bool {
        // Alone, plain loads and stores are exact. The loom model cannot see
        // that the count synchronizes with the clones' drops (`std`'s `Arc`
        // is not modelled), so there it reads with a swap, which always sees
        // the last write.
        #[cfg(loom)]
        return self.state.swap(POLLING, Ordering::AcqRel) & QUEUED != 0;
        #[cfg(not(loom))]
        {
            let woke = self.state.load(Ordering::Relaxed) & QUEUED != 0;
            if woke {
                self.state.store(POLLING, Ordering::Relaxed);
            }
            woke
        }
    }

    /// After a child polled with this spare is found pending: `Some(woke)`
    /// if no one else holds it (it stays the spare), `None` if the child
    /// kept a clone (see [`Wakers::keep_spare`]). The fence pairs with the
    /// `Release` of the clones' drops, so that their wakes are seen.
    #[inline(always)]
    pub(super) fn check_spare(self: &Arc<Self>) -> Option<bool> {
        // No one can make a clone without holding one: a count of one stays
        // one.
        if Arc::strong_count(self) != 1 {
            return None;
        }
        fence(Ordering::Acquire);
        Some(self.take_queued())
    }

    /// A spare: idle, `POLLING`.
    fn spare(shared: &Arc<Shared>) -> Arc<Self> {
        Arc::new(Self { index: AtomicU32::new(0), state: AtomicU8::new(POLLING), shared: shared.clone() })
    }
}

/// A set's shared state and its spare waker, when no one else holds them.
type Unused = (Arc<Shared>, Option<Arc<ChildWaker>>);

thread_local! {
    /// Wakers of sets dropped on this thread with no clone left anywhere,
    /// for the next call made here: a small call then allocates none.
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
    /// Each child's own waker, by index, once it kept one; sized on first
    /// use.
    kept: Vec<Option<Arc<ChildWaker>>>,
    /// The task's waker was registered in `shared.parent`.
    registered: bool,
}

impl Wakers {
    #[inline]
    pub(super) fn new() -> Self {
        // The pool is per thread, and loom runs every modelled thread on one:
        // the model makes its wakers afresh.
        #[cfg(not(loom))]
        if let Some((shared, spare)) = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten() {
            return Self { shared: Some(shared), spare, kept: Vec::new(), registered: false };
        }
        Self { shared: Some(Arc::new(Shared::new())), spare: None, kept: Vec::new(), registered: false }
    }

    #[inline(always)]
    fn shared(&self) -> &Arc<Shared> {
        self.shared.as_ref().expect("a set's shared state is there until the set is dropped")
    }

    /// Polls child `index` with its own waker if it kept one, else with the
    /// spare; `true` with `Pending` if it woke during the poll and is listed
    /// nowhere (the caller polls it again). A child on its own waker that
    /// wakes during its poll is on the ready list.
    #[inline(always)]
    pub(super) fn poll<T>(&mut self, index: usize, poll: impl FnOnce(&mut Context<'_>) -> Poll<T>) -> (Poll<T>, bool) {
        let Some(own) = self.kept.get(index).and_then(Option::as_ref) else {
            let polled = poll(&mut Context::from_waker(&waker_ref(self.spare())));
            let woke = polled.is_pending() && self.after_spare(index);
            return (polled, woke);
        };
        // `QUEUED` down before the poll: a wake from now on lists it again
        // (on the ready list, even during this poll). A swap, not a store
        // (a wake may be raising `QUEUED` right now): see `crate::sync`.
        own.state.swap(0, Ordering::AcqRel);
        let polled = poll(&mut Context::from_waker(&waker_ref(own)));
        if polled.is_ready() {
            if let Some(own) = self.kept[index].take() {
                // Clones left wake no one (a wake of a finished child would
                // only be skipped).
                if Arc::strong_count(&own) > 1 {
                    own.state.swap(POLLING, Ordering::AcqRel);
                }
            }
        }
        (polled, false)
    }

    /// The spare, made if needed: the waker to poll a child that kept none
    /// with (a child never polled, or one that kept none).
    #[inline(always)]
    pub(super) fn spare(&mut self) -> &Arc<ChildWaker> {
        let Self { shared, spare, .. } = self;
        spare.get_or_insert_with(|| {
            ChildWaker::spare(shared.as_ref().expect("a set's shared state is there until the set is dropped"))
        })
    }

    /// After child `index` was polled with the spare and is pending: `true`
    /// if it woke during the poll.
    ///
    /// Nothing needs a look after a child that completed: a clone it made
    /// and kept still finds `POLLING` (it wakes no one, or, once the spare is
    /// a later child's own, that child for nothing), and a wake it made
    /// leaves `QUEUED` up, which polls the next pending child on the spare
    /// once more than needed. Both are rare; a look would cost every ready
    /// child.
    #[inline(always)]
    fn after_spare(&mut self, index: usize) -> bool {
        match self.spare.as_ref().and_then(ChildWaker::check_spare) {
            Some(woke) => woke,
            None => self.keep_spare(index),
        }
    }

    /// Child `index`, pending, kept a clone of the spare: it is its own from
    /// now on. `true` if it woke during the poll.
    #[cold]
    pub(super) fn keep_spare(&mut self, index: usize) -> bool {
        let Some(own) = self.spare.take() else { return false };
        // The index is written before `POLLING` is cleared, which a wake
        // reads first.
        own.index.store(index as u32, Ordering::Relaxed);
        let before = own.state.fetch_and(!POLLING, Ordering::AcqRel);
        self.keep(index, own);
        before & QUEUED != 0
    }

    fn keep(&mut self, index: usize, own: Arc<ChildWaker>) {
        if self.kept.len() <= index {
            self.kept.resize_with(index + 1, || None);
        }
        self.kept[index] = Some(own);
    }

    /// A child whose waker woke may be on the ready list: `true` once the
    /// list was moved onto `into` (popped from the back: wake order).
    #[inline]
    pub(super) fn take_ready(&self, into: &mut Vec<u32>) -> bool {
        let shared = self.shared();
        if !shared.any_ready.load(Ordering::Relaxed) || !shared.any_ready.swap(false, Ordering::AcqRel) {
            return false;
        }
        let mut ready = shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
        ready.reverse();
        if into.is_empty() {
            // Swapped, not taken: steady wakes allocate nothing.
            std::mem::swap(into, &mut *ready);
        } else {
            into.append(&mut ready);
        }
        true
    }

    /// Registers the task's waker, before the engine looks at the ready list
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
        self.kept = Vec::new();
        #[cfg(not(loom))]
        self.give_back();
    }
}

impl Wakers {
    /// Hands the shared state and the spare to this thread's pool, if no
    /// clone of any waker is left anywhere.
    #[cfg(not(loom))]
    fn give_back(&mut self) {
        let spare_alone = self.spare.as_ref().is_none_or(|s| Arc::strong_count(s) == 1);
        let holders = 1 + usize::from(self.spare.is_some());
        let Some(shared) = self.shared.take() else { return };
        if !spare_alone || Arc::strong_count(&shared) != holders {
            return;
        }
        // Pairs with the `Release` of the last clones' drops: their writes
        // (a push on the ready list) are seen here.
        fence(Ordering::Acquire);
        if self.registered {
            drop(shared.parent.take());
        }
        if shared.any_ready.load(Ordering::Relaxed) {
            shared.any_ready.store(false, Ordering::Relaxed);
            let mut ready = shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
            if ready.capacity() > 64 {
                *ready = Vec::new();
            } else {
                ready.clear();
            }
        }
        // A child that woke the spare and completed in the same poll left
        // `QUEUED` up (see `after_spare`): the next call starts clean.
        if let Some(spare) = &self.spare {
            spare.state.store(POLLING, Ordering::Relaxed);
        }
        let entry = (shared, self.spare.take());
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(entry);
            }
        });
    }
}
