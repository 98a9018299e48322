//! What a timeout hands back: nothing by default, or, with
//! `.keep_partial()`, the completed outputs and the pending children.
//!
//! Why nothing by default: an error that carries the children is only
//! `'static` (and `Send`) when they are, so `?` into `anyhow::Error` or
//! `Box<dyn Error + Send + Sync>` would fail to compile for children that
//! borrow (`words.iter().map(|w| async move { .. })`), for a method's
//! `self.user(id)`, or for `!Send` children. So by default a timeout drops
//! the children still pending (futures are cancelled, tasks held through
//! `AbortOnDropHandle` or [`task::spawn`](crate::task::spawn) are aborted, a
//! plain `JoinHandle` detaches) and the error holds only counts and keys.
//! Ask for the rest with `.keep_partial()` on any builder.

use crate::Waited;
use crate::shape::Keys;

/// What a timeout error carries: [`Discard`] (the default) or
/// [`KeepPartial`] (after `.keep_partial()`). A typestate of the builders.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let never = vec![std::future::pending::<u8>()];
/// // Default: the error is small and 'static; the children are dropped.
/// let err = concurry::gather(never.clone()).timeout(Duration::ZERO).run().unwrap_err();
/// assert!(err.is_timeout());
/// // Opt in to get the children back.
/// let err = concurry::gather(never).timeout(Duration::ZERO).keep_partial().run().unwrap_err();
/// assert_eq!(err.into_timeout().unwrap().into_partial().pending.len(), 1);
/// ```
pub trait PartialPolicy {
    /// The partial result of a call over children `F` keyed by `L`, whose
    /// completed outputs are `T`.
    type Partial<L: Keys, F, T>;
    /// Keeps or drops what the call had when it timed out.
    fn partial<L: Keys, F, T>(waited: Waited<L, F, T>) -> Self::Partial<L, F, T>;
}

/// The default: a timeout drops the pending children and the completed
/// outputs; the error holds the counts only, so it is `'static` whenever the
/// keys are.
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

/// `.keep_partial()`: a timeout hands back a [`Waited`] with the completed
/// outputs (by key) and the children still pending, to wait on again,
/// gather, or cancel.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let children = vec![Box::pin(async { 1u8 }) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
/// let err = concurry::gather(children).timeout(Duration::from_millis(5)).keep_partial().run().unwrap_err();
/// let partial = err.into_timeout().unwrap().into_partial();
/// assert_eq!(partial.done, [(0, 1)]);
/// assert_eq!(partial.pending.len(), 1);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepPartial;

impl PartialPolicy for Discard {
    type Partial<L: Keys, F, T> = ();
    fn partial<L: Keys, F, T>(_: Waited<L, F, T>) {}
}

impl PartialPolicy for KeepPartial {
    type Partial<L: Keys, F, T> = Waited<L, F, T>;
    fn partial<L: Keys, F, T>(waited: Waited<L, F, T>) -> Waited<L, F, T> {
        waited
    }
}
