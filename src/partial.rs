//! What a call stopped by its timeout or token hands back: only the error by
//! default, or, with `.keep_partial()`, the completed outputs (typed, by
//! key) and the pending children beside it, as a [`Partial`].
//!
//! Why only the error by default: the pending children are only `'static`
//! (and `Send`) when the children are, so a result that carried them could
//! not leave a function that borrows (`words.iter().map(|w| async move {
//! .. })`, a method's `self.user(id)`). So by default a timeout drops the
//! children still pending (futures are cancelled, tasks held through
//! `AbortOnDropHandle` or [`task::spawn`](crate::task::spawn) are aborted, a
//! plain `JoinHandle` detaches) and the [`Error`] holds the counts and the
//! pending children's names. Ask for the rest with `.keep_partial()` on any
//! builder: the call's `Ok` side is then a [`Partial`], complete or not,
//! and the error stays the same concrete type.

use crate::error::Error;

/// What a call returns when its timeout or token stops it: [`Discard`]
/// (the default: the error) or [`KeepPartial`] (after `.keep_partial()`:
/// `Ok(Partial::Interrupted { .. })`). A typestate of the builders.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::Partial;
///
/// let never = vec![std::future::pending::<u8>()];
/// // Default: the error; the children are dropped.
/// let err = concurry::gather(never.clone()).timeout(Duration::ZERO).run().unwrap_err();
/// assert!(err.is_timeout());
/// // Opt in to get the children back, beside the error.
/// let got = concurry::gather(never).timeout(Duration::ZERO).keep_partial().run().unwrap();
/// let Partial::Interrupted { error, partial } = got else { panic!("it cannot complete") };
/// assert!(error.is_timeout());
/// assert_eq!(partial.pending.len(), 1);
/// ```
pub trait PartialPolicy {
    /// What the call's `Ok` side holds: its output `T` as it is, or a
    /// [`Partial`] of it and what it had when stopped (`W`).
    type Output<T, W>;
    /// The call completed.
    fn complete<T, W>(value: T) -> Self::Output<T, W>;
    /// The call was stopped by `error` (a timeout or a cancellation) with
    /// `partial` in hand.
    fn interrupted<T, W>(error: Error, partial: W) -> Result<Self::Output<T, W>, Error>;
    /// Whether what the call had is kept (a stream then keeps its pending
    /// children after its error).
    const KEEPS: bool;
}

/// The default: a timeout or a cancellation is the error; the pending
/// children and the completed outputs are dropped, so the result never
/// holds the children, and `?` works whatever they borrow.
///
/// # Examples
///
/// ```
/// async fn lengths(words: &[String]) -> Result<Vec<usize>, Box<dyn std::error::Error + Send + Sync>> {
///     let futs: Vec<_> = words.iter().map(|w| async move { Ok::<usize, std::io::Error>(w.len()) }).collect();
///     Ok(concurry::async_try_gather(futs).timeout(std::time::Duration::from_secs(1)).await?)
/// }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// assert_eq!(lengths(&["ab".to_string()]).await.unwrap(), [2]);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Discard;

/// `.keep_partial()`: a timeout or a cancellation hands back a
/// [`Partial::Interrupted`], with the error and a [`Waited`](crate::Waited) holding the
/// completed outputs (by key) and the children still pending, to wait on
/// again, gather, or cancel.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let children = vec![Box::pin(async { 1u8 }) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
/// let got = concurry::gather(children).timeout(Duration::from_millis(5)).keep_partial().run().unwrap();
/// let partial = got.into_partial().expect("timed out");
/// assert_eq!(partial.done, [(0, 1)]);
/// assert_eq!(partial.pending.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepPartial;

impl PartialPolicy for Discard {
    type Output<T, W> = T;
    fn complete<T, W>(value: T) -> T {
        value
    }
    fn interrupted<T, W>(error: Error, _: W) -> Result<T, Error> {
        Err(error)
    }
    const KEEPS: bool = false;
}

impl PartialPolicy for KeepPartial {
    type Output<T, W> = Partial<T, W>;
    fn complete<T, W>(value: T) -> Partial<T, W> {
        Partial::Complete(value)
    }
    fn interrupted<T, W>(error: Error, partial: W) -> Result<Partial<T, W>, Error> {
        Ok(Partial::Interrupted { error, partial })
    }
    const KEEPS: bool = true;
}

/// The `Ok` side of a call made with `.keep_partial()`: complete, or
/// stopped by its timeout or token with what it had. A failed child is
/// still the call's `Err`.
///
/// # Examples
///
/// A handler that answers with partial data on timeout:
///
/// ```
/// use std::time::Duration;
/// use concurry::Partial;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), concurry::Error> {
/// async fn price(ms: u64) -> Result<u64, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
/// let calls = vec![price(10), price(20), price(5_000)];
/// let prices = match concurry::async_try_gather(calls).timeout(Duration::from_millis(200)).keep_partial().await? {
///     Partial::Complete(all) => all,
///     Partial::Interrupted { error, partial } => {
///         eprintln!("answering with partial data: {error}");
///         partial.done.into_iter().map(|(_, p)| p).collect()
///     }
/// };
/// assert_eq!(prices, [10, 20]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
#[must_use = "the call may have been stopped before it completed: match on it"]
pub enum Partial<T, W> {
    /// Every child completed (or the return condition held): the output
    /// as a call without `.keep_partial()` gives it.
    Complete(T),
    /// The call's timeout or token stopped it.
    Interrupted {
        /// The timeout or the cancellation ([`Error::Timeout`],
        /// [`Error::Cancelled`]).
        error: Error,
        /// What the call had: its completed outputs, by key, and its pending
        /// children.
        partial: W,
    },
}

impl<T, W> Partial<T, W> {
    /// The output, if the call completed.
    ///
    /// # Examples
    ///
    /// ```
    /// let got = concurry::gather([std::future::ready(1)]).keep_partial().run().unwrap();
    /// assert_eq!(got.complete(), Some([1]));
    /// ```
    pub fn complete(self) -> Option<T> {
        match self {
            Self::Complete(value) => Some(value),
            Self::Interrupted { .. } => None,
        }
    }

    /// What the call had, if it was stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let got = concurry::gather(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap();
    /// assert_eq!(got.into_partial().unwrap().pending.len(), 1);
    /// ```
    pub fn into_partial(self) -> Option<W> {
        match self {
            Self::Complete(_) => None,
            Self::Interrupted { partial, .. } => Some(partial),
        }
    }

    /// The error that stopped the call and what it had, if it was stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let got = concurry::gather(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap();
    /// let (error, partial) = got.into_interrupted().unwrap();
    /// assert!(error.is_timeout() && partial.pending.len() == 1);
    /// ```
    pub fn into_interrupted(self) -> Option<(Error, W)> {
        match self {
            Self::Complete(_) => None,
            Self::Interrupted { error, partial } => Some((error, partial)),
        }
    }

    /// The output, or the error that stopped the call with what it had.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let got = concurry::gather(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap();
    /// let (error, partial) = got.into_result().unwrap_err();
    /// assert!(error.is_timeout() && partial.pending.len() == 1);
    /// ```
    pub fn into_result(self) -> Result<T, (Error, W)> {
        match self {
            Self::Complete(value) => Ok(value),
            Self::Interrupted { error, partial } => Err((error, partial)),
        }
    }

    /// Whether the call completed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(concurry::gather([std::future::ready(1)]).keep_partial().run().unwrap().is_complete());
    /// ```
    pub fn is_complete(&self) -> bool {
        matches!(self, Self::Complete(_))
    }
}

impl<L: crate::shape::Keys<Key = usize>, F, T> Partial<Vec<T>, crate::Waited<L, F, T>> {
    /// For a `gather` over a `Vec` (or [`lazy`](crate::lazy())) input: the
    /// outputs that arrived, each with its index, in input order, whether
    /// the call completed (every index) or was stopped (the indices that
    /// completed; the children still pending are dropped, which cancels
    /// them). For a graceful shutdown that keeps what finished. Match on the
    /// `Partial` instead when you need to know whether it was stopped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), concurry::Error> {
    /// async fn job(i: u64) -> u64 {
    ///     tokio::time::sleep(Duration::from_millis(10 * (5 - i))).await;
    ///     i * i
    /// }
    /// let token = tokio_util::sync::CancellationToken::new();
    /// let shutdown = token.clone();
    /// tokio::spawn(async move { tokio::time::sleep(Duration::from_millis(25)).await; shutdown.cancel() });
    ///
    /// let jobs = concurry::lazy((0..5).map(job));
    /// let done = concurry::async_gather(jobs).cancel_on(token).keep_partial().await?.into_done();
    /// assert_eq!(done, [(3, 9), (4, 16)]); // input order; jobs 0 to 2 were cancelled
    ///
    /// let all = concurry::async_gather(vec![job(4), job(3)]).keep_partial().await?.into_done();
    /// assert_eq!(all, [(0, 16), (1, 9)]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn into_done(self) -> Vec<(usize, T)> {
        match self {
            Self::Complete(all) => all.into_iter().enumerate().collect(),
            Self::Interrupted { partial, .. } => {
                let mut done = partial.done;
                done.sort_unstable_by_key(|(index, _)| *index);
                done
            }
        }
    }
}
