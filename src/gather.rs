//! `gather` / `async_gather` (every output, as it is) and `try_gather` /
//! `async_try_gather` (the first failure ends the call): the outputs in the
//! input's shape; or, in iterator mode, each `(key, output)` as it
//! completes. One builder, [`Gather`], serves both; its [`Mode`] says which.

use std::future::Future;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;

use crate::Pending;
use crate::engine::{Drive, Engine, Entry, Options, option_methods};
use crate::error::{BoxError, ConfigError, Error};
use crate::partial::{Discard, KeepPartial, PartialPolicy};
use crate::progress::End;
use crate::shape::{Feed, IntoChildren, Keys, Outputs, Shape};
use crate::{Outcome, Waited};

/// How a gather treats each output `O`: the typestate of [`Gather`], chosen
/// by the verb.
///
/// # Examples
///
/// ```
/// // The verb chooses the mode; the mode decides the result type.
/// let every: Vec<Result<u8, String>> = concurry::gather(vec![std::future::ready(Ok::<u8, String>(1))]).run().unwrap();
/// let values: Vec<u8> = concurry::try_gather(vec![std::future::ready(Ok::<u8, String>(1))]).run().unwrap();
/// assert_eq!((every, values), (vec![Ok(1)], vec![1]));
/// ```
pub trait Mode<O> {
    /// What each child contributes to the result.
    type Item;
    /// Sorts an output into a result item or a failure.
    ///
    /// # Errors
    ///
    /// The child's error, when the output is a failure that ends the call.
    fn accept(out: O) -> Result<Self::Item, BoxError>;
}

/// [`gather`] and [`async_gather`]: every output as it is, whatever its type,
/// errors included, in its slot (the spec's `return_exceptions=True`, and
/// what `join_all` does).
///
/// # Examples
///
/// ```
/// let out = concurry::gather(vec![std::future::ready(Err::<u8, _>("no"))]).run().unwrap();
/// assert_eq!(out, [Err("no")]);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct AsIs;

/// [`try_gather`] and [`async_try_gather`]: the first failure ends the call
/// with [`Error::Failed`]; the outputs are the success values (`T` of a
/// `Result<T, E>`), as `try_join_all` gives.
///
/// # Examples
///
/// ```
/// let err = concurry::try_gather(vec![std::future::ready(Err::<u8, _>("no"))]).run().unwrap_err();
/// assert_eq!(err.into_failed().unwrap().1.to_string(), "no");
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct FailFast;

impl<O> Mode<O> for AsIs {
    type Item = O;
    #[inline]
    fn accept(out: O) -> Result<O, BoxError> {
        Ok(out)
    }
}

impl<O: Outcome> Mode<O> for FailFast
where
    O::Error: Into<BoxError> + 'static,
{
    type Item = O::Value;
    #[inline]
    fn accept(out: O) -> Result<O::Value, BoxError> {
        out.into_result().map_err(crate::error::box_error)
    }
}

type Out<F> = <F as Future>::Output;
/// A failed child's index and error, held until the drive stops.
type Failure = (usize, BoxError);
type Item<M, F> = <M as Mode<Out<F>>>::Item;
/// What a gather had when its timeout or token stopped it (with
/// `.keep_partial()`): its completed outputs by key, and its pending
/// children.
///
/// # Examples
///
/// ```
/// use concurry::{shape::Indices, AsIs, GatherPartial};
/// type Had = GatherPartial<Indices, std::future::Pending<u8>, AsIs>;
/// let never = vec![std::future::pending::<u8>()];
/// let got = concurry::gather(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap();
/// let had: Had = got.into_partial().unwrap();
/// assert_eq!(had.pending.len(), 1);
/// ```
pub type GatherPartial<L, F, M> = Waited<L, F, Item<M, F>>;
/// The result of a gather over the input `S`, in mode `M`: its output in
/// the input's shape (with `.keep_partial()`, a [`Partial`](crate::Partial)
/// of it), or the [`Error`].
///
/// # Examples
///
/// ```
/// use concurry::{AsIs, GatherResult};
/// let result: GatherResult<Vec<std::future::Ready<u8>>, AsIs> = concurry::gather(vec![std::future::ready(7u8)]).run();
/// assert_eq!(result.unwrap(), [7]);
/// ```
pub type GatherResult<S, M, P = Discard> = Result<
    <P as PartialPolicy>::Output<
        <S as Shape<Item<M, <S as IntoChildren>::Future>>>::Output,
        GatherPartial<<S as IntoChildren>::Keys, <S as IntoChildren>::Future, M>,
    >,
    Error,
>;
/// One item of iterator mode: a child's key and output, or the error that
/// ends the stream.
///
/// # Examples
///
/// ```
/// use concurry::{shape::Indices, AsIs, GatherItem};
/// let items: Vec<GatherItem<Indices, std::future::Ready<u8>, AsIs>> = concurry::gather(vec![std::future::ready(7u8)]).iter().collect();
/// assert_eq!(items[0].as_ref().unwrap(), &(0, 7));
/// ```
pub type GatherItem<L, F, M> = Result<(<L as Keys>::Key, Item<M, F>), Error>;

/// A `gather` call being set up: choose options, then `.await` it
/// (`async_gather`, `async_try_gather`), `.run()` it (`gather`,
/// `try_gather`), or take its results as they complete with `.stream()` or
/// `.iter()`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let children = vec![Ok::<_, String>(1), Err("bad".to_string())].into_iter().map(std::future::ready);
/// let out = concurry::async_gather(children.collect::<Vec<_>>())
///     .timeout(Duration::from_secs(5))
///     .await
///     .unwrap();
/// assert_eq!(out, [Ok(1), Err("bad".to_string())]);
/// # }
/// ```
///
/// Forgetting `.run()` (or `.await`) says what to write: the builder is
/// `#[must_use]`, with that advice as its message.
///
/// ```compile_fail
/// #![deny(unused_must_use)]
/// // error: unused `Gather` that must be used: a gather does nothing until it is `.await`ed ...
/// concurry::gather(vec![std::future::ready(1)]);
/// ```
#[must_use = "a gather does nothing until it is `.await`ed (async code), `.run()` (blocking code), or iterated with `.stream()` / `.iter()`"]
pub struct Gather<S: IntoChildren, M: Mode<Out<S::Future>> = AsIs, P = Discard> {
    options: Options,
    /// The children, until the first poll starts the call. (The builder is
    /// the future itself, so that a forgotten `.await` gets the compiler's
    /// "consider `.await`ing".) Neither this nor `running` once streamed
    /// or moved into another mode.
    children: Option<S>,
    /// The call, from its first poll on. Not boxed: a box would cost every
    /// call an allocation. Apart from `children`, so that starting the
    /// call moves only the children, not a state the size of the call.
    running: Option<GatherFuture<S, M, P>>,
}

impl<S: IntoChildren, M: Mode<Out<S::Future>>, P> Gather<S, M, P> {
    fn new(children: S, entry: Entry) -> Self {
        Gather { options: Options::new(entry), children: Some(children), running: None }
    }

    /// The same call in another mode or policy; only before it runs (after,
    /// the new builder ends with the error of [`Options::late`]).
    fn cast<M2: Mode<Out<S::Future>>, P2>(mut self, name: &'static str) -> Gather<S, M2, P2> {
        self.options.touch(self.running.is_some(), name);
        Gather { options: self.options, children: self.children, running: None }
    }

    /// The engine over the children, with the options set so far.
    #[inline]
    fn engine(&mut self) -> Option<Engine<S::Keys, S::Future>> {
        let children = self.children.take()?;
        Some(Engine::new(children.into_pending(), self.options.take()))
    }
}

/// Gathers every output from async code, as it is, whatever its type: a
/// [`Gather`] to configure and `.await`. The async form of [`gather`]; use
/// [`async_try_gather`] to fail on the first `Err` instead.
///
/// Outputs keep the input's shape: a `Vec` gives a `Vec` in input order, a
/// map the same map type with the same keys, a tuple a typed tuple (as
/// `tokio::join!` gives, each `Result` in its slot). No child can fail the
/// call; only a timeout can.
///
/// Dropping children (on a timeout, or when the call itself is dropped)
/// cancels futures at once and aborts tasks held through tokio-util's
/// `AbortOnDropHandle` or [`task::spawn`](crate::task::spawn); a plain
/// `tokio::task::JoinHandle` only detaches, and its task runs on, as in
/// Tokio.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// async fn user() -> Result<String, std::io::Error> { Ok("ada".into()) }
/// async fn orders() -> Result<u32, std::fmt::Error> { Err(std::fmt::Error) }
/// // Three types, two error types: each output in its slot, as `tokio::join!` gives.
/// let (user, orders, n) = concurry::async_gather((user(), orders(), async { 7u64 })).await.unwrap();
/// assert_eq!(user.unwrap(), "ada");
/// assert!(orders.is_err());
/// assert_eq!(n, 7);
/// # }
/// ```
pub fn async_gather<S: IntoChildren>(children: S) -> Gather<S> {
    Gather::new(children, Entry::ASYNC_GATHER)
}

/// Gathers every output from blocking code, as it is, whatever its type: a
/// [`Gather`] to configure and [`run`](Gather::run), or
/// [`iter`](Gather::iter) over. Use [`try_gather`] to fail on the first
/// `Err` instead.
///
/// # Examples
///
/// ```
/// let handle = concurry::shared_runtime().handle();
/// let tasks: Vec<_> = (0..3).map(|i| handle.spawn(async move { i * i })).collect();
/// // A JoinHandle outputs `Result<T, JoinError>`: gather keeps each as it is.
/// let out = concurry::gather(tasks).run().unwrap();
/// assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [0, 1, 4]);
/// ```
pub fn gather<S: IntoChildren>(children: S) -> Gather<S> {
    Gather::new(children, Entry::GATHER)
}

/// Gathers every success value from async code, failing fast: a [`Gather`]
/// to configure and `.await`.
///
/// Each child outputs a `Result` (or a type that implements [`Outcome`]).
/// The first `Err`, or panicked task, ends the call at once with
/// [`Error::Failed`] (its key, and the child's error as the
/// [`source`](std::error::Error::source)), and drops the other children.
/// Otherwise the outputs are the `Ok` values, in the input's shape. The
/// children's error types may differ (a tuple of three calls with three
/// error types works): each error is boxed as a [`BoxError`], so it must be
/// `Into<BoxError>`, as every `std::error::Error + Send + Sync`,
/// `anyhow::Error` and `String` is.
///
/// The error converts with `?` into `anyhow::Error` and
/// `Box<dyn Error + Send + Sync>`, whatever the children borrow (see
/// [`Error`]).
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
/// let tasks = HashMap::from([
///     ("users", concurry::task::spawn(async { Ok::<_, std::io::Error>(3) })),
///     ("orders", concurry::task::spawn(async { Ok(5) as std::io::Result<_> })),
/// ]);
/// let counts = concurry::async_try_gather(tasks).await?;
/// assert_eq!(counts["users"] + counts["orders"], 8);
/// # Ok(())
/// # }
/// ```
pub fn async_try_gather<S>(children: S) -> Gather<S, FailFast>
where
    S: IntoChildren,
    Out<S::Future>: Outcome<Error: Into<BoxError> + 'static>,
{
    Gather::new(children, Entry::ASYNC_TRY_GATHER)
}

/// Gathers every success value from blocking code, failing fast: a
/// [`Gather`] to configure and [`run`](Gather::run), or
/// [`iter`](Gather::iter) over. See [`async_try_gather`].
///
/// # Examples
///
/// ```
/// let handle = concurry::shared_runtime().handle();
/// let tasks: Vec<_> = (0..4).map(|i| handle.spawn(async move { i * i })).collect();
/// assert_eq!(concurry::try_gather(tasks).run().unwrap(), [0, 1, 4, 9]);
/// ```
pub fn try_gather<S>(children: S) -> Gather<S, FailFast>
where
    S: IntoChildren,
    Out<S::Future>: Outcome<Error: Into<BoxError> + 'static>,
{
    Gather::new(children, Entry::TRY_GATHER)
}

impl<S: IntoChildren, M: Mode<Out<S::Future>>, P> std::fmt::Debug for Gather<S, M, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gather").field("options", &self.options).finish_non_exhaustive()
    }
}

impl<S: IntoChildren, M: Mode<Out<S::Future>>> Gather<S, M, Discard> {
    /// On a timeout or a cancellation, hand back the completed outputs (by
    /// key) and the children still pending, beside the error, rather than
    /// dropping them: the call's `Ok` side becomes a
    /// [`Partial`](crate::Partial), complete or interrupted. A failed child
    /// is still the `Err`. See [`partial`](crate::partial).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let tasks = vec![
    ///     concurry::shared_runtime().spawn(async { 1 }),
    ///     concurry::shared_runtime().spawn(async { tokio::time::sleep(Duration::from_secs(60)).await; 2 }),
    /// ];
    /// let got = concurry::try_gather(tasks).timeout(Duration::from_millis(50)).keep_partial().run().unwrap();
    /// let partial = got.into_partial().expect("the second task is still sleeping");
    /// assert_eq!(partial.done, [(0, 1)]);
    /// for (_, task) in partial.pending.into_children() {
    ///     task.abort();
    /// }
    /// ```
    pub fn keep_partial(self) -> Gather<S, M, KeepPartial> {
        self.cast("keep_partial")
    }
}

impl<S: IntoChildren, M: Mode<Out<S::Future>>, P: PartialPolicy> Gather<S, M, P> {
    option_methods!(
        "gather",
        "Fail with [`Error::Timeout`] if not every child completes within `timeout` of the call. \
         The children still pending are dropped; with `.keep_partial()`, the outputs that did complete and the children still pending come back beside the error, as `Ok(Partial::Interrupted { error, partial })`."
    );

    /// Blocks the calling thread until every output is in.
    ///
    /// # Errors
    ///
    /// As for `.await`, plus [`Error::Blocking`] on a current-thread Tokio
    /// runtime's own thread or in a `LocalSet`'s task, where blocking would
    /// deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concurry::gather([async { 'x' }]).run().unwrap(), ['x']);
    /// ```
    pub fn run(mut self) -> GatherResult<S, M, P>
    where
        S: Shape<Item<M, <S as IntoChildren>::Future>>,
    {
        let entry = self.options.entry.name();
        // Begun as a future, its timers live on the runtime that first
        // polled it, which may not be running now: refused.
        self.options.touch(self.running.is_some(), "run");
        crate::blocking::block_on(entry, Pin::new(&mut self))?
    }

    /// Iterator mode, async: a [`Stream`] of `Ok((key, output))` in
    /// completion order.
    ///
    /// In the fail-fast mode (`try_gather`) the stream yields items up to
    /// the first failure, then that failure as `Err`, then ends, dropping
    /// the other children. With a timeout it yields everything that completed in time,
    /// then `Err(Error::Timeout)` (counting what was yielded), then ends; the
    /// clock starts here, at this call. Dropping the stream drops the
    /// children still pending.
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let children: Vec<_> = ['a', 'b'].into_iter().map(|c| async move { c }).collect();
    /// let mut stream = concurry::async_gather(children).stream();
    /// let mut seen = Vec::new();
    /// while let Some(item) = stream.next().await {
    ///     seen.push(item.unwrap());
    /// }
    /// assert_eq!(seen.len(), 2);
    /// # }
    /// ```
    pub fn stream(mut self) -> GatherStream<S::Keys, S::Future, M, P> {
        // A gather polled before it was streamed has its children in the
        // running call: the stream says so, rather than end empty.
        if self.running.is_some() {
            self.options.touch(true, "stream");
            let refused = Some(Box::new(self.options.late()));
            return GatherStream { engine: None, refused, left: None, mode: PhantomData };
        }
        GatherStream { engine: self.engine(), refused: None, left: None, mode: PhantomData }
    }

    /// Iterator mode, blocking: an [`Iterator`] of the [`stream`](Self::stream)'s
    /// items. Each `next()` blocks the calling thread; a call where blocking
    /// is impossible yields one `Err(Error::Blocking)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let children: Vec<_> = (1..=3).map(|i| async move { i }).collect();
    /// let mut total = 0;
    /// for item in concurry::gather(children).iter() {
    ///     let (_index, value) = item.unwrap();
    ///     total += value;
    /// }
    /// assert_eq!(total, 6);
    /// ```
    pub fn iter(self) -> GatherIter<S::Keys, S::Future, M, P> {
        GatherIter { stream: self.stream() }
    }
}

// The children are moved into the engine at the first poll, never polled
// where they are: nothing in a `Gather` is pinned.
impl<S: IntoChildren, M: Mode<Out<S::Future>>, P> Unpin for Gather<S, M, P> {}

/// Implemented by no type of this crate: the bound that indexing a [`Gather`] never
/// meets, so that indexing a builder that was never run (a forgotten
/// `.run()` or `.await`) says what to write instead of "cannot index".
///
/// # Examples
///
/// ```compile_fail,E0277
/// let squares = concurry::gather(vec![std::future::ready(4)]);
/// // error: a gather's outputs come from running it: `.run()` it (blocking code) or `.await` it (async code)
/// assert_eq!(squares[0], 4);
/// ```
///
/// What to write:
///
/// ```
/// let squares = concurry::gather(vec![std::future::ready(4)]).run().unwrap();
/// assert_eq!(squares[0], 4);
/// ```
#[diagnostic::on_unimplemented(
    message = "a gather's outputs come from running it: `.run()` it (blocking code) or `.await` it (async code)",
    label = "this is the call, not yet made: it has no outputs to index",
    note = "write `concurry::gather(children).run()?[0]` in blocking code, or `concurry::async_gather(children).await?[0]` in async code"
)]
pub trait RunFirst<O: ?Sized> {
    /// Never called: no type of this crate implements this trait.
    fn output(&self) -> &O;
}

/// Not indexable: see [`RunFirst`]. Run the gather, then index its output.
impl<S: IntoChildren, M: Mode<Out<S::Future>>, P, I> std::ops::Index<I> for Gather<S, M, P>
where
    Self: RunFirst<Out<S::Future>>,
{
    type Output = Out<S::Future>;

    fn index(&self, _: I) -> &Self::Output {
        self.output()
    }
}

/// A gather is the future of its call: `.await` it. The first poll starts
/// the call (its children, its clock).
impl<S, M, P> Future for Gather<S, M, P>
where
    S: Shape<Item<M, <S as IntoChildren>::Future>>,
    M: Mode<Out<S::Future>>,
    P: PartialPolicy,
{
    type Output = GatherResult<S, M, P>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    #[inline]
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
            // `keep_partial` after the call began (see `cast`).
            return Poll::Ready(Err(Error::Config(this.options.late())));
        };
        let Options { entry, set } = this.options.take();
        // Built in place, then configured there: see `Engine::unconfigured`.
        let running = this.running.insert(GatherFuture {
            engine: Engine::unconfigured(children.into_pending(), entry),
            outputs: Outputs::expecting(0, 0),
            failed: None,
            shape: PhantomData,
        });
        running.engine.configure(set);
        running.outputs = Outputs::expecting(running.engine.capacity(), running.engine.total());
        Pin::new(running).poll(cx)
    }
}

/// The running state of a [`Gather`] once polled. Dropping it drops every
/// child still pending. Not cancel safe: dropped, it drops what it collected.
pub(crate) struct GatherFuture<S: IntoChildren, M: Mode<Out<S::Future>>, P = Discard> {
    engine: Engine<S::Keys, S::Future>,
    outputs: Outputs<Item<M, S::Future>>,
    failed: Option<Failure>,
    shape: PhantomData<fn() -> (S, P)>,
}

// Nothing in it is pinned: the children live pinned in the engine's slab.
impl<S: IntoChildren, M: Mode<Out<S::Future>>, P> Unpin for GatherFuture<S, M, P> {}

impl<S: IntoChildren, M: Mode<Out<S::Future>>, P> std::fmt::Debug for GatherFuture<S, M, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatherFuture").field("engine", &self.engine).finish_non_exhaustive()
    }
}

impl<S, M, P> Future for GatherFuture<S, M, P>
where
    S: Shape<Item<M, <S as IntoChildren>::Future>>,
    M: Mode<Out<S::Future>>,
    P: PartialPolicy,
{
    type Output = GatherResult<S, M, P>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (outputs, failed) = (&mut this.outputs, &mut this.failed);
        let drive = std::task::ready!(this.engine.poll_drive(cx, &mut |index, out, _| match M::accept(out) {
            Ok(item) => {
                outputs.put(index, item);
                ControlFlow::Continue(())
            }
            Err(error) => {
                *failed = Some((index, error));
                ControlFlow::Break(())
            }
        }));
        let mut take_outputs = || std::mem::replace(&mut this.outputs, Outputs::new(0));
        match drive {
            Drive::Yielded => Poll::Pending,
            Drive::Stopped => {
                let (index, error) = this.failed.take().expect("the drive stops only on a failure");
                let failed = this.engine.failed(index, error);
                this.engine.finish(End::Failed);
                this.engine.cancel();
                Poll::Ready(Err(failed))
            }
            Drive::Exhausted => {
                this.engine.finish(End::Success);
                let pending = this.engine.take_pending().expect("a gather future polled after it completed");
                Poll::Ready(Ok(P::complete(S::assemble(pending.into_keys(), take_outputs()))))
            }
            Drive::TimedOut | Drive::Cancelled => {
                let outputs = take_outputs();
                let (error, waited) = this.engine.interrupted(&drive, |pending| {
                    outputs.into_indexed().map(|(i, item)| (pending.key(i), item)).collect()
                });
                Poll::Ready(P::interrupted(error, waited))
            }
            Drive::Refused(config) => {
                this.engine.cancel();
                Poll::Ready(Err(Error::Config(*config)))
            }
        }
    }
}

/// Iterator mode's stream: see [`Gather::stream`].
///
/// # Cancel safety
///
/// `next()` on it is cancel safe: if it is used as a branch of
/// `tokio::select!` and another branch completes first, no output is lost;
/// the next call yields it.
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let stream = concurry::async_gather([std::future::ready(1), std::future::ready(2)]).stream();
/// assert_eq!(stream.count().await, 2);
/// # }
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct GatherStream<L: Keys, F: Future, M, P = Discard> {
    engine: Option<Engine<L, F>>,
    /// Streamed after the gather was polled: its one item.
    refused: Option<Box<ConfigError>>,
    /// With `.keep_partial()`, the children still pending when the timeout
    /// or token ended the stream.
    left: Option<Pending<L, F>>,
    mode: PhantomData<fn() -> (M, P)>,
}

impl<L: Keys, F: Future, M, P> GatherStream<L, F, M, P> {
    /// The children still pending when the call's timeout or token ended
    /// the stream, for a call made with `.keep_partial()` (`None` before
    /// that, or without it: they were dropped).
    ///
    /// # Examples
    ///
    /// ```
    /// use futures::StreamExt;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let never = vec![std::future::pending::<u8>()];
    /// let mut stream = concurry::async_gather(never).timeout(std::time::Duration::ZERO).keep_partial().stream();
    /// assert!(stream.next().await.unwrap().unwrap_err().is_timeout());
    /// assert_eq!(stream.take_pending().unwrap().len(), 1);
    /// # }
    /// ```
    pub fn take_pending(&mut self) -> Option<Pending<L, F>> {
        self.left.take()
    }
}

impl<L: Keys, F: Future, M, P> Unpin for GatherStream<L, F, M, P> {}

impl<L: Keys, F: Future, M, P> std::fmt::Debug for GatherStream<L, F, M, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatherStream").field("engine", &self.engine).finish()
    }
}

impl<L: Keys, F: Future, M, P> std::fmt::Debug for GatherIter<L, F, M, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatherIter").field("engine", &self.stream.engine).finish()
    }
}

impl<L: Keys + Feed<F>, F: Future, M: Mode<F::Output>, P: PartialPolicy> Stream for GatherStream<L, F, M, P> {
    type Item = GatherItem<L, F, M>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let Some(engine) = this.engine.as_mut() else {
            return Poll::Ready(this.refused.take().map(|config| Err(Error::Config(*config))));
        };
        let mut got = None;
        let drive = std::task::ready!(engine.poll_drive(cx, &mut |index, out, keys: &L| {
            got = Some((index, keys.key(index), out));
            ControlFlow::Break(())
        }));
        let error = match drive {
            Drive::Yielded => return Poll::Pending,
            Drive::Stopped => {
                let (index, key, out) = got.expect("the drive stops only with an item");
                match M::accept(out) {
                    Ok(item) => {
                        engine.report();
                        return Poll::Ready(Some(Ok((key, item))));
                    }
                    Err(error) => {
                        let failed = engine.failed(index, error);
                        engine.finish(End::Failed);
                        failed
                    }
                }
            }
            Drive::Exhausted => {
                engine.finish(End::Success);
                this.engine = None;
                return Poll::Ready(None);
            }
            // What completed in time was yielded already.
            Drive::TimedOut | Drive::Cancelled => {
                let (error, waited) = engine.interrupted::<Item<M, F>>(&drive, |_| Vec::new());
                this.left = P::KEEPS.then_some(waited.pending);
                error
            }
            Drive::Refused(config) => Error::Config(*config),
        };
        // A failure or a timeout ends the stream; the other children go now.
        this.engine = None;
        Poll::Ready(Some(Err(error)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, self.engine.as_ref().map(|e| e.capacity()))
    }
}

/// Iterator mode's blocking iterator: see [`Gather::iter`].
///
/// # Examples
///
/// ```
/// let iter = concurry::gather([std::future::ready(1), std::future::ready(2)]).iter();
/// assert_eq!(iter.map(Result::unwrap).map(|(_, v)| v).sum::<i32>(), 3);
/// ```
#[must_use = "iterators are lazy and do nothing unless consumed"]
pub struct GatherIter<L: Keys, F: Future, M, P = Discard> {
    stream: GatherStream<L, F, M, P>,
}

impl<L: Keys, F: Future, M, P> GatherIter<L, F, M, P> {
    /// The children still pending when the call's timeout or token ended
    /// the iterator, for a call made with `.keep_partial()`: see
    /// [`GatherStream::take_pending`].
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let mut iter = concurry::gather(never).timeout(std::time::Duration::ZERO).keep_partial().iter();
    /// assert!(iter.next().unwrap().unwrap_err().is_timeout());
    /// assert_eq!(iter.take_pending().unwrap().len(), 1);
    /// ```
    pub fn take_pending(&mut self) -> Option<Pending<L, F>> {
        self.stream.take_pending()
    }
}

impl<L: Keys + Feed<F>, F: Future, M: Mode<F::Output>, P: PartialPolicy> Iterator for GatherIter<L, F, M, P> {
    type Item = GatherItem<L, F, M>;

    fn next(&mut self) -> Option<Self::Item> {
        use futures::StreamExt;
        let entry = self.stream.engine.as_ref()?.entry().name();
        match crate::blocking::block_on(entry, Pin::new(&mut self.stream.next())) {
            Ok(item) => item,
            Err(blocking) => {
                self.stream.engine = None;
                Some(Err(Error::Blocking(blocking)))
            }
        }
    }
}
