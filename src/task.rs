//! Spawned tasks whose own output is a `Result`.
//!
//! A `JoinHandle<Result<T, E>>` outputs `Result<Result<T, E>, JoinError>`.
//! As an [`Outcome`](crate::Outcome), only the outer `Err` (a panic or an
//! abort) is a failure: the task's own `Err(e)` is an ordinary value, as it
//! is for `tokio::try_join!` over the handles. To make the task's own `Err` a
//! failure too, for fail-fast gathers and `ReturnWhen::FirstException`, wrap
//! each handle in [`flatten`].
//!
//! # Examples
//!
//! ```
//! use concurry::{async_gather, task::{flatten, TaskError}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let tasks = vec![
//!     tokio::spawn(async { Ok::<u8, String>(1) }),
//!     tokio::spawn(async { Err("no disk".to_string()) }),
//! ];
//! // Bad code, do not use: the task's Err is just a value here.
//! // let out: Vec<Result<u8, String>> = async_gather(tasks).await?;
//!
//! let err = async_gather(tasks.into_iter().map(flatten).collect::<Vec<_>>()).await.unwrap_err();
//! let (key, error) = err.into_failed().unwrap();
//! assert_eq!(key, 1);
//! assert!(matches!(error, TaskError::Failed(ref e) if e == "no disk"));
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;
use tokio::task::JoinError;

/// Why a flattened task failed: its own error, or a panic or abort.
///
/// # Examples
///
/// ```
/// use concurry::task::{flatten, TaskError};
/// let task = concurry::shared_runtime().spawn(async { Err::<u8, _>("disk full") });
/// let (_, error) = concurry::gather([flatten(task)]).run().unwrap_err().into_failed().unwrap();
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
/// assert_eq!(concurry::gather([flat]).run().unwrap(), [5]);
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
/// use concurry::{gather, shared_runtime, task::flatten};
///
/// let tasks: Vec<_> = (1..=3u32).map(|i| flatten(shared_runtime().spawn(async move { Ok::<_, String>(i) }))).collect();
/// assert_eq!(gather(tasks).run().unwrap(), [1, 2, 3]);
/// ```
pub fn flatten<F, T, E>(task: F) -> Flatten<F>
where
    F: Future<Output = Result<Result<T, E>, JoinError>>,
{
    Flatten { task }
}
