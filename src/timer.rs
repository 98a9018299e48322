//! The crate's timers: every deadline, check and pause the crate makes goes
//! through [`Timer`] and [`now`], the one place that picks
//! the clock and the driver that fires them.
//!
//! Which driver:
//! - in an async call polled inside a Tokio runtime, that runtime's own
//!   timer, so the call follows the caller's clock (`tokio::time::pause`
//!   included) and costs no thread of ours;
//! - in a blocking call, and in an async call polled outside any runtime
//!   (by `futures::executor::block_on`, say), the crate's timer thread: a
//!   current-thread runtime of its own that runs nothing but timers. The
//!   user's tasks cannot occupy it, so a blocking call's deadline and its
//!   probes' checks fire on time however busy [`shared_runtime`] is;
//! - on a thread whose Tokio thread-locals are gone (a call in a
//!   thread-local's `Drop` at thread exit), no driver can be entered: the
//!   timer then compares the clock at every poll and asks to be polled
//!   again, which is correct, if busy, for that rare place.
//!
//! Every timer is polled outside Tokio's cooperative budget, as
//! `tokio::time::timeout` polls its delay: a child that spends the budget on
//! every poll cannot hold a deadline off.
//!
//! [`shared_runtime`]: crate::shared_runtime

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::time::Sleep;

pub(crate) use tokio::time::Instant;

/// The time now, on the clock the crate's timers use here.
#[inline]
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// `at + d`, or, past the clock's range, a time that never comes in
/// practice (Tokio's own `sleep` does the same).
pub(crate) fn after(at: Instant, d: Duration) -> Instant {
    at.checked_add(d).unwrap_or_else(|| at + Duration::from_secs(86_400 * 365 * 30))
}

/// A timer that fires at an instant, and can be set again.
#[derive(Debug)]
pub(crate) struct Timer(Inner);

#[derive(Debug)]
enum Inner {
    Tokio(Pin<Box<Sleep>>),
    /// No driver could be entered (see the module docs).
    Clock(Instant),
}

impl Timer {
    /// A timer firing at `at`, on the driver the module docs describe.
    pub(crate) fn at(at: Instant) -> Self {
        let on_own_driver = crate::blocking::in_blocking_call();
        let inner = match Handle::try_current() {
            Ok(_) if !on_own_driver => Inner::Tokio(Box::pin(tokio::time::sleep_until(at))),
            Err(e) if e.is_thread_local_destroyed() => Inner::Clock(at),
            _ => {
                let _driver = driver().enter();
                Inner::Tokio(Box::pin(tokio::time::sleep_until(at)))
            }
        };
        Self(inner)
    }

    /// A timer firing `d` from now.
    pub(crate) fn after(d: Duration) -> Self {
        Self::at(after(now(), d))
    }

    /// Sets the timer to fire at `at` instead.
    pub(crate) fn reset(&mut self, at: Instant) {
        match &mut self.0 {
            Inner::Tokio(sleep) => sleep.as_mut().reset(at),
            Inner::Clock(when) => *when = at,
        }
    }

    /// `Ready` once the instant has come; polled outside the budget.
    pub(crate) fn poll_due(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.0 {
            Inner::Tokio(sleep) => Pin::new(&mut tokio::task::coop::unconstrained(sleep.as_mut())).poll(cx),
            Inner::Clock(when) if now() >= *when => Poll::Ready(()),
            Inner::Clock(_) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        }
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.poll_due(cx)
    }
}

/// `fut`'s output, or `None` if `timer` fires first.
pub(crate) async fn within<F: Future>(mut timer: Timer, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        timer.poll_due(cx).map(|()| None)
    })
    .await
}

/// The timer thread's runtime, started on first use. Should its thread fail
/// to start (out of threads), the shared runtime's timer serves instead.
fn driver() -> &'static Handle {
    static DRIVER: OnceLock<Handle> = OnceLock::new();
    DRIVER.get_or_init(|| start_driver().unwrap_or_else(|| crate::shared_runtime().handle().clone()))
}

fn start_driver() -> Option<Handle> {
    let built = tokio::runtime::Builder::new_current_thread().enable_time().build();
    crate::blocking::own_thread("concurry-timer", built.ok())
}
