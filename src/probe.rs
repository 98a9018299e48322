//! Handles that cannot wake anyone: threads, processes, outside systems.
//!
//! A future tells its task when it is ready; a `std::thread::JoinHandle` or a
//! `std::process::Child` can only be asked "done yet?". Such handles come in
//! through an explicit adapter (the compiler refuses a blanket impl over both
//! `Future`s and `JoinHandle`s, error E0119), which turns them into futures
//! that the engine checks on its polling schedule:
//!
//! - [`thread`] for `std::thread::JoinHandle` (a panic is an error value),
//! - [`process`] for `std::process::Child` (its exit status),
//! - [`probe`] for any type implementing [`Probe`],
//! - [`Batch`] for an outside system that answers "which of these are done?"
//!   in one call, as `ray.wait` does: one call per check covers every
//!   pending handle of that backend.
//!
//! Ready values (the spec's "sync" mode) need no adapter: they are
//! `std::future::ready(v)`.
//!
//! How the engine paces them: a probe that is not done parks its waker with
//! the engine that is polling it. While anything is parked, the engine
//! sleeps for the schedule's next interval (the sync entry points follow the
//! [`PollingAlgorithm`](crate::PollingAlgorithm), the async ones a fixed
//! 100 µs, which Tokio's 1 ms timer delivers as about one check per
//! millisecond), then wakes every parked probe for one check. With nothing
//! parked, no timer runs at all. Awaited on its own, outside any
//! `wait`/`gather`, a probe checks itself on the default fixed interval.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::process::{Child, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};

use std::task::{Context, Poll, Waker};
use std::thread::JoinHandle;

use std::time::Duration;

use crate::timer::Timer;

use crate::error::ThreadPanic;

// ---- the engine's side: a scope of parked wakers and the current check ----

/// What the engine lends to the probes it polls, for the length of one poll.
#[derive(Default)]
pub(crate) struct Scope {
    /// Identifies the current check, unique across all engines; 0 until a
    /// probe first asks.
    pub(crate) check: u64,
    /// Wakers of probes that were not done; woken at the next check.
    pub(crate) parked: Vec<Waker>,
    /// The longest `min_interval` of the batch backends parked: the checks
    /// come no faster, unless the call set its own polling.
    pub(crate) min_interval: Duration,
    /// The call set its own polling (which then wins over `min_interval`).
    pub(crate) explicit_polling: bool,
}

static NEXT_CHECK: AtomicU64 = AtomicU64::new(1);

pub(crate) fn next_check() -> u64 {
    NEXT_CHECK.fetch_add(1, Ordering::Relaxed)
}

/// What the engine polling on this thread lends its probes for one round:
/// 16 bytes and `Copy`, so lending it costs two `Cell` swaps.
/// (Two aligned words, no `bool`s: copied in and out of the thread-local
/// without a partial-store stall.)
#[derive(Clone, Copy)]
struct Frame {
    check: u64,
    /// Wakers this round's probes pushed onto `PARKED` (the top ones).
    parked: u32,
    /// `ACTIVE` (an engine is polling on this thread) and `EXPLICIT` (its
    /// call set its own polling).
    flags: u32,
}

const ACTIVE: u32 = 1;
const EXPLICIT: u32 = 2;
const NO_ROUND: Frame = Frame { check: 0, parked: 0, flags: 0 };

thread_local! {
    static FRAME: Cell<Frame> = const { Cell::new(NO_ROUND) };
    // The wakers parked during the rounds in progress on this thread, with
    // the check interval each asked for, the innermost round's on top; each
    // round takes its own at its end.
    static PARKED: RefCell<Vec<(Waker, Duration)>> = const { RefCell::new(Vec::new()) };
}

/// Lends `scope` to the probes polled on this thread until the returned
/// loan is given back (`Loan::give_back`) or dropped (on a panic: the outer
/// round's frame comes back, and what this round parked is dropped).
pub(crate) fn lend(scope: Option<&Scope>) -> Loan {
    let (check, explicit) = scope.map_or((0, 0), |s| (s.check, if s.explicit_polling { EXPLICIT } else { 0 }));
    let outer = FRAME.replace(Frame { check, parked: 0, flags: ACTIVE | explicit });
    Loan { outer, check, open: true }
}

/// A scope lent for one round: see [`lend`].
pub(crate) struct Loan {
    outer: Frame,
    /// The check the round started with.
    check: u64,
    open: bool,
}

impl Loan {
    /// Ends the round: what its probes did goes back into `scope` (made
    /// only if they did anything), and the outer round (nested engines) gets
    /// its frame back.
    pub(crate) fn give_back<'a>(mut self, scope: impl FnOnce() -> &'a mut Scope) {
        self.open = false;
        let mine = FRAME.replace(self.outer);
        if mine.check == self.check && mine.parked == 0 {
            // The common case: no probes.
            return;
        }
        let scope = scope();
        scope.check = mine.check;
        if mine.parked > 0 {
            let _ = PARKED.try_with(|p| {
                let mut p = p.borrow_mut();
                let from = p.len() - mine.parked as usize;
                for (waker, min_interval) in p.drain(from..) {
                    scope.min_interval = scope.min_interval.max(min_interval);
                    scope.parked.push(waker);
                }
            });
        }
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        if !self.open {
            return;
        }
        let mine = FRAME.replace(self.outer);
        if mine.parked > 0 {
            let _ = PARKED.try_with(|p| {
                let mut p = p.borrow_mut();
                let keep = p.len() - mine.parked as usize;
                p.truncate(keep);
            });
        }
    }
}

/// Changes the current round's frame, if a round is in progress.
fn with_frame<R>(f: impl FnOnce(&mut Frame) -> R) -> Option<R> {
    let mut frame = FRAME.get();
    if frame.flags & ACTIVE == 0 {
        return None;
    }
    let out = f(&mut frame);
    FRAME.set(frame);
    Some(out)
}

/// The polling engine's current check, numbered on first use (0 means not
/// yet), so that calls without probes never touch the global counter.
pub(crate) fn current_check() -> Option<u64> {
    with_frame(|frame| {
        if frame.check == 0 {
            frame.check = next_check();
        }
        frame.check
    })
}

/// Parks `waker` with the engine polling on this thread, if any, asking for
/// checks no faster than `min_interval`.
fn park_with(waker: &Waker, min_interval: Duration) -> bool {
    if FRAME.get().flags & ACTIVE == 0 {
        return false;
    }
    // At thread exit (a call made in a thread-local's `Drop`) the stack may
    // be gone already: the probe then keeps its own timer.
    let pushed = PARKED.try_with(|p| p.borrow_mut().push((waker.clone(), min_interval))).is_ok();
    if pushed {
        with_frame(|frame| frame.parked += 1);
    }
    pushed
}

/// The call polling this handle set its own polling.
pub(crate) fn call_sets_polling() -> bool {
    FRAME.get().flags & EXPLICIT != 0
}

/// Parks a handle with the polling engine, or, awaited alone (or with the
/// engine's parking space gone), on one timer of its own, re-armed: never a
/// new timer per poll, however often the handle is polled.
#[derive(Default)]
pub(crate) struct Parker {
    fallback: Option<Timer>,
}

impl Parker {
    /// `true` if parked with the engine polling it.
    fn park(&mut self, cx: &mut Context<'_>) -> bool {
        self.park_for(cx, None)
    }

    /// Parks, asking the engine for checks no faster than `min_interval`
    /// (`true`); alone, wakes the task after `min_interval` (or the
    /// schedule's fixed interval) on the handle's own timer (`false`).
    pub(crate) fn park_for(&mut self, cx: &mut Context<'_>, min_interval: Option<Duration>) -> bool {
        if park_with(cx.waker(), min_interval.unwrap_or(Duration::ZERO)) {
            self.fallback = None;
            return true;
        }
        let every = min_interval.unwrap_or_else(crate::config::fixed_interval);
        let timer = self.fallback.get_or_insert_with(|| Timer::after(every));
        if timer.poll_due(cx).is_ready() {
            timer.reset(crate::timer::after(crate::timer::now(), every));
            cx.waker().wake_by_ref();
        }
        false
    }
}

impl fmt::Debug for Parker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Parker").field("alone", &self.fallback.is_some()).finish()
    }
}

// ---- one handle, one question ----

/// A handle that can be asked "done yet?", and gives its output when it is.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use concurry::probe::{probe, Probe};
///
/// struct Flag(Arc<AtomicBool>);
/// impl Probe for Flag {
///     type Output = &'static str;
///     fn try_finish(&mut self) -> Option<&'static str> {
///         self.0.load(Ordering::Acquire).then_some("set")
///     }
/// }
///
/// let flag = Arc::new(AtomicBool::new(false));
/// let setter = flag.clone();
/// std::thread::spawn(move || setter.store(true, Ordering::Release));
/// let out = concurry::gather(vec![probe(Flag(flag))]).run().unwrap();
/// assert_eq!(out, ["set"]);
/// ```
pub trait Probe {
    /// What the handle gives when done.
    type Output;
    /// `Some(output)` once done; `None` while not. Called again only until it
    /// returns `Some`.
    fn try_finish(&mut self) -> Option<Self::Output>;
}

/// A [`Probe`] as a future, paced by the engine that polls it.
///
/// # Examples
///
/// ```
/// let h = std::thread::spawn(|| 7);
/// let out = concurry::try_gather([concurry::probe::thread(h)]).run().unwrap();
/// assert_eq!(out, [7]);
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Probed<P> {
    probe: P,
    parker: Parker,
    /// The engine check it last asked at and parked with the engine at:
    /// polled again within that check, it neither asks nor parks again.
    parked_at: Option<u64>,
}

impl<P> std::fmt::Debug for Probed<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probed").finish_non_exhaustive()
    }
}

impl<P: Probe + Unpin> Future for Probed<P> {
    type Output = P::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<P::Output> {
        let check = current_check();
        if check.is_some() && self.parked_at == check {
            // Asked at this check already, and parked with the engine: the
            // check's wake-up comes to it. (A few children are all polled at
            // every round of a call: asking and parking at each would pile
            // wakers up until the check.)
            return Poll::Pending;
        }
        if let Some(out) = self.probe.try_finish() {
            return Poll::Ready(out);
        }
        // Alone (or with the engine's parking gone, at thread exit), on its
        // own timer, asking at every poll.
        self.parked_at = if self.parker.park(cx) { check } else { None };
        Poll::Pending
    }
}

impl<P> Probed<P> {
    /// The probe inside.
    ///
    /// # Examples
    ///
    /// ```
    /// let p = concurry::probe::process(std::process::Command::new("true").spawn().unwrap());
    /// assert!(p.get_ref().get_ref().id() > 0);
    /// # drop(p.into_inner().into_inner().wait());
    /// ```
    pub fn get_ref(&self) -> &P {
        &self.probe
    }

    /// The probe inside, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut p = concurry::probe::thread(std::thread::spawn(|| 1));
    /// let _: &mut concurry::probe::ThreadProbe<i32> = p.get_mut();
    /// assert_eq!(concurry::try_gather([p]).run().unwrap(), [1]);
    /// ```
    pub fn get_mut(&mut self) -> &mut P {
        &mut self.probe
    }

    /// The probe back, to use its handle another way: a child process from
    /// a timeout's pending children, say, to kill it (see [`process`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Command;
    /// let p = concurry::probe::process(Command::new("sleep").arg("30").spawn().unwrap());
    /// let mut child = p.into_inner().into_inner();
    /// child.kill().unwrap();
    /// assert!(!child.wait().unwrap().success());
    /// ```
    pub fn into_inner(self) -> P {
        self.probe
    }
}

/// Wraps any [`Probe`] as a future.
///
/// # Examples
///
/// ```
/// # use concurry::probe::{probe, Probe};
/// struct Done;
/// impl Probe for Done {
///     type Output = u8;
///     fn try_finish(&mut self) -> Option<u8> { Some(1) }
/// }
/// assert_eq!(concurry::try_gather([probe(Done)]).run().unwrap(), [1]);
/// ```
pub fn probe<P: Probe + Unpin>(probe: P) -> Probed<P> {
    Probed { probe, parker: Parker::default(), parked_at: None }
}

/// A `std::thread::JoinHandle` as a [`Probe`]: see [`thread`].
///
/// # Examples
///
/// ```
/// // Made by `probe::thread`; rarely named.
/// let p: concurry::probe::Probed<concurry::probe::ThreadProbe<u8>> = concurry::probe::thread(std::thread::spawn(|| 1));
/// assert_eq!(concurry::try_gather([p]).run().unwrap(), [1]);
/// ```
#[derive(Debug)]
pub struct ThreadProbe<T>(Option<JoinHandle<T>>);

impl<T> Probe for ThreadProbe<T> {
    type Output = Result<T, ThreadPanic>;

    fn try_finish(&mut self) -> Option<Self::Output> {
        if !self.0.as_ref()?.is_finished() {
            return None;
        }
        let handle = self.0.take()?;
        Some(handle.join().map_err(ThreadPanic::from_payload))
    }
}

/// Waits on an OS thread. Its output is `Ok(value)`, or
/// `Err(`[`ThreadPanic`]`)` if the thread panicked, a failure like any
/// other `Err`.
///
/// # Examples
///
/// ```
/// use concurry::{try_gather, probe::thread};
///
/// let handles: Vec<_> = (0..4).map(|i| thread(std::thread::spawn(move || i * 10))).collect();
/// assert_eq!(try_gather(handles).run().unwrap(), [0, 10, 20, 30]);
/// ```
pub fn thread<T>(handle: JoinHandle<T>) -> Probed<ThreadProbe<T>> {
    probe(ThreadProbe(Some(handle)))
}

/// A `std::process::Child` as a [`Probe`]: see [`process`].
///
/// Dropping it leaves the process running, as dropping a `Child` does,
/// unless [`kill_on_drop`](Probed::kill_on_drop) was set: then a process not
/// yet reaped is killed and reaped.
///
/// # Examples
///
/// ```
/// let child = std::process::Command::new("true").spawn().unwrap();
/// let p: concurry::probe::Probed<concurry::probe::ProcessProbe> = concurry::probe::process(child);
/// assert!(concurry::try_gather([p]).run().unwrap()[0].success());
/// ```
#[derive(Debug)]
pub struct ProcessProbe {
    // `Some` until `into_inner` takes it: the `Drop` impl forbids moving it
    // out otherwise.
    child: Option<Child>,
    kill_on_drop: bool,
}

impl ProcessProbe {
    /// The child process.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = std::process::Command::new("true").spawn().unwrap();
    /// let pid = child.id();
    /// let p = concurry::probe::process(child);
    /// assert_eq!(p.get_ref().get_ref().id(), pid);
    /// # drop(p.into_inner().into_inner().wait());
    /// ```
    pub fn get_ref(&self) -> &Child {
        self.child.as_ref().expect("the child is taken only by `into_inner`, which consumes the probe")
    }

    /// The child process, mutably: to kill it, or take its pipes.
    ///
    /// # Examples
    ///
    /// ```
    /// let child = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    /// let mut p = concurry::probe::process(child);
    /// p.get_mut().get_mut().kill().unwrap();
    /// let status = concurry::try_gather([p]).run().unwrap();
    /// assert!(!status[0].success());
    /// ```
    pub fn get_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("the child is taken only by `into_inner`, which consumes the probe")
    }

    /// The child process back; it is yours, so
    /// [`kill_on_drop`](Probed::kill_on_drop) no longer applies.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Command;
    /// let p = concurry::probe::process(Command::new("sleep").arg("30").spawn().unwrap()).kill_on_drop(true);
    /// let mut child = p.into_inner().into_inner();
    /// child.kill().unwrap();
    /// assert!(!child.wait().unwrap().success());
    /// ```
    pub fn into_inner(mut self) -> Child {
        self.child.take().expect("the child is taken only here, which consumes the probe")
    }
}

impl Probe for ProcessProbe {
    type Output = io::Result<ExitStatus>;

    fn try_finish(&mut self) -> Option<Self::Output> {
        self.get_mut().try_wait().transpose()
    }
}

impl Drop for ProcessProbe {
    fn drop(&mut self) {
        let Some(child) = self.child.as_mut().filter(|_| self.kill_on_drop) else { return };
        // Only a process still running: one already reaped (the probe
        // finished) has no pid of its own any more, and an error here means
        // we cannot tell.
        if let Ok(None) = child.try_wait() {
            let _ = child.kill();
            // SIGKILL cannot be caught: this returns as soon as the kernel
            // has ended the process, and leaves no zombie behind.
            let _ = child.wait();
        }
    }
}

impl Probed<ProcessProbe> {
    /// Kill the process when the probe is dropped before the process has
    /// been reaped (default `false`), as Tokio's
    /// [`Command::kill_on_drop`](https://docs.rs/tokio/latest/tokio/process/struct.Command.html#method.kill_on_drop)
    /// does. The probe is dropped with the call that holds it when that
    /// call fails fast or is itself dropped, and with a timeout's partial
    /// result (its pending children) when you drop that. The process is
    /// then killed and reaped (`wait`), so no zombie is left; dropping
    /// blocks until the kernel has ended it, which is at once unless the
    /// process is stuck in the kernel (an uninterruptible read, say). A
    /// process that has exited, or a probe that finished, is left alone.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::process::Command;
    /// use std::time::Duration;
    /// use concurry::probe::process;
    ///
    /// let child = Command::new("sleep").arg("30").spawn().unwrap();
    /// let pid = child.id().to_string();
    /// let err = concurry::try_gather([process(child).kill_on_drop(true)])
    ///     .timeout(Duration::from_millis(20))
    ///     .run()
    ///     .unwrap_err();
    /// drop(err); // the timeout dropped the probe: `sleep` is killed and reaped
    /// let alive = Command::new("kill").args(["-0", &pid]).stderr(std::process::Stdio::null()).status().unwrap();
    /// assert!(!alive.success());
    /// ```
    pub fn kill_on_drop(mut self, kill: bool) -> Self {
        self.probe.kill_on_drop = kill;
        self
    }
}

/// Waits on a child process; its output is its exit status.
///
/// Dropping the future leaves the process running (as dropping a `Child`
/// does): a timeout, a fail-fast return or a dropped call would leave it
/// behind. Either take the `Child` back from a timeout's pending children
/// ([`Probed::into_inner`], then [`ProcessProbe::into_inner`]) and decide,
/// or set [`kill_on_drop`](Probed::kill_on_drop) to have it killed and
/// reaped when dropped.
///
/// # Examples
///
/// ```
/// use std::process::Command;
///
/// let child = Command::new("true").spawn().unwrap();
/// let status = concurry::try_gather([concurry::probe::process(child)]).run().unwrap();
/// assert!(status[0].success());
/// ```
///
/// With `.keep_partial()`, a timeout hands back the pending children: take
/// each `Child` back, to kill it (or wait longer).
///
/// ```
/// use std::process::Command;
/// use std::time::Duration;
/// use concurry::probe::process;
///
/// let slow = Command::new("sleep").arg("30").spawn().unwrap();
/// let got = concurry::try_gather([process(slow)]).timeout(Duration::from_millis(20)).keep_partial().run().unwrap();
/// let partial = got.into_partial().expect("it timed out");
/// for (_key, probe) in partial.pending.into_children() {
///     let mut child = probe.into_inner().into_inner();
///     child.kill().unwrap();
///     assert!(!child.wait().unwrap().success());
/// }
/// ```
///
/// Bad code, do not use! The timeout drops the probe, and `sleep` runs on
/// for 30 seconds, with no handle left to kill or reap it:
///
/// ```
/// # use std::process::Command;
/// # use std::time::Duration;
/// let slow = Command::new("sleep").arg("30").spawn().unwrap();
/// # let pid = slow.id();
/// let _ = concurry::gather([concurry::probe::process(slow)]).timeout(Duration::from_millis(20)).run();
/// # let _ = Command::new("kill").arg(pid.to_string()).status(); // not in a test run
/// ```
///
/// With [`kill_on_drop`](Probed::kill_on_drop), the same line leaves
/// nothing behind:
///
/// ```
/// # use std::process::Command;
/// # use std::time::Duration;
/// let slow = Command::new("sleep").arg("30").spawn().unwrap();
/// let _ = concurry::gather([concurry::probe::process(slow).kill_on_drop(true)])
///     .timeout(Duration::from_millis(20))
///     .run();
/// ```
pub fn process(child: Child) -> Probed<ProcessProbe> {
    probe(ProcessProbe { child: Some(child), kill_on_drop: false })
}

// ---- many handles, one question ----

pub use crate::batch::{Answer, Batch, BatchError, BatchHandle, BatchProbe};
