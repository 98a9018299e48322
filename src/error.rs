//! Error types.

use std::fmt;
use std::time::Duration;

/// A child's name from its key, as messages show it: a plain string key
/// without its quotes (`orders`, not `"orders"`: a word, `true`), any other
/// key by its `Debug` form (`false`: a sentence puts `child ` before it).
pub(crate) fn child_name<K: fmt::Debug>(key: &K) -> (String, bool) {
    let debug = format!("{key:?}");
    match debug.strip_prefix('"').and_then(|d| d.strip_suffix('"')) {
        Some(text) if !text.is_empty() && !text.contains('"') && !text.contains('\\') => (text.to_owned(), true),
        _ => (debug, false),
    }
}

/// A duration as people write it: `200ms`, `1.2s`, `3m20s`.
pub(crate) struct Human(pub(crate) Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Three significant digits at most, no trailing `.0`; `None` when
        /// it would round up to 1000 (the next unit reads it).
        fn short(value: f64, unit: &str) -> Option<String> {
            let text = if value >= 9.95 { format!("{value:.0}") } else { format!("{value:.1}") };
            (text != "1000").then(|| format!("{}{unit}", text.strip_suffix(".0").unwrap_or(&text)))
        }
        let d = self.0;
        let ns = d.as_nanos();
        let small = match ns {
            0 => Some("0s".to_string()),
            1..1_000 => Some(format!("{ns}ns")),
            1_000..1_000_000 => short(ns as f64 / 1e3, "µs"),
            _ => None,
        };
        if let Some(text) = small.or_else(|| (ns < 1_000_000_000).then(|| short(ns as f64 / 1e6, "ms")).flatten()) {
            return f.write_str(&text);
        }
        let secs_f = d.as_secs_f64();
        if secs_f < 59.5 {
            return f.write_str(&short(secs_f, "s").unwrap_or_else(|| "1s".into()));
        }
        let secs = d.as_secs().saturating_add(u64::from(d.subsec_millis() >= 500));
        match secs {
            ..3600 => match secs % 60 {
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
            "race" => "async_race",
            "try_gather" => "async_try_gather",
            _ => "async_gather",
        };
        Self { entry, entry_async, where_ }
    }
}

/// A call stopped before it could return: its deadline passed
/// ([`Error::Timeout`]) or its cancellation token fired
/// ([`Error::Cancelled`]). Says how long it ran, how many of how many
/// children completed, and names the first few still pending. What the
/// call had (its completed outputs, its pending children) comes back
/// beside it with `.keep_partial()`: see [`Partial`](crate::Partial).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let futs = vec![
///     Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32> + Send>>,
///     Box::pin(async { tokio::time::sleep(Duration::from_secs(60)).await; 2 }),
/// ];
/// let err = concurry::async_gather(futs).timeout(Duration::from_millis(20)).await.unwrap_err();
/// let timeout = err.into_timeout().unwrap();
/// assert_eq!((timeout.completed(), timeout.total()), (1, 2));
/// assert_eq!(timeout.pending_names(), ["1"]);
/// # }
/// ```
pub struct Interrupted {
    entry: &'static str,
    stop: Stop,
    completed: usize,
    total: usize,
    /// The names of the first few children still pending.
    pending: Vec<String>,
}

/// How a call was stopped: by its token, or by its timeout (as set).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stop {
    pub(crate) cancelled: bool,
    pub(crate) timeout: Option<Duration>,
    pub(crate) elapsed: Duration,
}

impl Interrupted {
    pub(crate) fn new(entry: &'static str, stop: Stop, completed: usize, total: usize, pending: Vec<String>) -> Self {
        Self { entry, stop, completed, total, pending }
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

    /// The names of the first few children still pending (five at most;
    /// the message says how many more): the names `.names(..)` gave, the
    /// map's keys, the paths, or the positions.
    ///
    /// # Examples
    ///
    /// ```
    /// let never = std::collections::BTreeMap::from([("orders", std::future::pending::<u8>())]);
    /// let err = concurry::gather(never).timeout(std::time::Duration::ZERO).run().unwrap_err();
    /// assert_eq!(err.interrupted().unwrap().pending_names(), ["orders"]);
    /// ```
    pub fn pending_names(&self) -> &[String] {
        &self.pending
    }
}

/// Reads as `timed out after 200ms: 2 of 3 completed; still pending:
/// orders` (a timeout names the duration it was given; a cancellation the
/// time it took), the first few pending children by name, and how many more.
impl fmt::Display for Interrupted {
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

impl fmt::Debug for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interrupted")
            .field("entry", &self.entry)
            .field("cancelled", &self.stop.cancelled)
            .field("timeout", &self.stop.timeout)
            .field("elapsed", &self.stop.elapsed)
            .field("completed", &self.completed)
            .field("total", &self.total)
            .field("pending", &self.pending)
            .finish()
    }
}

impl std::error::Error for Interrupted {}

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
/// let (_, error): (concurry::Key, concurry::BoxError) = err.into_failed().unwrap();
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

/// Why a `wait` or `gather` did not return its result: one concrete type
/// for every entry point and input shape, `Send + Sync + 'static` whatever
/// the children and their keys are, so `?` into `anyhow::Error` or
/// `Box<dyn Error + Send + Sync>` always compiles, and one
/// `downcast_ref::<concurry::Error>()` finds it.
///
/// Only the fail-fast verbs ([`try_gather`](crate::try_gather) and
/// [`async_try_gather`](crate::async_try_gather)) fail on a child, with
/// [`Error::Failed`]: its message names the child as the user does (see
/// [`Key`]), and [`source()`](std::error::Error::source) is the child's own
/// error, so `anyhow`'s `chain()`, `root_cause()` and `downcast_ref` reach
/// it, as a handler that maps error types to statuses needs. What a call
/// had when its timeout or token stopped it (its completed outputs, typed
/// and keyed, and its pending children) comes back with `.keep_partial()`,
/// beside this error: see [`Partial`](crate::Partial).
///
/// `{err}` is the one line of this error (`orders failed`); `{err:#}` adds
/// its chain of causes, as `anyhow` prints it, with no `anyhow` needed
/// (`orders failed: orders service down`).
///
/// # Examples
///
/// ```
/// let err = concurry::try_gather([std::future::ready(Err::<u8, _>(std::io::Error::other("down")))])
///     .names(["orders"])
///     .run()
///     .unwrap_err();
/// assert_eq!(err.to_string(), "orders failed");
/// assert_eq!(format!("{err:#}"), "orders failed: down");
/// ```
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use concurry::Error;
///
/// let futs = vec![Ok(1), Err("boom"), Ok(3)].into_iter().map(std::future::ready);
/// match concurry::async_try_gather(futs.collect::<Vec<_>>()).await {
///     Err(Error::Failed { key, error }) => assert_eq!((key.index(), error.to_string()), (1, "boom".into())),
///     other => panic!("unexpected: {other:?}"),
/// }
/// # }
/// ```
#[non_exhaustive]
pub enum Error {
    /// A child of a fail-fast call ([`try_gather`](crate::try_gather))
    /// failed: an `Err` output, or a panicked task or thread. The other
    /// children were dropped.
    Failed {
        /// Which child: its position in the input and its name.
        key: Key,
        /// Its error, also the [`source()`](std::error::Error::source) of
        /// this one.
        error: BoxError,
    },
    /// The timeout passed before the call could return. Boxed, so that
    /// results stay small on the success path.
    Timeout(Box<Interrupted>),
    /// The call's cancellation token ([`cancel_on`](crate::Gather::cancel_on))
    /// fired before the call could return: as a timeout, with the same
    /// counts.
    Cancelled(Box<Interrupted>),
    /// A setting of the call was refused before anything started (a
    /// `.limit(0)`, say).
    Config(ConfigError),
    /// A blocking entry point was called where it cannot block.
    Blocking(BlockingError),
}

/// Which child of a call: its position in the input (for a map, in the
/// map's order) and its name as messages show it: the name `.names(..)`
/// gave, a string key without its quotes (`orders`), or the key's `Debug`
/// form (a position, a nested input's path: `"users"/3`). A child that is
/// itself a fail-fast call (a gather in a tuple) is named by the path to
/// its child that failed, `processes/0`, with its own position as the
/// index. Owns its data, so
/// the error that holds it stays `'static` whatever the keys borrow.
///
/// It compares equal to its position (`key == 2`) and to its name
/// (`key == "orders"`).
///
/// # Examples
///
/// ```
/// let calls = std::collections::HashMap::from([("orders", std::future::ready(Err::<u8, _>("503")))]);
/// let err = concurry::try_gather(calls).run().unwrap_err();
/// let key = err.failed_key().unwrap();
/// assert_eq!((key.index(), key.name()), (0, "orders"));
/// assert!(*key == "orders" && *key == 0);
/// assert_eq!(err.to_string(), "orders failed");
///
/// let nested = (concurry::async_try_gather(vec![std::future::ready(Err::<u8, _>("503"))]),);
/// let err = concurry::try_gather(nested).names(["orders"]).run().unwrap_err();
/// assert_eq!(err.to_string(), "orders/0 failed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    index: usize,
    name: String,
    /// The name is a word of the user's (given, or a string key), rather
    /// than a key's `Debug` form, which messages put after `child `.
    worded: bool,
}

impl Key {
    pub(crate) fn new(index: usize, name: String, worded: bool) -> Self {
        Self { index, name, worded }
    }

    /// The child's position in the input (for a map, in the map's order).
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::try_gather([std::future::ready(Ok(1)), std::future::ready(Err("no"))]).run().unwrap_err();
    /// assert_eq!(err.failed_key().unwrap().index(), 1);
    /// ```
    pub fn index(&self) -> usize {
        self.index
    }

    /// The child's name: as `.names(..)` gave it, a string key's text, or
    /// the key's `Debug` form.
    ///
    /// # Examples
    ///
    /// ```
    /// let calls = (std::future::ready(Ok::<u8, &str>(1)), std::future::ready(Err::<u8, _>("503")));
    /// let err = concurry::try_gather(calls).names(["user", "orders"]).run().unwrap_err();
    /// assert_eq!(err.failed_key().unwrap().name(), "orders");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The child as the subject of a sentence: `orders`, `child 1`.
impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.worded { f.write_str(&self.name) } else { write!(f, "child {}", self.name) }
    }
}

impl PartialEq<usize> for Key {
    fn eq(&self, index: &usize) -> bool {
        self.index == *index
    }
}

impl PartialEq<str> for Key {
    fn eq(&self, name: &str) -> bool {
        self.name == name
    }
}

impl PartialEq<String> for Key {
    fn eq(&self, name: &String) -> bool {
        &self.name == name
    }
}

impl PartialEq<&str> for Key {
    fn eq(&self, name: &&str) -> bool {
        self.name == *name
    }
}

impl Error {
    /// Child `key` of a fail-fast call failed with `error`. A child that is
    /// itself a fail-fast call whose own child failed (a gather nested in a
    /// tuple) is named by the path to the child that failed,
    /// `processes/6`, and holds that child's error: one `failed` in the
    /// message, as a nested input's path reads.
    pub(crate) fn failed(key: Key, error: BoxError) -> Self {
        match error.downcast::<Error>() {
            Ok(inner) => match *inner {
                Error::Failed { key: inner_key, error } => {
                    let name = format!("{}/{}", key.name, inner_key.name);
                    Error::Failed { key: Key::new(key.index, name, key.worded), error }
                }
                other => Error::Failed { key, error: Box::new(other) },
            },
            Err(error) => Error::Failed { key, error },
        }
    }
}

impl Error {
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
    pub fn into_timeout(self) -> Option<Interrupted> {
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
    /// let err = concurry::gather(vec![std::future::pending::<u8>()]).cancel_on(token).run().unwrap_err();
    /// assert_eq!(err.into_cancelled().unwrap().completed(), 0);
    /// ```
    pub fn into_cancelled(self) -> Option<Interrupted> {
        match self {
            Self::Cancelled(t) => Some(*t),
            _ => None,
        }
    }

    /// The timeout or the cancellation, if this is either.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::gather(vec![std::future::pending::<u8>()]).timeout(std::time::Duration::ZERO).run().unwrap_err();
    /// assert_eq!(err.into_interrupted().unwrap().total(), 1);
    /// ```
    pub fn into_interrupted(self) -> Option<Interrupted> {
        match self {
            Self::Timeout(t) | Self::Cancelled(t) => Some(*t),
            _ => None,
        }
    }

    /// The timeout or the cancellation, by reference.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::gather(vec![std::future::pending::<u8>()]).timeout(std::time::Duration::ZERO).run().unwrap_err();
    /// assert_eq!(err.interrupted().unwrap().pending_names(), ["0"]);
    /// ```
    pub fn interrupted(&self) -> Option<&Interrupted> {
        match self {
            Self::Timeout(t) | Self::Cancelled(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the call's token ended it.
    ///
    /// # Examples
    ///
    /// ```
    /// let token = tokio_util::sync::CancellationToken::new();
    /// token.cancel();
    /// let err = concurry::gather(vec![std::future::pending::<u8>()]).cancel_on(token).run().unwrap_err();
    /// assert!(err.is_cancelled() && !err.is_timeout());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, Self::Cancelled(_))
    }

    /// Whether the call's timeout ended it: the one line a handler needs to
    /// answer 504.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::gather(vec![std::future::pending::<u8>()]).timeout(std::time::Duration::ZERO).run().unwrap_err();
    /// let status = if err.is_timeout() { 504 } else { 500 };
    /// assert_eq!(status, 504);
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout(_))
    }

    /// The failed child, if a child failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::try_gather([std::future::ready(Err::<u8, _>("no"))]).run().unwrap_err();
    /// assert_eq!(err.failed_key().unwrap().index(), 0);
    /// ```
    pub fn failed_key(&self) -> Option<&Key> {
        match self {
            Self::Failed { key, .. } => Some(key),
            _ => None,
        }
    }

    /// The failed child and its error, if a child failed.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::try_gather([std::future::ready(Err::<u8, _>("no"))]).run().unwrap_err();
    /// let (key, error) = err.into_failed().unwrap();
    /// assert_eq!((key.index(), error.to_string()), (0, "no".to_string()));
    /// ```
    pub fn into_failed(self) -> Option<(Key, BoxError)> {
        match self {
            Self::Failed { key, error } => Some((key, error)),
            _ => None,
        }
    }

    /// The failed child's error, or one in its chain of sources, if it is an
    /// `E`. The walk sees through a [`TaskError`](crate::task::TaskError)
    /// on the way (a child that did `task.await?` into `anyhow`), to the
    /// task's own error.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::try_gather([std::future::ready(Err::<u8, _>(std::fmt::Error))]).run().unwrap_err();
    /// assert!(err.child_error::<std::fmt::Error>().is_some());
    /// ```
    pub fn child_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let Self::Failed { error, .. } = self else { return None };
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            // A task's error displays as its own error does, so its
            // `source()` skips it: step into it here instead.
            next = match e.downcast_ref::<crate::task::TaskError>().and_then(crate::task::TaskError::own_error) {
                Some(own) => Some(own),
                None => e.source(),
            };
        }
        None
    }
}

impl From<BlockingError> for Error {
    fn from(e: BlockingError) -> Self {
        Self::Blocking(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { key, error } => {
                write!(f, "{key} failed")?;
                if f.alternate() {
                    // The causes, each after a colon, as anyhow's `{:#}`.
                    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
                    while let Some(cause) = next {
                        write!(f, ": {cause}")?;
                        next = cause.source();
                    }
                }
                Ok(())
            }
            Self::Timeout(t) | Self::Cancelled(t) => t.fmt(f),
            Self::Blocking(b) => b.fmt(f),
            Self::Config(c) => c.fmt(f),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { key, error } => f.debug_struct("Failed").field("key", key).field("error", error).finish(),
            Self::Timeout(t) => f.debug_tuple("Timeout").field(t).finish(),
            Self::Cancelled(t) => f.debug_tuple("Cancelled").field(t).finish(),
            Self::Blocking(b) => f.debug_tuple("Blocking").field(b).finish(),
            Self::Config(c) => f.debug_tuple("Config").field(c).finish(),
        }
    }
}

impl std::error::Error for Error {
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
            (Duration::from_micros(999_900), "1s"),
            (Duration::from_nanos(999_999), "1ms"),
            (Duration::from_nanos(999_900_000), "1s"),
            (Duration::from_millis(59_990), "1m"),
            (Duration::from_millis(9_960), "10s"),
        ];
        for (d, want) in cases {
            assert_eq!(Human(d).to_string(), want, "{d:?}");
        }
        assert!(Human(Duration::MAX).to_string().ends_with(['h', 'm']));
    }

    #[test]
    fn children_are_named_as_the_user_keyed_them() {
        assert_eq!(child_name(&"orders"), ("orders".into(), true));
        assert_eq!(child_name(&String::from("orders")), ("orders".into(), true));
        assert_eq!(child_name(&3usize), ("3".into(), false));
        assert_eq!(child_name(&"say \"hi\""), (r#""say \"hi\"""#.into(), false));
    }
}
