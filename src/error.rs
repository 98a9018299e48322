//! Error types.

use std::fmt;
use std::time::Duration;

use sync_wrapper::SyncWrapper;

/// A child's name from its key, as messages show it: a plain string key
/// without its quotes (`orders`, not `"orders"`), any other key by its
/// `Debug` form, after `child ` when it is the subject of a sentence
/// (`child 1 failed`, `child "users"/3 failed`).
pub(crate) fn child_name<K: fmt::Debug>(key: &K, subject: bool) -> String {
    let debug = format!("{key:?}");
    match debug.strip_prefix('"').and_then(|d| d.strip_suffix('"')) {
        Some(text) if !text.contains('"') && !text.contains('\\') => text.to_owned(),
        _ if subject => format!("child {debug}"),
        _ => debug,
    }
}

/// A duration as people write it: `200ms`, `1.2s`, `3m20s`.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Three significant digits at most, no trailing `.0`.
        fn short(f: &mut fmt::Formatter<'_>, value: f64, unit: &str) -> fmt::Result {
            let text = if value >= 10.0 { format!("{value:.0}") } else { format!("{value:.1}") };
            write!(f, "{}{unit}", text.strip_suffix(".0").unwrap_or(&text))
        }
        let d = self.0;
        let secs = d.as_secs();
        match d.as_nanos() {
            0 => f.write_str("0s"),
            ns @ 1..1_000 => write!(f, "{ns}ns"),
            ns @ 1_000..1_000_000 => short(f, ns as f64 / 1e3, "µs"),
            ns @ 1_000_000..1_000_000_000 => short(f, ns as f64 / 1e6, "ms"),
            _ if secs < 60 => short(f, d.as_secs_f64(), "s"),
            _ if secs < 3600 => match secs % 60 {
                0 => write!(f, "{}m", secs / 60),
                s => write!(f, "{}m{s}s", secs / 60),
            },
            _ => match (secs / 60) % 60 {
                0 => write!(f, "{}h", secs / 3600),
                m => write!(f, "{}h{m}m", secs / 3600),
            },
        }
    }
}

/// A string that names none of an enum's values.
///
/// # Examples
///
/// ```
/// let err = "soon".parse::<concurry::ReturnWhen>().unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "invalid return condition \"soon\": valid values are: all_completed, first_completed, first_exception"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} {given:?}: valid values are: {}", valid.join(", "))]
pub struct ParseError {
    what: &'static str,
    given: String,
    valid: &'static [&'static str],
}

impl ParseError {
    pub(crate) fn new(what: &'static str, given: &str, valid: &'static [&'static str]) -> Self {
        Self { what, given: given.to_owned(), valid }
    }

    /// The values that would have been accepted.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = "x".parse::<concurry::PollingAlgorithm>().unwrap_err();
    /// assert_eq!(err.valid().len(), 4);
    /// ```
    pub fn valid(&self) -> &'static [&'static str] {
        self.valid
    }
}

/// A setting that is out of range: which one, the value, and why.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let err = concurry::config::update(|d| d.async_gather_poll_interval = Duration::ZERO).unwrap_err();
/// assert_eq!(err.name(), "async_gather_poll_interval");
/// assert!(err.to_string().contains("must be greater than zero"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {name} = {value}: {reason}")]
pub struct ConfigError {
    name: &'static str,
    value: String,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(name: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { name, value: value.into(), reason: reason.into() }
    }

    /// The name of the setting.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::polling::Fixed::new(std::time::Duration::ZERO).unwrap_err();
    /// assert_eq!(err.name(), "fixed interval");
    /// ```
    pub fn name(&self) -> &'static str {
        self.name
    }
}

/// A blocking entry point called where it cannot block.
///
/// `wait(..).run()` and `gather(..).run()` block the calling thread. On a
/// current-thread Tokio runtime's own thread, or in a task of a `LocalSet`,
/// that thread is the only one its tasks can run on, so blocking it would
/// deadlock them: the call refuses instead. A `spawn_blocking` thread of the
/// same runtime may block, and there the call works.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let err = concurry::gather(vec![async { 1 }]).run().unwrap_err();
/// assert!(err.to_string().contains("use async_gather"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{entry}() cannot block {where_}: use {entry_async}(..).await there, or call {entry}() from a plain \
     thread, tokio::task::spawn_blocking or a multi-thread runtime"
)]
pub struct BlockingError {
    entry: &'static str,
    entry_async: &'static str,
    where_: &'static str,
}

impl BlockingError {
    /// On a thread whose other tasks would deadlock.
    pub(crate) fn new(entry: &'static str) -> Self {
        Self::at(
            entry,
            "a current-thread Tokio runtime's own thread or a LocalSet's task (it would deadlock their tasks)",
        )
    }

    /// Inside a `block_on` whose poll has spent Tokio's budget.
    pub(crate) fn budget_spent(entry: &'static str) -> Self {
        Self::at(
            entry,
            "inside a runtime's block_on whose turn has spent Tokio's cooperative budget (its children could \
             not make progress): let the task yield first (tokio::task::yield_now().await)",
        )
    }

    fn at(entry: &'static str, where_: &'static str) -> Self {
        let entry_async = match entry {
            "wait" => "async_wait",
            "try_gather" => "async_try_gather",
            _ => "async_gather",
        };
        Self { entry, entry_async, where_ }
    }
}

/// A call stopped before it could return: its deadline passed
/// ([`Error::Timeout`]) or its cancellation token fired
/// ([`Error::Cancelled`]). Says which entry point, after how long, and how
/// many of how many children completed; for a call made with
/// `.keep_partial()`, hands back everything through
/// [`into_partial`](Interrupted::into_partial).
///
/// For `wait` the partial result is the [`Waited`](crate::Waited) value the
/// call would have returned; for `gather` it holds the outputs that completed
/// (with their keys) and the children still pending. For iterator mode the
/// completed outputs were already yielded, so only the pending ones remain.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let futs = vec![
///     Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32> + Send>>,
///     Box::pin(async { tokio::time::sleep(Duration::from_secs(60)).await; 2 }),
/// ];
/// let err = concurry::async_gather(futs).timeout(Duration::from_millis(20)).keep_partial().await.unwrap_err();
/// let timeout = err.into_timeout().unwrap();
/// assert_eq!((timeout.completed(), timeout.total()), (1, 2));
/// let partial = timeout.into_partial();
/// assert_eq!(partial.done, vec![(0, 1)]);
/// assert_eq!(partial.pending.len(), 1);
/// # }
/// ```
pub struct Interrupted<P> {
    entry: &'static str,
    stop: Stop,
    completed: usize,
    total: usize,
    /// The names of the first few children still pending.
    pending: Vec<String>,
    partial: SyncWrapper<P>,
}

/// How a call was stopped: by its token, or by its timeout (as set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop {
    pub(crate) cancelled: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) elapsed: Duration,
}

impl<P> Interrupted<P> {
    pub(crate) fn new(
        entry: &'static str,
        stop: Stop,
        completed: usize,
        total: usize,
        pending: Vec<String>,
        partial: P,
    ) -> Self {
        Self { entry, stop, completed, total, pending, partial: SyncWrapper::new(partial) }
    }

    /// The entry point that timed out (`"async_gather"`, `"wait"`, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let t = concurry::gather(never).timeout(std::time::Duration::from_millis(5)).run().unwrap_err().into_timeout().unwrap();
    /// assert_eq!(t.entry(), "gather");
    /// ```
    pub fn entry(&self) -> &'static str {
        self.entry
    }
    /// Time from the call to the deadline being noticed.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let t = concurry::gather(never).timeout(std::time::Duration::from_millis(5)).run().unwrap_err().into_timeout().unwrap();
    /// assert!(t.elapsed() >= std::time::Duration::from_millis(5));
    /// ```
    pub fn elapsed(&self) -> Duration {
        self.stop.elapsed
    }
    /// How many children completed in time.
    ///
    /// # Examples
    ///
    /// ```
    /// let children = vec![Box::pin(async { 1u8 }) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
    /// let t = concurry::gather(children).timeout(std::time::Duration::from_millis(5)).run().unwrap_err().into_timeout().unwrap();
    /// assert_eq!((t.completed(), t.total()), (1, 2));
    /// ```
    pub fn completed(&self) -> usize {
        self.completed
    }
    /// How many children the call was given.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>(); 3];
    /// let t = concurry::gather(never).timeout(std::time::Duration::ZERO).run().unwrap_err().into_timeout().unwrap();
    /// assert_eq!(t.total(), 3);
    /// ```
    pub fn total(&self) -> usize {
        self.total
    }
    /// The partial result: what completed, and what is still pending, for a
    /// call made with `.keep_partial()`; `()` otherwise (see
    /// [`partial`](crate::partial)).
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>(); 2];
    /// let t = concurry::wait(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap_err().into_timeout().unwrap();
    /// let waited = t.into_partial();
    /// assert_eq!(waited.pending.len(), 2);
    /// ```
    pub fn into_partial(self) -> P {
        self.partial.into_inner()
    }
    /// The partial result, by mutable reference.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>(); 2];
    /// let mut t = concurry::wait(never).timeout(std::time::Duration::ZERO).keep_partial().run().unwrap_err().into_timeout().unwrap();
    /// assert!(t.partial_mut().done.is_empty());
    /// ```
    pub fn partial_mut(&mut self) -> &mut P {
        self.partial.get_mut()
    }
}

/// Reads as `timed out after 200ms: 2 of 3 completed; still pending:
/// orders` (a timeout names the duration it was given; a cancellation the
/// time it took), the first few pending children by name, and how many more.
impl<P> fmt::Display for Interrupted<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.stop.cancelled, self.stop.timeout) {
            (false, Some(timeout)) => write!(f, "timed out after {}", Human(timeout))?,
            (false, None) => write!(f, "timed out after {}", Human(self.stop.elapsed))?,
            (true, _) => write!(f, "cancelled after {}", Human(self.stop.elapsed))?,
        }
        write!(f, ": {} of {} completed", self.completed, self.total)?;
        if !self.pending.is_empty() {
            write!(f, "; still pending: {}", self.pending.join(", "))?;
            let more = self.total.saturating_sub(self.completed).saturating_sub(self.pending.len());
            if more > 0 {
                write!(f, " and {more} more")?;
            }
        }
        Ok(())
    }
}

impl<P> fmt::Debug for Interrupted<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interrupted")
            .field("entry", &self.entry)
            .field("cancelled", &self.stop.cancelled)
            .field("timeout", &self.stop.timeout)
            .field("elapsed", &self.stop.elapsed)
            .field("completed", &self.completed)
            .field("total", &self.total)
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl<P> std::error::Error for Interrupted<P> {}

/// A child's error, as the fail-fast verbs ([`try_gather`](crate::try_gather),
/// [`async_try_gather`](crate::async_try_gather)) hand it back: boxed, so
/// that children with different error types can share one call, and so that
/// `anyhow::Error`, `String` and every `std::error::Error + Send + Sync`
/// fit. The original error is reachable with `downcast_ref` (or
/// [`Error::child_error`]); for a child's `anyhow::Error`, the error it was
/// made from is (with the default `anyhow` feature; its backtrace is
/// dropped).
///
/// # Examples
///
/// ```
/// let err = concurry::try_gather([std::future::ready(Err::<u8, _>(std::fmt::Error))]).run().unwrap_err();
/// let (_, error): (usize, concurry::BoxError) = err.into_failed().unwrap();
/// assert!(error.downcast_ref::<std::fmt::Error>().is_some());
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A child's error, boxed. An `anyhow::Error` is boxed as its own error
/// (anyhow's `From` boxes a wrapper that `downcast_ref` cannot see through),
/// and a [`TaskError`](crate::task::TaskError) holding a task's own error as
/// that error, so that a handler finds the typed error it was made from.
pub(crate) fn box_error<E: Into<BoxError> + 'static>(error: E) -> BoxError {
    let mut slot = Some(error);
    let any = &mut slot as &mut dyn std::any::Any;
    // A task's own error is what failed, not the `TaskError` around it.
    if let Some(task) = any.downcast_mut::<Option<crate::task::TaskError>>().and_then(Option::take) {
        return task.into_error().unwrap_or_else(|other| Box::new(other));
    }
    #[cfg(feature = "anyhow")]
    if let Some(anyhow) = any.downcast_mut::<Option<anyhow::Error>>().and_then(Option::take) {
        return anyhow.reallocate_into_boxed_dyn_error_without_backtrace();
    }
    slot.map_or_else(|| unreachable!("taken only when it is of a type handled above"), Into::into)
}

/// Why a `wait` or `gather` did not return its result.
///
/// - `K` is the key type (`usize` for `Vec`s, arrays and tuples; the map's
///   key for maps);
/// - `P` is the partial result handed back on a timeout: `()` unless the
///   call was made with `.keep_partial()` (see [`partial`](crate::partial)).
///
/// Only the fail-fast verbs ([`try_gather`](crate::try_gather) and
/// [`async_try_gather`](crate::async_try_gather)) fail on a child, with
/// [`Error::Failed`]: its message names the child's key, and
/// [`source()`](std::error::Error::source) is the child's own error, so
/// `anyhow`'s `chain()`, `root_cause()` and `downcast_ref` reach it, as a
/// handler that maps error types to statuses needs.
///
/// What `?` into `anyhow::Error` or `Box<dyn Error + Send + Sync>` needs:
/// the error is `Send + Sync + 'static` exactly when `K` is
/// `Send + Sync + 'static` and `P` is `Send + 'static`. By default `P` is
/// `()`, so the children themselves never matter: they may borrow, or be
/// `!Send`. After `.keep_partial()`, `P` holds the pending children, which
/// then must be `Send + 'static` too (they need not be `Sync`).
/// `Debug` and `Display` need only `K: Debug`.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use concurry::Error;
///
/// let futs = vec![Ok(1), Err("boom"), Ok(3)].into_iter().map(std::future::ready);
/// match concurry::async_try_gather(futs.collect::<Vec<_>>()).await {
///     Err(Error::Failed { key, name, error }) => assert_eq!((key, name, error.to_string()), (1, "child 1".into(), "boom".into())),
///     other => panic!("unexpected: {other:?}"),
/// }
/// # }
/// ```
#[non_exhaustive]
pub enum Error<K, P = ()> {
    /// A child of a fail-fast call ([`try_gather`](crate::try_gather))
    /// failed: an `Err` output, or a panicked task or thread. The other
    /// children were dropped.
    Failed {
        /// The failed child's key.
        key: K,
        /// The failed child's name, as the message shows it: the one
        /// `.names(..)` gave, a string key without its quotes (`orders`),
        /// or `child ` and its key (`child 1`, `child "users"/3`).
        name: String,
        /// Its error, also the [`source()`](std::error::Error::source) of
        /// this one.
        error: BoxError,
    },
    /// The timeout passed before the call could return. Boxed, so that
    /// results stay small on the success path.
    Timeout(Box<Interrupted<P>>),
    /// The call's cancellation token ([`cancel_on`](crate::Gather::cancel_on))
    /// fired before the call could return: as a timeout, with the same
    /// counts and partial result.
    Cancelled(Box<Interrupted<P>>),
    /// A setting of this call is out of range (a `.limit(0)`): nothing was
    /// started.
    Config(ConfigError),
    /// A blocking call was made where it cannot block.
    Blocking(BlockingError),
}

impl<K, P> Error<K, P> {
    /// The timeout, if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let never = vec![std::future::pending::<()>()];
    /// let err = concurry::async_gather(never).timeout(std::time::Duration::from_secs(1)).await.unwrap_err();
    /// assert_eq!(err.into_timeout().unwrap().total(), 1);
    /// # }
    /// ```
    pub fn into_timeout(self) -> Option<Interrupted<P>> {
        match self {
            Self::Timeout(t) => Some(*t),
            _ => None,
        }
    }

    /// The cancellation, if this is one.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = tokio_util::sync::CancellationToken::new();
    /// token.cancel();
    /// let never = vec![std::future::pending::<u8>()];
    /// let err = concurry::gather(never).cancel_on(token).run().unwrap_err();
    /// assert_eq!(err.into_cancelled().unwrap().completed(), 0);
    /// ```
    pub fn into_cancelled(self) -> Option<Interrupted<P>> {
        match self {
            Self::Cancelled(t) => Some(*t),
            _ => None,
        }
    }

    /// The timeout or the cancellation, if this is either: both hand back
    /// the same partial result.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// let err = concurry::gather(never).timeout(std::time::Duration::ZERO).run().unwrap_err();
    /// assert_eq!(err.into_interrupted().unwrap().total(), 1);
    /// ```
    pub fn into_interrupted(self) -> Option<Interrupted<P>> {
        match self {
            Self::Timeout(t) | Self::Cancelled(t) => Some(*t),
            _ => None,
        }
    }

    /// `true` for a cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = tokio_util::sync::CancellationToken::new();
    /// token.cancel();
    /// let err = concurry::gather([std::future::pending::<u8>()]).cancel_on(token).run().unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_timeout());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled(_))
    }

    /// The failed child's key and error, if this is a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let futs = vec![std::future::ready(Err::<u8, _>("no"))];
    /// let err = concurry::async_try_gather(futs).await.unwrap_err();
    /// let (key, error) = err.into_failed().unwrap();
    /// assert_eq!((key, error.to_string()), (0, "no".to_string()));
    /// # }
    /// ```
    pub fn into_failed(self) -> Option<(K, BoxError)> {
        match self {
            Self::Failed { key, error, .. } => Some((key, error)),
            _ => None,
        }
    }

    /// The failed child's error as an `E`, if this is a failure with an
    /// error of that type. Looks through the child's error itself and its
    /// [`source()`](std::error::Error::source) chain, so a child's
    /// `anyhow::Error` made from an `E` is found too.
    ///
    /// # Examples
    ///
    /// ```
    /// #[derive(Debug, thiserror::Error)]
    /// #[error("orders service down")]
    /// struct OrdersDown;
    ///
    /// let futs = vec![std::future::ready(Err::<u8, _>(OrdersDown))];
    /// let err = concurry::try_gather(futs).run().unwrap_err();
    /// assert!(err.child_error::<OrdersDown>().is_some());
    /// assert!(err.child_error::<std::io::Error>().is_none());
    /// ```
    pub fn child_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let Self::Failed { error, .. } = self else { return None };
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }

    /// `true` for a timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = vec![std::future::pending::<u8>()];
    /// assert!(concurry::gather(never).timeout(std::time::Duration::ZERO).run().unwrap_err().is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }
}

impl<K, P> From<BlockingError> for Error<K, P> {
    fn from(e: BlockingError) -> Self {
        Self::Blocking(e)
    }
}

/// A failure's message names the child (`child 1 failed`); the child's own
/// error is the [`source`](std::error::Error::source), not repeated in the
/// message, as the Rust error-handling guidelines ask, so a report of the
/// chain shows each message once: `{:#}` on an `anyhow::Error` prints
/// `child 1 failed: orders service down`.
impl<K: fmt::Debug, P> fmt::Display for Error<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { name, .. } => write!(f, "{name} failed"),
            Self::Timeout(t) | Self::Cancelled(t) => t.fmt(f),
            Self::Blocking(b) => b.fmt(f),
            Self::Config(c) => c.fmt(f),
        }
    }
}

impl<K: fmt::Debug, P> fmt::Debug for Error<K, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { key, name, error } => {
                f.debug_struct("Failed").field("key", key).field("name", name).field("error", error).finish()
            }
            Self::Timeout(t) => f.debug_tuple("Timeout").field(t).finish(),
            Self::Cancelled(t) => f.debug_tuple("Cancelled").field(t).finish(),
            Self::Blocking(b) => f.debug_tuple("Blocking").field(b).finish(),
            Self::Config(c) => f.debug_tuple("Config").field(c).finish(),
        }
    }
}

impl<K: fmt::Debug, P> std::error::Error for Error<K, P> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Failed { error, .. } => Some(error.as_ref()),
            Self::Timeout(_) | Self::Cancelled(_) | Self::Blocking(_) | Self::Config(_) => None,
        }
    }
}

/// A `std::thread` that panicked: its panic message, when it was a string.
///
/// # Examples
///
/// ```
/// let h = std::thread::spawn(|| -> u8 { panic!("bad input") });
/// let out = concurry::gather(vec![concurry::probe::thread(h)]).run().unwrap();
/// assert_eq!(out[0].as_ref().unwrap_err().message(), Some("bad input"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("thread panicked: {}", message.as_deref().unwrap_or("<non-string panic payload>"))]
pub struct ThreadPanic {
    message: Option<String>,
}

impl ThreadPanic {
    pub(crate) fn from_payload(payload: Box<dyn std::any::Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        Self { message }
    }

    /// The panic message, if the payload was a string.
    ///
    /// # Examples
    ///
    /// ```
    /// let h = std::thread::spawn(|| -> u8 { panic!("boom") });
    /// let out = concurry::gather([concurry::probe::thread(h)]).run().unwrap();
    /// assert_eq!(out[0].as_ref().unwrap_err().message(), Some("boom"));
    /// ```
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::{Human, child_name};
    use std::time::Duration;

    #[test]
    fn durations_read_as_people_write_them() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(500), "500ns"),
            (Duration::from_micros(250), "250µs"),
            (Duration::from_micros(2_500), "2.5ms"),
            (Duration::from_millis(200), "200ms"),
            (Duration::from_nanos(201_356_116), "201ms"),
            (Duration::from_millis(1_200), "1.2s"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_secs(45), "45s"),
            (Duration::from_secs(200), "3m20s"),
            (Duration::from_secs(7_200), "2h"),
            (Duration::from_secs(7_500), "2h5m"),
        ];
        for (d, want) in cases {
            assert_eq!(Human(d).to_string(), want, "{d:?}");
        }
        assert!(Human(Duration::MAX).to_string().ends_with(['h', 'm']));
    }

    #[test]
    fn children_are_named_as_the_user_keyed_them() {
        assert_eq!(child_name(&"orders", true), "orders");
        assert_eq!(child_name(&String::from("orders"), false), "orders");
        assert_eq!(child_name(&3usize, true), "child 3");
        assert_eq!(child_name(&3usize, false), "3");
        assert_eq!(child_name(&"say \"hi\"", true), r#"child "say \"hi\"""#);
    }
}
