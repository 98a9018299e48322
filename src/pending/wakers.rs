//! The wakers of one set: the state they share with the task polling the
//! set, and a child's own waker.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures::task::{ArcWake, AtomicWaker};

/// What the wakers of one set share.
#[derive(Default)]
pub(super) struct Shared {
    /// The task polling the set.
    pub(super) parent: AtomicWaker,
    /// `RESCAN`: a child polled with the shared waker woke. `REGISTERED`:
    /// the task's waker was ever registered in `parent`. One word, so that
    /// a wake sees both at once.
    pub(super) state: AtomicU8,
    /// Own-waker children that woke, in wake order.
    pub(super) ready: Mutex<Vec<u32>>,
    /// `ready` may be non-empty: spares the lock when nothing woke.
    pub(super) any_ready: AtomicBool,
}

pub(super) const RESCAN: u8 = 1;
pub(super) const REGISTERED: u8 = 2;

impl ArcWake for Shared {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // Only the wake that raises the flag wakes the task: until the engine
        // takes the flag down, the rescan it asks for is due anyway (a run of
        // children that wake at once costs one task wake, not one each).
        // Before the task's waker was ever registered there is no one to
        // wake: the engine is polling, and looks at the flag after it
        // registers (a child that wakes itself costs one atomic operation,
        // not three).
        let before = arc_self.state.fetch_or(RESCAN, Ordering::AcqRel);
        if before & RESCAN == 0 && before & REGISTERED != 0 {
            arc_self.parent.wake();
        }
    }
}

impl Shared {
    /// Takes the rescan request down; `true` if there was one.
    pub(super) fn take_rescan(&self) -> bool {
        self.state.fetch_and(!RESCAN, Ordering::AcqRel) & RESCAN != 0
    }

    /// Registers the task's waker, before the engine looks at the flags once
    /// more and then waits.
    pub(super) fn register(&self, waker: &std::task::Waker) {
        self.parent.register(waker);
        // Only this thread sets the bit: a plain load sees its own store.
        if self.state.load(Ordering::Relaxed) & REGISTERED == 0 {
            self.state.fetch_or(REGISTERED, Ordering::AcqRel);
        }
    }
}

/// A set's [`Shared`], handed to a small pool of this thread's when the set
/// is dropped with no clone of its wakers left anywhere, for the next call
/// made on the thread: a small call allocates one thing fewer. (An `Option`
/// only so that `drop` can move it to the pool: always `Some` before.)
pub(super) struct SharedRef(Option<Arc<Shared>>);

thread_local! {
    static SPARE: RefCell<Vec<Arc<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// Spare `Shared`s kept per thread: enough for the calls one thread has
/// running at once in practice.
const SPARES: usize = 8;

impl SharedRef {
    #[inline]
    pub(super) fn new() -> Self {
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        Self(Some(spare.unwrap_or_default()))
    }
}

impl std::ops::Deref for SharedRef {
    type Target = Arc<Shared>;
    #[inline]
    fn deref(&self) -> &Arc<Shared> {
        self.0.as_ref().expect("a set's shared state is there until the set is dropped")
    }
}

impl Drop for SharedRef {
    fn drop(&mut self) {
        let Some(mut spare) = self.0.take() else { return };
        // Only when nothing else holds it: no child kept a waker. Moved to
        // the pool, not cloned: no reference count to touch.
        let Some(shared) = Arc::get_mut(&mut spare) else { return };
        shared.parent = AtomicWaker::new();
        *shared.state.get_mut() = 0;
        *shared.any_ready.get_mut() = false;
        let ready = shared.ready.get_mut().unwrap_or_else(PoisonError::into_inner);
        if ready.capacity() > 64 {
            *ready = Vec::new();
        } else {
            ready.clear();
        }
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(spare);
            }
        });
    }
}

pub(super) struct OwnWaker {
    pub(super) index: u32,
    /// Already in the ready queue: a second wake before the poll adds nothing.
    pub(super) queued: AtomicBool,
    pub(super) shared: Arc<Shared>,
}

impl ArcWake for OwnWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            arc_self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).push(arc_self.index);
            arc_self.shared.any_ready.store(true, Ordering::Release);
        }
        arc_self.shared.parent.wake();
    }
}
