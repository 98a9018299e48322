//! The rules for blocking the calling thread on a call's future.
//!
//! A blocking call drives its future with the shared runtime's own
//! [`Handle::block_on`](tokio::runtime::Handle::block_on) ([`shared_runtime`]),
//! right here on the calling thread. That gives it what a Tokio task has:
//! - a cooperative budget, renewed at every poll: a child that Tokio keeps
//!   ready (a `tokio::io::repeat` reader, a `consume_budget` loop) answers
//!   `Pending` once the budget is spent, so the call's deadline, its
//!   cancellation token and its return condition are checked whatever the
//!   children do (this is the one thing we cannot do ourselves: Tokio's
//!   budget setter is private, and `Handle::block_on` is the public way to
//!   poll a borrowed future under a budget);
//! - the shared runtime's context: any task or timer the children create
//!   lives on that runtime, which never shuts down, so a call made while the
//!   caller's runtime shuts down (in a `Drop`, say) still returns.
//!
//! The call's own timers (its deadline, the checks of its probes, the pacing
//! of its batch handles) do not run on the shared runtime's workers, which
//! the user's tasks may keep busy: while a blocking call polls, they are
//! made on the crate's timer thread (see `crate::timer`).
//!
//! Where the calling thread may block, and how:
//! - a thread with no Tokio runtime, a `spawn_blocking` thread, a thread
//!   inside `Handle::enter`: it blocks in the shared runtime's `block_on`;
//! - a multi-thread runtime's worker: the same, inside `block_in_place`, so
//!   the runtime moves its other tasks to another worker and they keep
//!   running;
//! - the thread inside a runtime's `block_on` (the body of `#[tokio::main]`
//!   or of a multi-thread `#[tokio::test]`), and a `LocalSet`'s `run_until`
//!   there: it blocks in place, in that runtime's context, lending each poll
//!   the budget that runtime gave the caller's poll ([`park_on`]). Tokio
//!   gives no way to leave that context but `block_in_place`, which panics
//!   in a `LocalSet`, and no way short of that panic to tell a `LocalSet`
//!   from a plain `block_on`. So in a `LocalSet`'s `run_until` its local
//!   tasks wait until the call returns: a child that waits on one of them
//!   ends only by the call's timeout or token. Use the async form there;
//! - refused with [`BlockingError`], telling the caller to use the async
//!   form: a current-thread runtime's own thread, and a task of a
//!   `LocalSet` (blocking either would deadlock the tasks that only that
//!   thread runs), and a `block_on` poll that has spent its whole budget
//!   before the call (no budget is left to lend).
//!
//! What we rely on in Tokio, since it has no public "may I block here?":
//! - `tokio::runtime::worker_index` tells a runtime's scheduler threads (a
//!   multi-thread runtime's workers, the thread driving a current-thread
//!   runtime) from the rest;
//! - a runtime polls the futures it drives (tasks, `block_on`) under a
//!   budget of at most 128 units, and nothing else does (a `spawn_blocking`
//!   closure, a plain thread, the inside of `block_in_place` run
//!   unconstrained): [`budget_left`] counts it with `poll_proceed`, then
//!   puts it back as it was. Code that wraps a blocking call in
//!   `tokio::task::unconstrained` inside a `block_on` hides that budget;
//!   there the call blocks through `block_in_place` (which Tokio refuses, by
//!   a panic, in a `LocalSet`: do not do that there);
//! - a task's id is set while it is polled, and not while a `block_on` or a
//!   `run_until` future is (`tokio::task::try_id`).
//!
//! The tests in `tests/blocking.rs` and `tests/hardening.rs` pin each of
//! these cases, so a Tokio release that changes them fails our CI rather
//! than a user's program.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use futures::task::{ArcWake, waker_ref};

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};
use tokio::task::coop::RestoreOnPending;

use crate::error::BlockingError;
use crate::sync::{AtomicBool, Ordering, Thread, current_thread, park};

/// The runtime the blocking entry points run their children's work on,
/// whatever thread calls them. Created on first use, then shared by every
/// call.
///
/// Plain synchronous code can spawn tasks on it too, to gather them later.
/// Tasks that keep its workers busy slow those tasks only: a blocking
/// call's deadline and its probes' checks run on a timer thread of their
/// own.
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

/// Spawns `task`, work of ours that must run on its own (a batch round
/// trip): on the caller's runtime for an async call; for a blocking call, or
/// outside any runtime, on a runtime of the crate's own (`concurry-io`, one
/// thread), which the user's tasks cannot occupy as they can the shared
/// runtime's workers.
pub(crate) fn spawn_detached<T: Send + 'static>(
    task: impl Future<Output = T> + Send + 'static,
) -> tokio::task::JoinHandle<T> {
    match Handle::try_current() {
        Ok(handle) if !in_blocking_call() => handle.spawn(task),
        _ => own_io_runtime().spawn(task),
    }
}

/// The crate's own runtime for round trips, started on first use; should
/// its thread fail to start, the shared runtime serves instead.
pub(crate) fn own_io_runtime() -> &'static Handle {
    static IO: OnceLock<Handle> = OnceLock::new();
    IO.get_or_init(|| {
        let built = tokio::runtime::Builder::new_current_thread().enable_all().build();
        own_thread("concurry-io", built.ok()).unwrap_or_else(|| shared_runtime().handle().clone())
    })
}

/// Runs `runtime` on a thread of its own named `name`, for ever; its handle.
pub(crate) fn own_thread(name: &str, runtime: Option<Runtime>) -> Option<Handle> {
    let runtime = runtime?;
    let handle = runtime.handle().clone();
    std::thread::Builder::new().name(name.into()).spawn(move || runtime.block_on(std::future::pending::<()>())).ok()?;
    Some(handle)
}

/// How this thread is polling a blocking call's future, if it is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Driving {
    No,
    /// In the shared runtime's `block_on` ([`drive`]): a nested blocking
    /// call may leave it through `block_in_place`.
    OwnBlockOn,
    /// In place ([`park_on`]), in the caller's context, which may be a
    /// `LocalSet`'s: a nested call is placed by the same rules as this one.
    InPlace,
}

thread_local! {
    // Set while this thread polls a blocking call's future (see `Driven`).
    static IN_DRIVE: Cell<Driving> = const { Cell::new(Driving::No) };
    // Whether this thread has driven a call through `Handle::block_on`, and
    // so registered Tokio's thread-local parker before `PARKER_ALIVE` below.
    static DROVE: Cell<bool> = const { Cell::new(false) };
    // Registered after Tokio's parker, so torn down before it at thread exit
    // (thread-locals go in the reverse order): while it is alive, so is the
    // parker `Handle::block_on` needs.
    static PARKER_ALIVE: Canary = const { Canary };
}

struct Canary;
impl Drop for Canary {
    fn drop(&mut self) {}
}

/// Is this thread polling a blocking call's future right now? The crate's
/// timers made there go to the timer thread.
pub(crate) fn in_blocking_call() -> bool {
    IN_DRIVE.get() != Driving::No
}

/// Blocks on `fut` where the rules above allow it. The future is pinned by
/// the caller, where it already is: a call's future is a few hundred bytes,
/// and moving it here cost a copy per call.
#[inline]
#[cfg(not(loom))]
pub(crate) fn block_on<F: Future>(entry: &'static str, fut: Pin<&mut F>) -> Result<F::Output, BlockingError> {
    let handle = match Handle::try_current() {
        Ok(handle) => handle,
        // At thread exit (a call in a thread-local's `Drop`) Tokio's context
        // may be gone: poll with a parker of our own, without a budget.
        Err(e) if e.is_thread_local_destroyed() => return Ok(park_on(fut, false)),
        Err(_) => return Ok(drive(fut)),
    };
    if IN_DRIVE.get() == Driving::OwnBlockOn {
        // A blocking call inside a child of another (or in the `Drop` of
        // one): inside our own `block_on`, which `block_in_place` may leave
        // for this call's own, with a budget of its own. (Under a call that
        // blocks in place, the rules below place this one too.)
        return Ok(tokio::task::block_in_place(|| drive(fut)));
    }
    if tokio::runtime::worker_index().is_some() {
        // A worker may hand its tasks over (also after an earlier
        // `block_in_place` in the same task, which left it without its
        // scheduler); a current-thread runtime cannot.
        return match handle.runtime_flavor() {
            RuntimeFlavor::MultiThread => Ok(tokio::task::block_in_place(|| drive(fut))),
            _ => Err(BlockingError::new(entry)),
        };
    }
    match budget_left() {
        // Outside any runtime's poll (`Handle::enter`, `spawn_blocking`):
        // there `block_in_place` only runs its closure.
        None => Ok(tokio::task::block_in_place(|| drive(fut))),
        // A task on a thread that is not a worker: a `LocalSet`'s.
        Some(_) if tokio::task::try_id().is_some() => Err(BlockingError::new(entry)),
        // Inside a `block_on` (or a `LocalSet`'s `run_until` there), with a
        // budget to lend each poll.
        Some(left) if left >= MIN_BUDGET => Ok(park_on(fut, true)),
        Some(_) => Err(BlockingError::budget_spent(entry)),
    }
}

/// The loom model (tests/loom.rs) has no Tokio: its blocking calls park
/// with [`park_on`], the part of this module where threads meet.
#[cfg(loom)]
pub(crate) fn block_on<F: Future>(_entry: &'static str, fut: Pin<&mut F>) -> Result<F::Output, BlockingError> {
    Ok(park_on(fut, false))
}

/// The fewest budget units a call blocking in place needs per poll to make
/// progress (see [`park_on`]).
const MIN_BUDGET: usize = 2;

/// Polls `fut` to the end under the shared runtime's `block_on`, with a
/// fresh cooperative budget at every poll.
fn drive<F: Future>(fut: Pin<&mut F>) -> F::Output {
    if DROVE.get() && PARKER_ALIVE.try_with(|_| ()).is_err() {
        return park_on(fut, false);
    }
    let out = shared_runtime().handle().block_on(Driven(fut, Driving::OwnBlockOn));
    if !DROVE.get() {
        let _ = PARKER_ALIVE.try_with(|_| ());
        DROVE.set(true);
    }
    out
}

/// Marks the thread as inside a blocking call, and how, while its future is
/// polled.
struct Driven<'a, F>(Pin<&'a mut F>, Driving);

impl<F: Future> Future for Driven<'_, F> {
    type Output = F::Output;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        struct Reset(Driving);
        impl Drop for Reset {
            fn drop(&mut self) {
                IN_DRIVE.set(self.0);
            }
        }
        let _reset = Reset(IN_DRIVE.replace(self.1));
        self.0.as_mut().poll(cx)
    }
}

/// The budget units left to this poll, if a runtime made it (a task, a
/// `block_on`): those run under a budget of at most 128 units, while
/// anything else runs unconstrained (`None`). Each unit taken is given
/// back, last first, so the budget ends as it was.
fn budget_left() -> Option<usize> {
    const MORE_THAN_A_BUDGET: usize = 130;
    let mut cx = Context::from_waker(Waker::noop());
    let mut taken: [Option<RestoreOnPending>; MORE_THAN_A_BUDGET] = [const { None }; MORE_THAN_A_BUDGET];
    let mut left = None;
    for (units, slot) in taken.iter_mut().enumerate() {
        match tokio::task::coop::poll_proceed(&mut cx) {
            Poll::Ready(restore) => *slot = Some(restore),
            Poll::Pending => {
                left = Some(units);
                break;
            }
        }
    }
    for slot in taken.iter_mut().rev() {
        drop(slot.take());
    }
    left
}

/// Wakes the thread blocked in [`park_on`].
struct Unparker {
    thread: Thread,
    woken: AtomicBool,
}

impl ArcWake for Unparker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // A swap, not a store, though the value read is not needed: see
        // `crate::sync` on writes to atomics that another thread swaps.
        arc_self.woken.swap(true, Ordering::Release);
        arc_self.thread.unpark();
    }
}

/// Polls `fut` on this thread until it is ready, parking between wake-ups,
/// in the runtime context the thread already has. For two places where
/// `Handle::block_on` cannot run:
/// - inside a runtime's `block_on` (`lend_budget`): the thread is polling
///   under that runtime's budget, and no public call leaves its context
///   without `block_in_place`, which panics in a `LocalSet`. Each poll of
///   `fut` takes one unit of that budget with `poll_proceed` and gives it
///   back after, which puts the budget back as it was: every poll gets what
///   was left when the call began, less one unit;
/// - a thread whose Tokio thread-locals are gone (a call in a
///   thread-local's `Drop` at thread exit): no budget at all. There a child
///   that only Tokio's budget makes return (a `tokio::io::repeat` reader)
///   is polled for ever: nothing can bound it without those thread-locals.
#[cold]
fn park_on<F: Future>(mut fut: Pin<&mut F>, lend_budget: bool) -> F::Output {
    let unparker = Arc::new(Unparker { thread: current_thread(), woken: AtomicBool::new(false) });
    let waker = waker_ref(&unparker);
    let mut cx = Context::from_waker(&waker);
    loop {
        let lent = match lend_budget {
            true => match tokio::task::coop::poll_proceed(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(restore) => Some(restore),
                Poll::Pending => None,
            },
            false => None,
        };
        let polled = Pin::new(&mut Driven(fut.as_mut(), Driving::InPlace)).poll(&mut cx);
        drop(lent);
        if let Poll::Ready(out) = polled {
            return out;
        }
        while !unparker.woken.swap(false, Ordering::AcqRel) {
            park();
        }
    }
}
