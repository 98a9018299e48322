//! Spawned tasks whose own output is a `Result`.
//!
//! Lead with [`spawn`]: it spawns a task whose own `Err` is a failure, and
//! which is aborted when its handle is dropped, so a fail-fast gather or a
//! race cancels the losers instead of leaving them running:
//!
//! ```
//! use concurry::{async_try_gather, task};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! async fn save(i: u32) -> Result<u32, String> {
//!     if i == 2 { Err(format!("disk full at {i}")) } else { Ok(i) }
//! }
//! let tasks: Vec<_> = (0..4).map(|i| task::spawn(save(i))).collect();
//! let err = async_try_gather(tasks).await.unwrap_err(); // the others are aborted
//! let (key, error) = err.into_failed().unwrap();
//! assert_eq!((key, error.to_string()), (2, "disk full at 2".to_string()));
//! # }
//! ```
//!
//! A `JoinHandle<Result<T, E>>` outputs `Result<Result<T, E>, JoinError>`.
//! For [`try_gather`](crate::try_gather) and `ReturnWhen::FirstException`,
//! only the outer `Err` (a panic or an abort) is a failure: the task's own
//! `Err(e)` is an ordinary value, as it is for `tokio::try_join!` over the
//! handles. To make the task's own `Err` a failure too, spawn with
//! [`spawn`], or wrap each handle in [`flatten`].
//!
//! # Examples
//!
//! ```
//! use concurry::{async_try_gather, task::{flatten, TaskError}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let tasks = vec![
//!     tokio::spawn(async { Ok::<u8, String>(1) }),
//!     tokio::spawn(async { Err("no disk".to_string()) }),
//! ];
//! // The trap: the task's Err is just a value here.
//! // let out: Vec<Result<u8, String>> = async_try_gather(tasks).await?;
//!
//! let err = async_try_gather(tasks.into_iter().map(flatten).collect::<Vec<_>>()).await.unwrap_err();
//! assert_eq!(err.to_string(), "child 1 failed");
//! assert!(matches!(err.child_error::<TaskError<String>>(), Some(TaskError::Failed(e)) if e == "no disk"));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;
use tokio::task::JoinError;
use tokio_util::task::AbortOnDropHandle;

/// A task made by [`spawn`]: aborted when dropped; outputs
/// `Result<T, TaskError<E>>`.
pub type Task<T, E> = Flatten<AbortOnDropHandle<Result<T, E>>>;

/// Spawns `fut` on the current Tokio runtime, as `tokio::spawn` does, and
/// returns a handle that:
///
/// - fails on the task's own `Err(e)` as well as on a panic or abort
///   ([`TaskError`]), so fail-fast gathers and `ReturnWhen::FirstException`
///   see it (a plain `JoinHandle<Result<T, E>>` only fails on a panic: its
///   task's `Err` reads as a success, see the [module docs](self));
/// - aborts the task when dropped, so the children a fail-fast gather or a
///   race drops stop running (a plain `JoinHandle` only detaches).
///
/// It is tokio-util's `AbortOnDropHandle`, flattened with [`flatten`].
///
/// # Panics
///
/// Outside a Tokio runtime, as `tokio::spawn` does. From plain code, spawn
/// on [`shared_runtime`](crate::shared_runtime) inside its context:
/// `let _rt = concurry::shared_runtime().enter();`.
///
/// # Examples
///
/// A hedged request: the first replica to answer wins, the other is aborted.
///
/// ```
/// use std::time::Duration;
/// use concurry::{async_wait, task, ReturnWhen};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// async fn replica(ms: u64) -> Result<u64, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
/// let w = async_wait([task::spawn(replica(5)), task::spawn(replica(5_000))])
///     .return_when(ReturnWhen::FirstCompleted)
///     .await
///     .unwrap();
/// assert_eq!(w.done[0].1.as_ref().unwrap(), &5);
/// drop(w.pending); // the slow replica is aborted here
/// # }
/// ```
pub fn spawn<F, T, E>(fut: F) -> Task<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    flatten(AbortOnDropHandle::new(tokio::spawn(fut)))
}

/// Why a flattened task failed: its own error, or a panic or abort.
///
/// # Examples
///
/// ```
/// use concurry::task::{flatten, TaskError};
/// let task = concurry::shared_runtime().spawn(async { Err::<u8, _>("disk full") });
/// let out = concurry::gather([flatten(task)]).run().unwrap();
/// let error = out[0].as_ref().unwrap_err();
/// assert!(matches!(error, TaskError::Failed("disk full")));
/// assert_eq!(error.to_string(), "disk full");
/// ```
#[derive(Debug)]
pub enum TaskError<E> {
    /// The task returned `Err(e)`.
    Failed(E),
    /// The task panicked or was aborted.
    Join(JoinError),
}

impl<E: fmt::Display> fmt::Display for TaskError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(e) => e.fmt(f),
            Self::Join(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for TaskError<E> {}

/// A task handle whose output is flattened: see [`flatten`].
///
/// # Examples
///
/// ```
/// let task = concurry::shared_runtime().spawn(async { Ok::<u8, String>(5) });
/// let flat: concurry::task::Flatten<_> = concurry::task::flatten(task);
/// assert_eq!(concurry::try_gather([flat]).run().unwrap(), [5]);
/// ```
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Flatten<F> {
    #[pin]
    task: F,
}

impl<F, T, E> Future for Flatten<F>
where
    F: Future<Output = Result<Result<T, E>, JoinError>>,
{
    type Output = Result<T, TaskError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().task.poll(cx).map(|joined| match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(TaskError::Failed(e)),
            Err(join) => Err(TaskError::Join(join)),
        })
    }
}

/// Turns a task handle's `Result<Result<T, E>, JoinError>` into
/// `Result<T, TaskError<E>>`, so that the task's own `Err` is a failure.
/// Works for `JoinHandle` and tokio-util's `AbortOnDropHandle` alike.
///
/// # Examples
///
/// ```
/// use concurry::{try_gather, shared_runtime, task::flatten};
///
/// let tasks: Vec<_> = (1..=3u32).map(|i| flatten(shared_runtime().spawn(async move { Ok::<_, String>(i) }))).collect();
/// assert_eq!(try_gather(tasks).run().unwrap(), [1, 2, 3]);
/// ```
pub fn flatten<F, T, E>(task: F) -> Flatten<F>
where
    F: Future<Output = Result<Result<T, E>, JoinError>>,
{
    Flatten { task }
}
