//! `wait` / `async_wait`: return when a condition holds, with what completed
//! and what is still pending.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};

use crate::engine::{Drive, Engine, Entry, Options, option_methods};
use crate::error::{Error, ParseError};
use crate::partial::{Discard, KeepPartial, PartialPolicy};
use crate::progress::End;
use crate::shape::{Feed, IntoChildren, Keys, Slots};
use crate::{Outcome, Pending};

/// When `wait` returns.
///
/// Parses the spec's strings, case-insensitively.
///
/// # Examples
///
/// ```
/// use concurry::ReturnWhen;
///
/// assert_eq!("FIRST_COMPLETED".parse::<ReturnWhen>()?, ReturnWhen::FirstCompleted);
/// assert_eq!(ReturnWhen::default(), ReturnWhen::AllCompleted);
/// # Ok::<(), concurry::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReturnWhen {
    /// When every child has completed (the default).
    #[default]
    AllCompleted,
    /// As soon as at least one child has completed; every child already
    /// complete when first polled comes back together.
    FirstCompleted,
    /// As soon as a child fails (an `Err` output, a panicked task or
    /// thread); when every child has completed if none fails.
    FirstException,
}

impl ReturnWhen {
    const NAMES: &'static [&'static str] = &["all_completed", "first_completed", "first_exception"];

    /// The spec's string.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concurry::ReturnWhen::FirstException.as_str(), "first_exception");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllCompleted => "all_completed",
            Self::FirstCompleted => "first_completed",
            Self::FirstException => "first_exception",
        }
    }
}

impl fmt::Display for ReturnWhen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReturnWhen {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        [Self::AllCompleted, Self::FirstCompleted, Self::FirstException]
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("return condition", s, Self::NAMES))
    }
}

/// What `wait` returns: each completed child's output with its key, in
/// completion order, and the children still pending.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let w = concurry::async_wait(['a', 'b'].map(std::future::ready)).await.unwrap();
/// let mut done = w.done;
/// done.sort();
/// assert_eq!(done, [(0, 'a'), (1, 'b')]);
/// assert!(w.pending.is_empty());
/// # }
/// ```
pub struct Waited<L: Keys, F, T> {
    /// `(key, output)` of every child that completed, in completion order:
    /// `done[0]` is the first child to complete, not the input's first
    /// child. [`get`](Self::get) finds an output by its key.
    pub done: Vec<(L::Key, T)>,
    /// The children still pending, ready to be waited on again.
    pub pending: Pending<L, F>,
}

impl<L: Keys, F, T> Waited<L, F, T> {
    /// The output of the child keyed `key`, if it completed: by key, not by
    /// place in [`done`](Self::done), which is in completion order.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let slow_first = |ms: u64, v: char| async move { tokio::time::sleep(Duration::from_millis(ms)).await; v };
    /// let w = concurry::async_wait(vec![slow_first(20, 'a'), slow_first(10, 'b')]).await.unwrap();
    /// assert_eq!(w.done[0], (1, 'b')); // completion order
    /// assert_eq!(w.get(&0), Some(&'a')); // input 0, by key
    /// # }
    /// ```
    pub fn get(&self, key: &L::Key) -> Option<&T>
    where
        L::Key: PartialEq,
    {
        self.done.iter().find(|(k, _)| k == key).map(|(_, out)| out)
    }

    /// The two halves, for the Python habit `done, not_done = wait(..)`:
    /// `let (done, pending) = w.into_parts();`. `done` is in completion
    /// order (see [`done`](Self::done)); `pending` can be waited on again.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::{pending, ready}, pin::Pin};
    ///
    /// let calls: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> = vec![Box::pin(pending()), Box::pin(ready(7))];
    /// let (done, pending) = concurry::wait(calls).first_completed().run()?.into_parts();
    /// assert_eq!(done, [(1, 7)]);
    /// assert_eq!(pending.len(), 1);
    /// # Ok::<(), concurry::Error>(())
    /// ```
    ///
    /// The result itself is not a tuple; the compiler says "expected
    /// `Waited<..>`, found `(_, _)`":
    ///
    /// ```compile_fail,E0308
    /// let (done, pending) = concurry::wait([std::future::ready(1)]).run()?;
    /// # Ok::<(), concurry::Error>(())
    /// ```
    // The two fields' own types, spelled out: an alias would hide them.
    #[allow(clippy::type_complexity)]
    pub fn into_parts(self) -> (Vec<(L::Key, T)>, Pending<L, F>) {
        (self.done, self.pending)
    }
}

/// The two halves, as [`Waited::into_parts`] gives them:
/// `let (done, pending): (Vec<_>, _) = w.into();`.
///
/// # Examples
///
/// ```
/// let w = concurry::wait([std::future::ready('a')]).run().unwrap();
/// let (done, pending): (Vec<_>, _) = w.into();
/// assert_eq!((done, pending.len()), (vec![(0, 'a')], 0));
/// ```
impl<L: Keys, F, T> From<Waited<L, F, T>> for (Vec<(L::Key, T)>, Pending<L, F>) {
    fn from(waited: Waited<L, F, T>) -> Self {
        waited.into_parts()
    }
}

/// Shows what is there: the `(key, output)` pairs done, and the keys pending.
///
/// # Examples
///
/// ```
/// let w = concurry::wait([std::future::ready('a')]).run().unwrap();
/// assert_eq!(format!("{w:?}"), "Waited { done: [(0, 'a')], pending: Pending { keys: [] } }");
/// ```
impl<L: Keys, F, T: fmt::Debug> fmt::Debug for Waited<L, F, T>
where
    L::Key: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waited").field("done", &self.done).field("pending", &self.pending).finish()
    }
}

impl<L: Keys<Key = usize>, F, T: Slots> Waited<L, F, T> {
    /// For a tuple input: the completed outputs as a tuple of `Option`s,
    /// each in its element's slot (`None` for the elements still pending),
    /// and the children still pending.
    ///
    /// # Examples
    ///
    /// A tuple gather that timed out, with `.keep_partial()`: use what
    /// arrived.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// async fn user() -> Result<&'static str, std::io::Error> { Ok("ada") }
    /// async fn orders() -> Result<u32, std::io::Error> { tokio::time::sleep(Duration::from_secs(9)).await; Ok(3) }
    ///
    /// let got = concurry::async_try_gather((user(), orders()))
    ///     .timeout(Duration::from_millis(100))
    ///     .keep_partial()
    ///     .await
    ///     .unwrap();
    /// let ((user, orders), pending) = got.into_partial().unwrap().into_slots();
    /// assert_eq!((user, orders), (Some("ada"), None));
    /// assert_eq!(pending.len(), 1);
    /// # }
    /// ```
    pub fn into_slots(self) -> (T::Options, Pending<L, F>) {
        (T::into_slots(self.done), self.pending)
    }
}

/// The result of a `wait`.
///
/// # Examples
///
/// ```
/// use concurry::{shape::Indices, WaitResult};
/// let result: WaitResult<Indices, std::future::Ready<u8>> = concurry::wait(vec![std::future::ready(1)]).run();
/// assert_eq!(result.unwrap().done, [(0, 1)]);
/// ```
pub type WaitResult<L, F, P = Discard> = Result<
    <P as PartialPolicy>::Output<Waited<L, F, <F as Future>::Output>, Waited<L, F, <F as Future>::Output>>,
    Error,
>;

/// A `wait` call being set up: choose options, then `.await` it
/// (`async_wait`) or `.run()` it (`wait`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::{async_wait, ReturnWhen};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let children = vec![
///     Box::pin(async { tokio::time::sleep(Duration::from_millis(30)).await; "slow" })
///         as std::pin::Pin<Box<dyn Future<Output = &str> + Send>>,
///     Box::pin(async { "fast" }),
/// ];
/// let w = async_wait(children)
///     .return_when(ReturnWhen::FirstCompleted)
///     .timeout(Duration::from_secs(5))
///     .await
///     .unwrap();
/// assert_eq!(w.done, [(1, "fast")]);
/// assert_eq!(w.pending.len(), 1);
/// # }
/// ```
#[must_use = "a wait does nothing until it is `.await`ed (async code) or `.run()` (blocking code)"]
pub struct Wait<S: IntoChildren, P = Discard> {
    options: Options,
    /// The children until the first poll starts the call. (The builder is
    /// the future itself, so that a forgotten `.await` gets the compiler's
    /// "consider `.await`ing".)
    children: Option<S>,
    /// The call, from its first poll on; apart from `children`, so that
    /// starting the call moves only the children.
    running: Option<WaitFuture<S::Keys, S::Future, P>>,
    return_when: ReturnWhen,
    /// What `FirstException` counts as a failure: set by `return_when`,
    /// which alone needs the outputs to be an [`Outcome`].
    fails: fn(&Out<S>) -> bool,
    partial: PhantomData<fn() -> P>,
}

type Out<S> = <<S as IntoChildren>::Future as Future>::Output;

/// Until `return_when` says otherwise, no output is a failure.
fn never<O>(_: &O) -> bool {
    false
}

/// Waits on children from async code: a [`Wait`] to configure and `.await`.
///
/// Children are any input of [`IntoChildren`]: `Vec`s, arrays, tuples and
/// maps of futures, or a [`Pending`] set from an earlier `wait`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let tasks: Vec<_> = (0..3).map(|i| tokio::spawn(async move { i })).collect();
/// let w = concurry::async_wait(tasks).await.unwrap();
/// assert_eq!(w.done.len(), 3);
/// # }
/// ```
pub fn async_wait<S: IntoChildren>(children: S) -> Wait<S> {
    Wait::new(children, Entry::ASYNC_WAIT)
}

/// Waits on children from blocking code: a [`Wait`] to configure and
/// [`run`](Wait::run).
///
/// # Examples
///
/// ```
/// use concurry::{wait, probe::thread};
///
/// let threads: Vec<_> = (0..3).map(|i| thread(std::thread::spawn(move || i))).collect();
/// let w = wait(threads).run().unwrap();
/// assert_eq!(w.done.len(), 3);
/// assert!(w.pending.is_empty());
/// ```
pub fn wait<S: IntoChildren>(children: S) -> Wait<S> {
    Wait::new(children, Entry::WAIT)
}

impl<S: IntoChildren> Wait<S> {
    pub(crate) fn new(children: S, entry: Entry) -> Self {
        let options = Options::new(entry);
        Wait {
            options,
            children: Some(children),
            running: None,
            return_when: ReturnWhen::default(),
            fails: never,
            partial: PhantomData,
        }
    }
}

impl<S: IntoChildren, P> fmt::Debug for Wait<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("options", &self.options)
            .field("return_when", &self.return_when)
            .finish_non_exhaustive()
    }
}

impl<S: IntoChildren> Wait<S, Discard> {
    /// On a timeout or a cancellation, hand back what the wait had beside
    /// the error: the call's `Ok` side becomes a [`Partial`](crate::Partial)
    /// whose interrupted side holds the [`Waited`] value with the completed
    /// outputs and the children still pending, rather than dropping them.
    /// See [`partial`](crate::partial).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let children = vec![Box::pin(async { 1u8 }) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
    /// let got = concurry::wait(children).timeout(Duration::from_millis(5)).keep_partial().run().unwrap();
    /// let waited = got.into_partial().expect("the second child never completes");
    /// assert_eq!((waited.done.len(), waited.pending.len()), (1, 1));
    /// ```
    pub fn keep_partial(mut self) -> Wait<S, KeepPartial> {
        self.options.touch(self.running.is_some(), "keep_partial");
        let Wait { children, options, return_when, fails, .. } = self;
        Wait { children, running: None, options, return_when, fails, partial: PhantomData }
    }
}

impl<S: IntoChildren, P: PartialPolicy> Wait<S, P> {
    /// When to return (default [`ReturnWhen::AllCompleted`]).
    ///
    /// `FirstException` needs to know what a failure is, so this takes
    /// outputs that are an [`Outcome`]: `Result`s (an `Err` fails), tuple
    /// outputs, and the common std types (which never fail). For
    /// `FirstCompleted` over outputs of any other type, use
    /// [`first_completed`](Self::first_completed).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::ReturnWhen;
    /// let children = vec![Box::pin(std::future::ready(1u8)) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
    /// let w = concurry::wait(children).return_when(ReturnWhen::FirstCompleted).run().unwrap();
    /// assert_eq!((w.done.len(), w.pending.len()), (1, 1));
    /// ```
    pub fn return_when(mut self, when: ReturnWhen) -> Self
    where
        Out<S>: Outcome,
    {
        self.options.touch(self.running.is_some(), "return_when");
        self.return_when = when;
        self.fails = <Out<S> as Outcome>::is_failure;
        self
    }

    /// Return as soon as at least one child has completed: the same as
    /// `.return_when(ReturnWhen::FirstCompleted)`, for outputs of any type.
    ///
    /// # Examples
    ///
    /// ```
    /// struct Page(Vec<u8>); // a type concurry knows nothing about
    /// let children = vec![
    ///     Box::pin(std::future::ready(Page(vec![1]))) as std::pin::Pin<Box<dyn Future<Output = Page> + Send>>,
    ///     Box::pin(std::future::pending()),
    /// ];
    /// let w = concurry::wait(children).first_completed().run().unwrap();
    /// assert_eq!((w.done[0].1.0.len(), w.pending.len()), (1, 1));
    /// ```
    pub fn first_completed(mut self) -> Self {
        self.options.touch(self.running.is_some(), "first_completed");
        self.return_when = ReturnWhen::FirstCompleted;
        self
    }

    option_methods!(
        "wait",
        "Fail with [`Error::Timeout`] if the condition does not hold within `timeout` of the call. \
         The children still pending are dropped; with `.keep_partial()`, the [`Waited`] value comes back beside the error, as `Ok(Partial::Interrupted { error, partial })`."
    );

    /// Blocks the calling thread until the wait returns.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] as for `.await`, and [`Error::Blocking`] on a
    /// current-thread Tokio runtime's own thread or in a `LocalSet`'s task, where
    /// blocking would deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concurry::wait([async { 1 }]).run().unwrap();
    /// assert_eq!(w.done, [(0, 1)]);
    /// ```
    pub fn run(mut self) -> WaitResult<S::Keys, S::Future, P> {
        let entry = self.options.entry.name();
        // Begun as a future, its timers live on the runtime that first
        // polled it, which may not be running now: refused.
        self.options.touch(self.running.is_some(), "run");
        crate::blocking::block_on(entry, Pin::new(&mut self))?
    }
}

// The children are moved into the engine at the first poll, never polled
// where they are: nothing in a `Wait` is pinned.
impl<S: IntoChildren, P> Unpin for Wait<S, P> {}

/// A wait is the future of its call: `.await` it. The first poll starts the
/// call (its children, its clock).
impl<S: IntoChildren, P: PartialPolicy> Future for Wait<S, P> {
    type Output = WaitResult<S::Keys, S::Future, P>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(running) = &mut this.running {
            if this.options.set.is_some() {
                // An option set after the first poll: the call ends with the
                // error that says so (its children dropped), not without it.
                this.running = None;
                return Poll::Ready(Err(Error::Config(this.options.late())));
            }
            return Pin::new(running).poll(cx);
        }
        let Some(children) = this.children.take() else {
            // `keep_partial` after the call began.
            return Poll::Ready(Err(Error::Config(this.options.late())));
        };
        let Options { entry, set } = this.options.take();
        // Built in place, then configured there: see `Engine::unconfigured`.
        let running = this.running.insert(WaitFuture {
            engine: Engine::unconfigured(children.into_pending(), entry),
            done: Vec::new(),
            return_when: this.return_when,
            fails: this.fails,
            partial: PhantomData,
        });
        running.engine.configure(set);
        Pin::new(running).poll(cx)
    }
}

/// The running state of a [`Wait`] once polled. Dropping it drops every
/// child still pending. Not cancel safe: dropped, it drops what it collected.
pub(crate) struct WaitFuture<L: Keys, F: Future, P = Discard> {
    engine: Engine<L, F>,
    done: Vec<(L::Key, F::Output)>,
    return_when: ReturnWhen,
    fails: fn(&F::Output) -> bool,
    partial: PhantomData<fn() -> P>,
}

// Nothing in it is pinned: the children live pinned in the engine's slab.
impl<L: Keys, F: Future, P> Unpin for WaitFuture<L, F, P> {}

impl<L: Keys, F: Future, P> fmt::Debug for WaitFuture<L, F, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFuture")
            .field("engine", &self.engine)
            .field("done", &self.done.len())
            .field("return_when", &self.return_when)
            .finish()
    }
}

impl<L: Keys + Feed<F>, F: Future, P> WaitFuture<L, F, P> {
    fn finish(&mut self, end: End) -> Waited<L, F, F::Output> {
        self.engine.finish(end);
        let pending = self.engine.take_pending().expect("a wait future polled after it completed");
        Waited { done: std::mem::take(&mut self.done), pending }
    }
}

impl<L: Keys + Feed<F>, F: Future, P: PartialPolicy> Future for WaitFuture<L, F, P> {
    type Output = WaitResult<L, F, P>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (done, first_exception, fails) =
            (&mut this.done, this.return_when == ReturnWhen::FirstException, this.fails);
        let drive = this.engine.poll_drive(cx, &mut |index, out: F::Output, keys: &L| {
            let stop = first_exception && fails(&out);
            done.push((keys.key(index), out));
            if stop { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
        });
        // The return condition is checked before the deadline: a child that
        // completed by the poll where the deadline is seen counts.
        let first_done = this.return_when == ReturnWhen::FirstCompleted && !this.done.is_empty();
        let complete = |waited| Poll::Ready(Ok(P::complete(waited)));
        match drive {
            // `FirstException` saw a failure: the bar ends as "Failed".
            Poll::Ready(Drive::Stopped) => complete(this.finish(End::Failed)),
            Poll::Ready(Drive::Exhausted) => complete(this.finish(End::Success)),
            Poll::Ready(Drive::TimedOut | Drive::Cancelled) if first_done => complete(this.finish(End::Success)),
            Poll::Ready(drive @ (Drive::TimedOut | Drive::Cancelled)) => {
                let (error, waited) = this.engine.interrupted(&drive, |_| std::mem::take(&mut this.done));
                Poll::Ready(P::interrupted(error, waited))
            }
            Poll::Ready(Drive::Refused(config)) => {
                this.engine.cancel();
                Poll::Ready(Err(Error::Config(*config)))
            }
            // The budget ran out with more children ready: `FirstCompleted`
            // takes every child that is complete when first polled, then
            // returns, however busy the others keep it.
            Poll::Ready(Drive::Yielded) if first_done && this.engine.all_reached() => {
                complete(this.finish(End::Success))
            }
            Poll::Ready(Drive::Yielded) => Poll::Pending,
            Poll::Pending if first_done => complete(this.finish(End::Success)),
            Poll::Pending => Poll::Pending,
        }
    }
}
