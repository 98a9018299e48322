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
//! async fn save(i: u32) -> anyhow::Result<u32> {
//!     anyhow::ensure!(i != 2, "disk full at {i}");
//!     Ok(i)
//! }
//! let tasks: Vec<_> = (0..4).map(|i| task::spawn(save(i))).collect();
//! let err = async_try_gather(tasks).await.unwrap_err(); // the others are aborted
//! let (key, error) = err.into_failed().unwrap();
//! assert_eq!((key, error.to_string()), (2, "disk full at 2".to_string()));
//! # }
//! ```
//!
//! The handle's output is the task's own `Result<T, E>`: a panic or an
//! abort arrives as `E::from(JoinError)`, as `handle.await?` would convert
//! it. So `E` must have a `From<tokio::task::JoinError>`: `anyhow::Error`,
//! `Box<dyn Error + Send + Sync>` and `std::io::Error` have one; give your
//! own error enum a `#[from] JoinError` variant. Nothing wraps the task's
//! error, so a failed gather's [`source()`](std::error::Error::source) is
//! the task's error itself, and a handler's `downcast_ref` finds it.
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

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;
use tokio::task::JoinError;
use tokio_util::task::AbortOnDropHandle;

/// A task made by [`spawn`]: aborted when dropped; outputs the task's own
/// `Result<T, E>`, a panic or abort as `E::from(JoinError)`.
pub type Task<T, E> = Flatten<AbortOnDropHandle<Result<T, E>>, E>;

/// Spawns `fut` on the current Tokio runtime, as `tokio::spawn` does, and
/// returns a handle that:
///
/// - outputs the task's own `Result<T, E>`, a panic or abort arriving as
///   `E::from(JoinError)`: so fail-fast gathers and
///   `ReturnWhen::FirstException` see the task's own `Err` (a plain
///   `JoinHandle<Result<T, E>>` only fails on a panic: its task's `Err`
///   reads as a success, see the [module docs](self));
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
/// use concurry::{async_wait, task};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// async fn replica(ms: u64) -> Result<u64, std::io::Error> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     Ok(ms)
/// }
/// let w = async_wait([task::spawn(replica(5)), task::spawn(replica(5_000))]).first_completed().await.unwrap();
/// assert_eq!(w.done[0].1.as_ref().unwrap(), &5);
/// drop(w.pending); // the slow replica is aborted here
/// # }
/// ```
pub fn spawn<F, T, E>(fut: F) -> Task<T, E>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: From<JoinError> + Send + 'static,
{
    flatten(AbortOnDropHandle::new(tokio::spawn(fut)))
}

/// A task handle whose output is flattened: see [`flatten`].
///
/// # Examples
///
/// ```
/// let task = concurry::shared_runtime().spawn(async { Ok::<u8, std::io::Error>(5) });
/// let flat: concurry::task::Flatten<_, std::io::Error> = concurry::task::flatten(task);
/// assert_eq!(concurry::try_gather([flat]).run().unwrap(), [5]);
/// ```
#[pin_project]
#[must_use = "futures do nothing unless you `.await` or poll them"]
#[derive(Debug)]
pub struct Flatten<F, E> {
    #[pin]
    task: F,
    error: PhantomData<fn() -> E>,
}

impl<F, T, E> Future for Flatten<F, E>
where
    F: Future<Output = Result<Result<T, E>, JoinError>>,
    E: From<JoinError>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().task.poll(cx).map(|joined| joined.unwrap_or_else(|join| Err(E::from(join))))
    }
}

/// Turns a task handle's `Result<Result<T, E>, JoinError>` into the task's
/// own `Result<T, E>`, a panic or abort as `E::from(JoinError)`, so that the
/// task's own `Err` is a failure. Works for `JoinHandle` and tokio-util's
/// `AbortOnDropHandle` alike.
///
/// # Examples
///
/// ```
/// use concurry::{try_gather, shared_runtime, task::flatten};
///
/// let tasks: Vec<_> = (1..=3u32).map(|i| flatten(shared_runtime().spawn(async move { Ok::<_, anyhow::Error>(i) }))).collect();
/// assert_eq!(try_gather(tasks).run().unwrap(), [1, 2, 3]);
///
/// let panicked = flatten(shared_runtime().spawn(async { if true { panic!("boom") } Ok::<u8, anyhow::Error>(1) }));
/// let out = concurry::gather([panicked]).run().unwrap();
/// assert!(out[0].as_ref().unwrap_err().downcast_ref::<tokio::task::JoinError>().unwrap().is_panic());
/// ```
pub fn flatten<F, T, E>(task: F) -> Flatten<F, E>
where
    F: Future<Output = Result<Result<T, E>, JoinError>>,
    E: From<JoinError>,
{
    Flatten { task, error: PhantomData }
}
