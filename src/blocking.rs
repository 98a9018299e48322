//! The rules for blocking the calling thread on a call's future.
//!
//! A blocking call polls its future right here, on the calling thread, with
//! a small park-and-wake loop ([`park_on`]), inside the context of the
//! runtime this crate creates once and reuses ([`shared_runtime`]). So the
//! call's own timers (its deadline, the checks of its probes) and any timer
//! or task its children create while it runs live on that runtime, which
//! never shuts down: a call made while the caller's runtime shuts down (in a
//! `Drop`, say) still returns.
//!
//! Where the calling thread may block:
//! - a thread with no Tokio runtime, a `spawn_blocking` thread, a thread
//!   inside `Handle::enter`, the thread inside a multi-thread runtime's
//!   `block_on`: it blocks, as any blocking call would;
//! - a multi-thread runtime's worker: first `block_in_place`, so the runtime
//!   moves its other tasks to another worker and they keep running;
//! - a current-thread runtime's own thread: blocking it would deadlock every
//!   task on it (and Tokio would panic), so the call returns
//!   [`BlockingError`] telling the caller to use the async form. The same
//!   holds inside a `LocalSet`, whose tasks only run on its own thread.
//!
//! What we rely on in Tokio, since it has no public "may I block here?":
//! a runtime's scheduler threads (a current-thread runtime's thread, a
//! multi-thread runtime's workers) defer the wake of
//! `tokio::task::yield_now`, while any other thread sees it at once (see
//! `context::defer` in Tokio's sources). [`on_scheduler_thread`] asks exactly
//! that. A `LocalSet` driven from a multi-thread runtime's `block_on` thread
//! is the one place no such question tells apart from a plain `block_on`:
//! there Tokio's own `block_in_place` refuses (by panicking), and we catch
//! that refusal and return [`BlockingError`]. The tests in
//! `tests/blocking.rs` pin each of these cases, so a Tokio release that
//! changes them fails our CI rather than a user's program.

use std::cell::Cell;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Wake, Waker};

use futures::task::{ArcWake, waker_ref};
use std::thread::Thread;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::error::BlockingError;

/// The runtime the blocking entry points run their timers on, whatever
/// thread calls them. Created on first use, then shared by every call.
///
/// Plain synchronous code can spawn tasks on it too, to gather them later.
///
/// # Examples
///
/// ```
/// let task = concurry::shared_runtime().spawn(async { 40 + 2 });
/// assert_eq!(concurry::try_gather([task]).run().unwrap(), [42]);
/// ```
pub fn shared_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("concurry-runtime")
            .enable_all()
            .build()
            .expect("concurry could not start its Tokio runtime (out of threads or file descriptors?)")
    })
}

/// Spawns `task` on the caller's runtime, or, outside any, on the shared
/// one: for work of ours that must run on its own (a batch round trip, a
/// lone probe's timer).
pub(crate) fn spawn_detached(task: impl Future<Output = ()> + Send + 'static) {
    drop(match Handle::try_current() {
        Ok(handle) => handle.spawn(task),
        Err(_) => shared_runtime().spawn(task),
    });
}

/// Blocks on `fut` where the rules above allow it. The future is pinned by
/// the caller, where it already is: a call's future is a few hundred bytes,
/// and moving it here cost a copy per call.
#[inline]
pub(crate) fn block_on<F: Future>(entry: &'static str, fut: Pin<&mut F>) -> Result<F::Output, BlockingError> {
    let Ok(handle) = Handle::try_current() else { return Ok(park_on(fut)) };
    let multi_thread = handle.runtime_flavor() == RuntimeFlavor::MultiThread;
    if on_scheduler_thread() {
        // A worker may hand its tasks over; a current-thread runtime cannot.
        return if multi_thread {
            Ok(tokio::task::block_in_place(|| park_on(fut)))
        } else {
            Err(BlockingError::new(entry))
        };
    }
    if multi_thread && !block_in_place_allowed() {
        return Err(BlockingError::new(entry));
    }
    Ok(park_on(fut))
}

/// Is this thread one of a runtime's scheduler threads? Those defer the wake
/// of `yield_now` until they have run their other tasks; any other thread
/// gets it at once.
fn on_scheduler_thread() -> bool {
    struct Flag(AtomicBool);
    impl Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::Release);
        }
    }
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = Waker::from(flag.clone());
    let yielded = pin!(tokio::task::yield_now());
    let _ = yielded.poll(&mut Context::from_waker(&waker));
    !flag.0.load(Ordering::Acquire)
}

/// On a thread that is not a worker of a multi-thread runtime: may it block?
/// Only a `LocalSet` there forbids it, and Tokio tells that only by the
/// panic of `block_in_place`, raised before it runs anything. Elsewhere
/// (`spawn_blocking` threads, `Handle::enter`, `block_on`) the empty
/// `block_in_place` returns at once.
fn block_in_place_allowed() -> bool {
    std::panic::catch_unwind(|| tokio::task::block_in_place(|| ())).is_ok()
}

/// Wakes the thread blocked in [`park_on`].
struct Unparker {
    thread: Thread,
    woken: AtomicBool,
}

impl ArcWake for Unparker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::Release);
        arc_self.thread.unpark();
    }
}

thread_local! {
    // One waker per thread, reused by every call; a nested call (a blocking
    // call inside a child of another) takes a fresh one, so that the two
    // never eat each other's wake-ups.
    static UNPARKER: Cell<Option<Arc<Unparker>>> = const { Cell::new(None) };
}

/// Polls `fut` on this thread until it is ready, parking between wake-ups,
/// inside the shared runtime's context (its timers, its `spawn`).
fn park_on<F: Future>(mut fut: Pin<&mut F>) -> F::Output {
    let _runtime = shared_runtime().enter();
    // `try_with`: at thread exit (a call in a thread-local's `Drop`) the
    // thread's waker may be gone; a fresh one serves.
    let unparker = UNPARKER
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_else(|| Arc::new(Unparker { thread: std::thread::current(), woken: AtomicBool::new(false) }));
    // Borrowed, not cloned: a child that keeps the waker clones it itself.
    let waker = waker_ref(&unparker);
    let mut cx = Context::from_waker(&waker);
    let out = loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            break out;
        }
        while !unparker.woken.swap(false, Ordering::AcqRel) {
            std::thread::park();
        }
    };
    unparker.woken.store(false, Ordering::Relaxed);
    let _ = UNPARKER.try_with(|u| u.set(Some(unparker)));
    out
}
