//! `race` / `async_race`: the first child's output; the others are dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::engine::Entry;
use crate::error::{ConfigError, Error};
use crate::shape::{IntoChildren, Keys};
use crate::{Pending, Wait, WaitResult, Waited};

type Out<S> = <<S as IntoChildren>::Future as Future>::Output;

/// A race being set up: choose options, then `.await` it ([`async_race`]) or
/// `.run()` it ([`race`]). It outputs the first child's output as it is
/// (a `Result` child's own `Err` included: the first to *complete* wins,
/// not the first to succeed), and drops the others when it returns, which
/// cancels them: a future stops being polled, a [`task::spawn`](crate::task::spawn)
/// task is aborted, a [`task::spawn_process`](crate::task::spawn_process)
/// process is killed.
///
/// It is [`async_wait`](crate::async_wait) with
/// [`first_completed`](Wait::first_completed), handing back only the
/// first output: use that when you want the winner's key, or the losers
/// back to wait on again. If several children are complete when first
/// polled, the first of them in input order wins.
///
/// # Errors
///
/// [`Error::Timeout`] or [`Error::Cancelled`] when no child completed in
/// time; [`Error::Config`] for an input with no children (no first one to
/// give), or an option set after the race began; with
/// [`run`](Self::run), [`Error::Blocking`] where blocking would deadlock.
///
/// # Examples
///
/// A hedged request: ask two replicas, take the first answer, cancel the
/// other.
///
/// ```
/// use std::time::Duration;
///
/// #[derive(Debug, PartialEq, thiserror::Error)]
/// #[error("replica {0} is draining")]
/// struct Draining(u64);
///
/// async fn replica(id: u64, ms: u64) -> Result<String, Draining> {
///     tokio::time::sleep(Duration::from_millis(ms)).await;
///     if id == 2 { Err(Draining(id)) } else { Ok(format!("answer from {id}")) }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), concurry::Error> {
/// let first = concurry::async_race([replica(1, 30), replica(2, 900)]).await?;
/// assert_eq!(first, Ok("answer from 1".to_string())); // your own Result, untouched
///
/// let first = concurry::async_race([replica(1, 900), replica(2, 30)]).await?;
/// assert_eq!(first, Err(Draining(2))); // the first to complete, even an Err
/// # Ok(())
/// # }
/// ```
#[must_use = "a race does nothing until it is `.await`ed (async code) or `.run()` (blocking code)"]
pub struct Race<S: IntoChildren> {
    wait: Wait<S>,
}

/// Races children from async code: a [`Race`] to configure and `.await`,
/// whose output is the first child's output.
///
/// Children are any input of [`IntoChildren`]: `Vec`s, arrays, tuples and
/// maps of futures, tasks from [`task::spawn`](crate::task::spawn), threads,
/// processes, or a [`Pending`] set from an earlier `wait`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::{async_race, task};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), concurry::Error> {
/// let slow = |ms: u64| task::spawn(async move { tokio::time::sleep(Duration::from_millis(ms)).await; Ok::<_, std::io::Error>(ms) });
/// let first = async_race([slow(500), slow(20), slow(90)]).await?;
/// assert_eq!(first.unwrap(), 20); // the two other tasks are aborted
/// # Ok(())
/// # }
/// ```
pub fn async_race<S: IntoChildren>(children: S) -> Race<S> {
    Race { wait: Wait::new(children, Entry::ASYNC_RACE).first_completed() }
}

/// Races children from blocking code: a [`Race`] to configure and
/// [`run`](Race::run), whose output is the first child's output.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::{race, task};
///
/// let sleeper = |ms: u64| task::spawn_thread(move || { std::thread::sleep(Duration::from_millis(ms)); Ok::<_, std::io::Error>(ms) });
/// assert_eq!(race([sleeper(300), sleeper(5)]).run()?.unwrap(), 5);
/// # Ok::<(), concurry::Error>(())
/// ```
pub fn race<S: IntoChildren>(children: S) -> Race<S> {
    Race { wait: Wait::new(children, Entry::RACE).first_completed() }
}

impl<S: IntoChildren> Race<S> {
    /// Fail with [`Error::Timeout`] if no child completes within `timeout`
    /// of the call; every child is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let never = [std::future::pending::<u8>(), std::future::pending()];
    /// let err = concurry::race(never).names(["primary", "replica"]).timeout(Duration::from_millis(20)).run().unwrap_err();
    /// assert_eq!(err.to_string(), "timed out after 20ms: 0 of 2 completed; still pending: primary, replica");
    /// ```
    pub fn timeout(self, timeout: std::time::Duration) -> Self {
        Self { wait: self.wait.timeout(timeout) }
    }

    /// End the race with [`Error::Cancelled`] when `token` is cancelled
    /// before a child completes; see [`Gather::cancel_on`](crate::Gather::cancel_on).
    ///
    /// # Examples
    ///
    /// ```
    /// let token = tokio_util::sync::CancellationToken::new();
    /// token.cancel();
    /// let err = concurry::race([std::future::pending::<u8>()]).cancel_on(token).run().unwrap_err();
    /// assert!(err.is_cancelled());
    /// ```
    pub fn cancel_on(self, token: tokio_util::sync::CancellationToken) -> Self {
        Self { wait: self.wait.cancel_on(token) }
    }

    /// Name the children, in input order, for the messages of a timeout or
    /// a cancellation; see [`Gather::names`](crate::Gather::names). Give
    /// exactly one name per child: any other count ends the race with
    /// [`Error::Config`].
    ///
    /// # Examples
    ///
    /// ```
    /// let err = concurry::race([std::future::ready(1)]).names(["a", "b"]).run().unwrap_err();
    /// assert!(matches!(err, concurry::Error::Config(_)));
    /// ```
    pub fn names<N: Into<std::borrow::Cow<'static, str>>>(self, names: impl IntoIterator<Item = N>) -> Self {
        Self { wait: self.wait.names(names) }
    }

    /// How often to check children that cannot wake the engine (threads,
    /// processes, [probes](crate::probe)); see [`Polling`](crate::Polling).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::{polling::Fixed, probe::thread};
    ///
    /// let threads = vec![thread(std::thread::spawn(|| 1))];
    /// let first = concurry::race(threads).polling(Fixed::new(std::time::Duration::from_millis(1))?).run();
    /// assert_eq!(first.unwrap().unwrap(), 1);
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn polling(self, polling: impl Into<crate::Polling>) -> Self {
        Self { wait: self.wait.polling(polling) }
    }

    /// Blocks the calling thread until the first child completes.
    ///
    /// # Errors
    ///
    /// As for `.await` (see [`Race`]), and [`Error::Blocking`] on a
    /// current-thread Tokio runtime's own thread or in a `LocalSet`'s task,
    /// where blocking would deadlock.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concurry::race([1, 2].map(std::future::ready)).run().unwrap(), 1); // both ready: input order
    /// ```
    pub fn run(self) -> Result<Out<S>, Error> {
        first(self.wait.run())
    }
}

/// The first output of a wait that returned on its first completion.
fn first<L: Keys, F: Future>(waited: WaitResult<L, F>) -> Result<F::Output, Error> {
    let Waited { done, pending }: Waited<L, F, F::Output> = waited?;
    // Dropped here, not with the caller's result: the losers stop now.
    drop::<Pending<L, F>>(pending);
    done.into_iter().next().map(|(_, out)| out).ok_or_else(|| {
        Error::Config(ConfigError::new(
            "race input",
            "no children",
            "a race needs at least one child to give a first output",
        ))
    })
}

impl<S: IntoChildren> fmt::Debug for Race<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Race").field("wait", &self.wait).finish()
    }
}

/// A race is the future of its call: `.await` it. The first poll starts
/// the call.
///
/// # Cancel safety
///
/// This method is not cancel safe: dropping the race before it returns
/// drops every child.
impl<S: IntoChildren> Future for Race<S> {
    type Output = Result<Out<S>, Error>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.wait).poll(cx).map(first)
    }
}
