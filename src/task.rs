//! Tasks and threads whose own `Err` is a failure, with any error type.
//!
//! Lead with [`spawn`] (a Tokio task), [`spawn_thread`] (an OS thread) and
//! [`spawn_process`] (a child process, whose status other than success is
//! its failure):
//! each returns a handle whose output is `Result<T, TaskError>`, where the
//! task's own `Err(e)` becomes [`TaskError`] holding `e`, and a panic or an
//! abort is a `TaskError` that says so. The task's error type needs nothing
//! but `Into<Box<dyn Error + Send + Sync>>` (any `std::error::Error +
//! Send + Sync + 'static`, `anyhow::Error`, a `String`): no
//! `From<JoinError>` to write. A [`spawn`] handle aborts its task when
//! dropped, so a fail-fast gather or a race cancels the losers:
//!
//! ```
//! use concurry::{async_try_gather, task};
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("disk full at {0}")]
//! struct DiskFull(u32);
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async fn save(i: u32) -> Result<u32, DiskFull> {
//!     if i == 2 { Err(DiskFull(i)) } else { Ok(i) }
//! }
//! let tasks: Vec<_> = (0..4).map(|i| task::spawn(save(i))).collect();
//! let err = async_try_gather(tasks).await.unwrap_err(); // the others are aborted
//! assert_eq!(err.child_error::<DiskFull>().unwrap().0, 2);
//! let (key, error) = err.into_failed().unwrap();
//! assert_eq!((key.index(), error.to_string()), (2, "disk full at 2".to_string()));
//! # }
//! ```
//!
//! In a gather, the task's own error is what the failure holds (its
//! [`source()`](std::error::Error::source)), not the `TaskError` around it:
//! `downcast_ref::<DiskFull>()` and anyhow's chain find it. Awaited
//! directly, [`TaskError::downcast_ref`] finds it.
//!
//! A plain `JoinHandle<Result<T, E>>` outputs `Result<Result<T, E>,
//! JoinError>`. For [`try_gather`](crate::try_gather) and
//! `ReturnWhen::FirstException` only the outer `Err` (a panic or an abort)
//! is a failure: the task's own `Err(e)` is an ordinary value, as it is for
//! `tokio::try_join!` over the handles. To make the task's own `Err` a
//! failure too, spawn with [`spawn`], or wrap each handle in [`flatten`].
//!
//! # Examples
//!
//! ```
//! use concurry::{async_try_gather, task::flatten};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let tasks = vec![
//!     tokio::spawn(async { Ok::<u8, std::io::Error>(1) }),
//!     tokio::spawn(async { Err(std::io::Error::other("no disk")) }),
//! ];
//! // The trap: the task's Err is just a value here.
//! // let out: Vec<Result<u8, std::io::Error>> = async_try_gather(tasks).await?;
//!
//! let err = async_try_gather(tasks.into_iter().map(flatten).collect::<Vec<_>>()).await.unwrap_err();
//! assert_eq!(err.to_string(), "child 1 failed");
//! assert_eq!(err.child_error::<std::io::Error>().unwrap().to_string(), "no disk");
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;
use tokio::task::JoinError;
use tokio_util::task::AbortOnDropHandle;

use crate::error::{BoxError, ThreadPanic};
use crate::outcome::Outcome;
use crate::probe::Probed;

/// Why a task or thread from [`spawn`] or [`spawn_thread`] (or a handle in
/// [`flatten`]) did not give its value: its own error, a panic, or an abort.
///
/// It displays as the task's own error does, and its
/// [`source()`](std::error::Error::source) is that error's source, so a
/// chain of messages reads as if the task's error stood alone.
///
/// # Examples
///
/// ```
/// use concurry::task;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let failed = task::spawn(async { Err::<u8, _>(std::io::Error::other("no disk")) }).await.unwrap_err();
/// assert_eq!(failed.to_string(), "no disk");
/// assert!(failed.downcast_ref::<std::io::Error>().is_some());
///
/// let panicked = task::spawn(async { panic!("boom"); #[allow(unreachable_code)] Ok::<u8, std::io::Error>(1) }).await.unwrap_err();
/// assert!(panicked.is_panic());
/// assert_eq!(panicked.to_string(), "task panicked: boom");
/// # }
/// ```
pub struct TaskError(Kind);

enum Kind {
    Failed(BoxError),
    /// What panicked (`"task"`, `"thread"`) and the panic's message.
    Panicked(&'static str, Option<String>),
    Aborted,
}

impl TaskError {
    pub(crate) fn failed(error: BoxError) -> Self {
        Self(Kind::Failed(error))
    }

    fn joined(error: JoinError) -> Self {
        match error.try_into_panic() {
            Ok(payload) => Self::panicked("task", ThreadPanic::from_payload(payload)),
            Err(_) => Self(Kind::Aborted),
        }
    }

    fn panicked(what: &'static str, panic: ThreadPanic) -> Self {
        Self(Kind::Panicked(what, panic.message().map(str::to_owned)))
    }

    /// The task returned its own `Err` (not a panic, not an abort).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = concurry::task::spawn(async { Err::<(), _>("nope") }).await.unwrap_err();
    /// assert!(err.is_failed() && !err.is_panic());
    /// # }
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self.0, Kind::Failed(_))
    }

    /// The task or thread panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::try_gather([concurry::task::spawn_thread(|| -> Result<u8, String> { panic!("oops") })])
    ///     .run()
    ///     .unwrap_err();
    /// assert!(err.child_error::<concurry::task::TaskError>().unwrap().is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.0, Kind::Panicked(..))
    }

    /// The task was aborted (its runtime shut down, or `abort()` was called).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let task = tokio::spawn(std::future::pending::<Result<u8, String>>());
    /// task.abort();
    /// assert!(concurry::task::flatten(task).await.unwrap_err().is_aborted());
    /// # }
    /// ```
    pub fn is_aborted(&self) -> bool {
        matches!(self.0, Kind::Aborted)
    }

    /// The task's own error, whatever its type, if it returned one.
    pub(crate) fn own_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Kind::Failed(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The task's own error, if it is an `E`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = concurry::task::spawn(async { Err::<(), _>(std::fmt::Error) }).await.unwrap_err();
    /// assert!(err.downcast_ref::<std::fmt::Error>().is_some());
    /// # }
    /// ```
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match &self.0 {
            Kind::Failed(e) => e.downcast_ref(),
            _ => None,
        }
    }

    /// The task's own error as its own type `E`: `Ok(e)` if the task
    /// returned `Err(e)` with `e` an `E`; a panic, an abort or an error of
    /// another type comes back as `Err(self)`. `E` is usually inferred, so
    /// a function returning its own error type writes
    /// `.map_err(|e| e.downcast().expect("the task panicked"))`.
    /// (A task's `anyhow::Error` is held as the error it was made from:
    /// ask for that type.)
    ///
    /// # Errors
    ///
    /// `Err(self)` when the task panicked, was aborted, or failed with an
    /// error that is not an `E`.
    ///
    /// # Examples
    ///
    /// A hedged request with the service's own error type:
    ///
    /// ```
    /// use concurry::{async_race, task};
    ///
    /// #[derive(Debug, PartialEq, thiserror::Error)]
    /// #[error("replica {0} is draining")]
    /// struct Draining(u32);
    ///
    /// async fn replica(id: u32) -> Result<String, Draining> {
    ///     if id == 1 { Err(Draining(id)) } else { Ok(format!("answer from {id}")) }
    /// }
    ///
    /// async fn hedged() -> Result<String, Draining> {
    ///     let first = async_race([task::spawn(replica(1)), task::spawn(replica(2))]).await.expect("two replicas");
    ///     first.map_err(|e| e.downcast().expect("a replica panicked"))
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// assert_eq!(hedged().await, Err(Draining(1)));
    ///
    /// let panicked = task::spawn(async { panic!("boom"); #[allow(unreachable_code)] Ok::<u8, Draining>(1) }).await.unwrap_err();
    /// assert!(panicked.downcast::<Draining>().unwrap_err().is_panic());
    /// # }
    /// ```
    pub fn downcast<E: std::error::Error + 'static>(self) -> Result<E, Self> {
        match self.0 {
            Kind::Failed(e) => e.downcast::<E>().map(|e| *e).map_err(|e| Self(Kind::Failed(e))),
            kind => Err(Self(kind)),
        }
    }

    /// The task's own error, if it returned one; a panic or an abort comes
    /// back as `Err(self)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = concurry::task::spawn(async { Err::<(), _>(std::fmt::Error) }).await.unwrap_err();
    /// let own = err.into_error().unwrap();
    /// assert!(own.downcast::<std::fmt::Error>().is_ok());
    /// # }
    /// ```
    pub fn into_error(self) -> Result<BoxError, Self> {
        match self.0 {
            Kind::Failed(e) => Ok(e),
            kind => Err(Self(kind)),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Failed(e) => e.fmt(f),
            Kind::Panicked(what, message) => {
                write!(f, "{what} panicked: {}", message.as_deref().unwrap_or("<non-string panic payload>"))
            }
            Kind::Aborted => f.write_str("task was aborted before it finished"),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Failed(e) => f.debug_tuple("Failed").field(e).finish(),
            Kind::Panicked(what, m) => f.debug_tuple("Panicked").field(what).field(m).finish(),
            Kind::Aborted => f.write_str("Aborted"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Kind::Failed(e) => e.source(),
            _ => None,
        }
    }
}

/// A task made by [`spawn`]: aborted when dropped; outputs the task's own
/// value, or a [`TaskError`] for its own `Err`, a panic or an abort.
pub type Task<T> = Flatten<AbortOnDropHandle<Result<T, BoxError>>>;

/// Spawns `fut` on the current Tokio runtime, as `tokio::spawn` does, and
/// returns a handle that:
///
/// - outputs `Ok(value)`, or `Err(TaskError)` for the task's own `Err`, a
///   panic or an abort: so fail-fast gathers and
///   `ReturnWhen::FirstException` see the task's own `Err` (a plain
///   `JoinHandle<Result<T, E>>` only fails on a panic: its task's `Err`
///   reads as a success, see the [module docs](self));
/// - aborts the task when dropped, so the children a fail-fast gather or a
///   race drops stop running (a plain `JoinHandle` only detaches).
///
/// The output may be any `Result<T, E>` whose `E` converts into
/// `Box<dyn Error + Send + Sync>`, or any type that never fails (see
/// [`Outcome`]).
///
/// # Panics
///
/// Outside a Tokio runtime, as `tokio::spawn` does.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::{async_wait, task};
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("replica {0} is draining")]
/// struct Draining(u64);
///
/// async fn replica(ms: u64) -> Result<u64, Draining> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // A hedged request: the first answer wins, the slower replica is aborted.
/// let w = async_wait([task::spawn(replica(10)), task::spawn(replica(5_000))]).first_completed().await.unwrap();
/// assert_eq!(w.done[0].1.as_ref().unwrap(), &10);
/// # }
/// ```
pub fn spawn<F>(fut: F) -> Task<<F::Output as Outcome>::Value>
where
    F: Future + Send + 'static,
    F::Output: Outcome<Value: Send + 'static, Error: Into<BoxError> + 'static> + Send + 'static,
{
    let own = async move { fut.await.into_result().map_err(crate::error::box_error) };
    Flatten { task: AbortOnDropHandle::new(tokio::spawn(own)) }
}

/// A thread made by [`spawn_thread`]: outputs the closure's own value, or a
/// [`TaskError`] for its own `Err` or a panic. The thread wakes the call
/// the moment it ends (no polling schedule, unlike a
/// [`probe::thread`](crate::probe::thread) over a `JoinHandle` of your own).
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Thread<T> {
    answer: futures::channel::oneshot::Receiver<Result<T, TaskError>>,
}

impl<T> Future for Thread<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.answer).poll(cx).map(|answer| {
            // The thread always sends, its panic caught; a closed channel
            // means the answer itself could not be built.
            answer.unwrap_or_else(|_| Err(TaskError(Kind::Panicked("thread", None))))
        })
    }
}

/// Runs `f` on a new OS thread, as `std::thread::spawn` does, for blocking
/// work (a subprocess, a C library, a CPU-bound loop), and returns a handle
/// to wait on: `Ok(value)`, or `Err(TaskError)` for the closure's own `Err`
/// or a panic. So a fail-fast gather over threads fails on their own `Err`
/// (with [`probe::thread`](crate::probe::thread), only a panic fails). The
/// thread wakes the call when it ends, as a task does: no polling.
///
/// The thread runs to its end whatever happens to the handle: a thread
/// cannot be aborted. Its output is dropped on that thread if nobody waits
/// for it any more. Should the system refuse a new thread, the handle
/// outputs that `io::Error` as a `TaskError` (where `std::thread::spawn`
/// would panic).
///
/// # Examples
///
/// ```
/// use concurry::{task, try_gather};
///
/// let parse = |s: &'static str| task::spawn_thread(move || s.parse::<u32>());
/// let err = try_gather([parse("7"), parse("x")]).run().unwrap_err();
/// assert!(err.child_error::<std::num::ParseIntError>().is_some());
/// assert_eq!(try_gather([parse("1"), parse("2")]).run().unwrap(), [1, 2]);
///
/// let panicked = try_gather([task::spawn_thread(|| -> Result<u8, String> { panic!("boom") })]).run().unwrap_err();
/// assert_eq!(panicked.child_error::<task::TaskError>().unwrap().to_string(), "thread panicked: boom");
/// ```
pub fn spawn_thread<F, O>(f: F) -> Thread<O::Value>
where
    F: FnOnce() -> O + Send + 'static,
    O: Outcome<Value: Send + 'static, Error: Into<BoxError> + 'static>,
{
    let (send, answer) = futures::channel::oneshot::channel();
    let run = move || {
        let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let answer = match output {
            Ok(own) => own.into_result().map_err(|e| TaskError::failed(crate::error::box_error(e))),
            Err(payload) => Err(TaskError::panicked("thread", ThreadPanic::from_payload(payload))),
        };
        // Nobody waits any more: the answer is dropped here.
        let _ = send.send(answer);
    };
    if let Err(refused) = std::thread::Builder::new().spawn(run) {
        let (send, answer) = futures::channel::oneshot::channel();
        let _ = send.send(Err(TaskError::failed(Box::new(refused))));
        return Thread { answer };
    }
    Thread { answer }
}

/// Why a process from [`spawn_process`] failed though it ran: it exited
/// with a status other than success. Says which command (its program and
/// arguments, as a shell would read them) and which status.
///
/// # Examples
///
/// ```
/// use concurry::task::{self, ExitFailure};
///
/// let err = concurry::try_gather([task::spawn_process(std::process::Command::new("false"))]).run().unwrap_err();
/// let failure = err.child_error::<ExitFailure>().unwrap();
/// assert_eq!(failure.status().code(), Some(1));
/// assert!(err.to_string() == "child 0 failed");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitFailure {
    program: String,
    status: std::process::ExitStatus,
}

impl ExitFailure {
    /// The exit status.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut command = std::process::Command::new("sh");
    /// command.args(["-c", "exit 3"]);
    /// let err = concurry::try_gather([concurry::task::spawn_process(command)]).run().unwrap_err();
    /// let failure = err.child_error::<concurry::task::ExitFailure>().unwrap();
    /// assert_eq!(failure.status().code(), Some(3));
    /// assert_eq!(failure.to_string(), "sh -c 'exit 3' exited with exit status: 3");
    /// ```
    pub fn status(&self) -> std::process::ExitStatus {
        self.status
    }
}

impl fmt::Display for ExitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} exited with {}", self.program, self.status)
    }
}

impl std::error::Error for ExitFailure {}

/// A process made by [`spawn_process`]: wakes the call when it exits (on
/// Unix; elsewhere checked on the call's schedule); killed when dropped;
/// outputs its exit status, or a [`TaskError`] for a status other than
/// success ([`ExitFailure`]) or a process that could not start or be
/// waited on (the `io::Error`).
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Process {
    running: Option<Probed<crate::probe::ProcessProbe>>,
    /// Wakes the handle when a child exits; without it (no `SIGCHLD`
    /// listener), the process is checked on the call's schedule.
    exits: Option<crate::exits::ExitWatch>,
    program: String,
    not_started: Option<std::io::Error>,
}

/// Starts `command` as a child process, as `Command::spawn` does, and
/// returns a handle to wait on, in the form [`spawn`] gives tasks: a status
/// other than success is a failure (so a fail-fast gather fails on it, and
/// `FirstException` returns on it), a process that cannot start fails the
/// same way (no `?` before the call), and the process is killed when its
/// handle is dropped (a fail-fast gather, a race or a timeout stops the
/// others). A piped stdin is closed at once, as `Command::status` closes
/// it (the handle gives no way to write to it): to talk to the process,
/// spawn it yourself and wait on it with [`probe::process`](crate::probe::process).
///
/// On Unix the process wakes the call when it exits (the crate listens
/// for `SIGCHLD`), so its end is noticed at once, as a task's is. Elsewhere
/// it is checked on the call's polling schedule (by the blocking verbs'
/// adaptive default, about 17 ms late at the median; see
/// [`polling`](crate::polling)), as a [`probe::process`](crate::probe::process)
/// over a `Child` of your own always is.
///
/// # Examples
///
/// ```
/// use std::process::Command;
/// use concurry::{task, try_gather};
///
/// let ok = try_gather([task::spawn_process(Command::new("true"))]).run().unwrap();
/// assert!(ok[0].success());
/// let err = try_gather([task::spawn_process(Command::new("no-such-program-here"))]).run().unwrap_err();
/// let io = err.child_error::<std::io::Error>().unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// assert_eq!(io.to_string(), "could not start no-such-program-here");
/// ```
pub fn spawn_process(mut command: std::process::Command) -> Process {
    let program = command_line(&command);
    match command.spawn() {
        Ok(mut child) => Process {
            // Nothing can write to a piped stdin here: closed, as
            // `Command::status` closes it, so a child reading it (`cat`)
            // sees its end rather than waiting for ever.
            running: {
                drop(child.stdin.take());
                Some(crate::probe::process(child).kill_on_drop(true))
            },
            exits: crate::exits::ExitWatch::new(),
            program,
            not_started: None,
        },
        Err(e) => {
            let not_started = std::io::Error::new(e.kind(), NotStarted { program: program.clone(), source: e });
            Process { running: None, exits: None, program, not_started: Some(not_started) }
        }
    }
}

/// The longest command line a message quotes; the rest reads `...`.
const COMMAND_LINE_CHARS: usize = 120;

/// `command` as a shell would read it (`sh -c 'exit 3'`): the program and
/// its arguments, each quoted when it holds a space or a quote, cut short
/// after [`COMMAND_LINE_CHARS`].
fn command_line(command: &std::process::Command) -> String {
    let quoted = std::iter::once(command.get_program()).chain(command.get_args()).map(|word| {
        let word = word.to_string_lossy();
        let plain = !word.is_empty() && word.chars().all(|c| c.is_alphanumeric() || "-_./=:,+@%".contains(c));
        if plain { word.into_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
    });
    let line = quoted.collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(COMMAND_LINE_CHARS) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line,
    }
}

/// A process that could not start: which command, and the system's reason
/// (its source). Carried inside the `io::Error` the handle outputs, which
/// keeps the system's `ErrorKind`.
#[derive(Debug)]
struct NotStarted {
    program: String,
    source: std::io::Error,
}

impl fmt::Display for NotStarted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not start {}", self.program)
    }
}

impl std::error::Error for NotStarted {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

impl Future for Process {
    type Output = Result<std::process::ExitStatus, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let Some(running) = this.running.as_mut() else {
            let error = this.not_started.take().unwrap_or_else(|| std::io::Error::other("polled after it completed"));
            return Poll::Ready(Err(TaskError::failed(Box::new(error))));
        };
        let status = match &this.exits {
            Some(exits) => {
                // Registered first, then asked: an exit in between is seen
                // by the question, one after it wakes us (src/exits.rs).
                exits.register(cx.waker());
                match crate::probe::Probe::try_finish(running.get_mut()) {
                    Some(status) => status,
                    None => return Poll::Pending,
                }
            }
            None => match Pin::new(running).poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(status) => status,
            },
        };
        this.running = None;
        Poll::Ready(match status {
            Ok(status) if status.success() => Ok(status),
            Ok(status) => Err(TaskError::failed(Box::new(ExitFailure { program: this.program.clone(), status }))),
            Err(io) => Err(TaskError::failed(Box::new(io))),
        })
    }
}

/// A handle whose output is a task's own `Result`, a panic or an abort
/// turned into a [`TaskError`]: see [`flatten`].
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Flatten<F> {
    #[pin]
    task: F,
}

/// What a handle outputs once joined: the task's own output, or why there
/// is none. Implemented for Tokio's `JoinHandle`s and for threads.
///
/// # Examples
///
/// ```
/// use concurry::task::Joined;
/// let joined: Result<Result<u8, std::io::Error>, tokio::task::JoinError> = Ok(Ok(3));
/// assert_eq!(joined.flatten().unwrap(), 3);
/// ```
///
/// A future that is not a spawned task's handle has nothing to flatten;
/// the compiler says what to use instead:
///
/// ```compile_fail,E0277
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // error: `flatten` takes a spawned task's handle ...
/// let out = concurry::task::flatten(async { Ok::<u8, std::io::Error>(1) }).await;
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`flatten` takes a spawned task's handle, whose output is `Result<_, JoinError>`; this outputs `{Self}`",
    label = "not the handle of a spawned task",
    note = "to spawn a future with its own `Err` as a failure, write `concurry::task::spawn(fut)`: no `flatten` needed",
    note = "a plain future needs neither: its own `Result` is what `try_gather` and `ReturnWhen::FirstException` see"
)]
pub trait Joined {
    /// The task's value once it succeeded.
    type Value;
    /// The task's value, or its own error, a panic or an abort.
    fn flatten(self) -> Result<Self::Value, TaskError>;
}

impl<O: Outcome<Error: Into<BoxError> + 'static>> Joined for Result<O, JoinError> {
    type Value = O::Value;
    fn flatten(self) -> Result<O::Value, TaskError> {
        match self {
            Ok(own) => own.into_result().map_err(|e| TaskError::failed(crate::error::box_error(e))),
            Err(join) => Err(TaskError::joined(join)),
        }
    }
}

impl<T> Joined for Result<Result<T, TaskError>, ThreadPanic> {
    type Value = T;
    fn flatten(self) -> Result<T, TaskError> {
        self.unwrap_or_else(|panic| Err(TaskError::panicked("thread", panic)))
    }
}

impl<F: Future<Output: Joined>> Future for Flatten<F> {
    type Output = Result<<F::Output as Joined>::Value, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().task.poll(cx).map(Joined::flatten)
    }
}

/// Makes a spawned task's own `Err` a failure: the handle (a `JoinHandle`
/// or tokio-util's `AbortOnDropHandle` of a `Result<T, E>`) then outputs
/// `Ok(value)` or `Err(TaskError)`, for the task's own error, a panic or an
/// abort.
///
/// # Examples
///
/// ```
/// use concurry::task::flatten;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let task = flatten(tokio::spawn(async { Err::<u8, _>(std::io::Error::other("no disk")) }));
/// assert_eq!(task.await.unwrap_err().to_string(), "no disk");
/// # }
/// ```
pub fn flatten<F: Future<Output: Joined>>(task: F) -> Flatten<F> {
    Flatten { task }
}
