//! Wakes the processes of [`task::spawn_process`](crate::task::spawn_process)
//! when a child process exits, so that each is noticed when it ends rather
//! than at the call's next check.
//!
//! A `std::process::Child` cannot wake anyone. On Unix the kernel signals
//! `SIGCHLD` whenever a child of this process exits. The first process
//! spawned starts one listener for it, a task on the crate's own runtime
//! (`concurry-io`, see `crate::blocking`), which wakes every process still
//! waited on; each then asks its own child (`try_wait`). Signals coalesce,
//! and one wakes them all, so no exit is missed: a process registers its
//! waker first and asks its child after, so an exit before the
//! registration is seen by that question, and one after it by the signal.
//!
//! Where no listener can run (not Unix, or the signal could not be
//! registered), [`ExitWatch::new`] gives `None` and the process is checked
//! on the call's polling schedule instead, as any
//! [`probe::process`](crate::probe::process) is.

use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::Waker;

use futures::task::AtomicWaker;

/// One process's registration: woken at every `SIGCHLD` while it lives.
#[derive(Debug)]
pub(crate) struct ExitWatch {
    waker: Arc<AtomicWaker>,
}

/// The processes waited on, and how long the list was after its last
/// cleaning (it is cleaned of dropped watches when it has doubled).
#[derive(Default)]
struct Waiters {
    watches: Vec<Weak<AtomicWaker>>,
    cleaned: usize,
}

impl ExitWatch {
    /// A watch for one more process, or `None` where this process cannot
    /// listen for its children's exits (then check on a schedule).
    pub(crate) fn new() -> Option<Self> {
        let waiters = listening()?;
        let waker = Arc::new(AtomicWaker::new());
        let mut list = waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if list.watches.len() >= 2 * list.cleaned.max(32) {
            list.watches.retain(|w| w.strong_count() > 0);
            list.cleaned = list.watches.len();
        }
        list.watches.push(Arc::downgrade(&waker));
        Some(Self { waker })
    }

    /// The waker to wake at the next exit of a child. Ask the child after
    /// this, not before: an exit in between is otherwise missed.
    pub(crate) fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }
}

/// The list of waiters, once the listener runs; `None` if it cannot.
fn listening() -> Option<&'static Mutex<Waiters>> {
    static WAITERS: OnceLock<Option<Mutex<Waiters>>> = OnceLock::new();
    WAITERS.get_or_init(|| start().then(Mutex::default)).as_ref()
}

/// Starts the listener: `true` if it runs.
#[cfg(all(unix, not(loom)))]
fn start() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = crate::blocking::own_io_runtime();
    // Registered here, before any process is waited on: every exit after
    // this point is delivered to the stream.
    let registered = {
        let _context = runtime.enter();
        signal(SignalKind::child())
    };
    let Ok(mut exits) = registered else { return false };
    runtime.spawn(async move {
        while exits.recv().await.is_some() {
            wake_all();
        }
    });
    true
}

#[cfg(not(all(unix, not(loom))))]
fn start() -> bool {
    false
}

/// Wakes every process still waited on, and forgets the dropped ones.
///
/// The wakers run outside the lock (one may spawn a process, which takes
/// it), each under `catch_unwind`: a waker that panics, a breach of its
/// executor's contract, must not end the one listener every process
/// relies on.
#[cfg(all(unix, not(loom)))]
fn wake_all() {
    let Some(waiters) = listening() else { return };
    let alive: Vec<Arc<AtomicWaker>> = {
        let mut list = waiters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let alive: Vec<_> = list.watches.iter().filter_map(Weak::upgrade).collect();
        list.watches.retain(|watch| watch.strong_count() > 0);
        list.cleaned = list.watches.len();
        alive
    };
    for waker in alive {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| waker.wake()));
    }
}
