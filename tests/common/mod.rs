//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

pub type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A child that sleeps `ms` (Tokio time) then returns `value`.
pub fn after<T: Send + 'static>(ms: u64, value: T) -> BoxFut<T> {
    Box::pin(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        value
    })
}

/// Counts drops of the futures it guards.
#[derive(Clone, Default)]
pub struct DropCounter(Arc<AtomicUsize>);

impl DropCounter {
    pub fn guard(&self) -> DropGuard {
        DropGuard(self.0.clone())
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct DropGuard(Arc<AtomicUsize>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Counts how often the wrapped future is polled.
pub struct CountPolls<F> {
    pub inner: Pin<Box<F>>,
    pub polls: Arc<AtomicUsize>,
}

impl<F> CountPolls<F> {
    pub fn new(inner: F) -> (Self, Arc<AtomicUsize>) {
        let polls = Arc::new(AtomicUsize::new(0));
        (Self { inner: Box::pin(inner), polls: polls.clone() }, polls)
    }
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

/// Pending once (waking itself at once), then ready with `value`.
pub struct YieldOnce<T> {
    yielded: bool,
    value: Option<T>,
}

pub fn yield_once<T>(value: T) -> YieldOnce<T> {
    YieldOnce { yielded: false, value: Some(value) }
}

impl<T: Unpin> Future for YieldOnce<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if self.yielded {
            Poll::Ready(self.value.take().expect("polled after completion"))
        } else {
            self.yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// A probe that is never done.
pub struct Never;

impl concurry::probe::Probe for Never {
    type Output = u8;
    fn try_finish(&mut self) -> Option<u8> {
        None
    }
}

/// A failure's position and the child's error message, for comparisons.
pub fn failed(err: concurry::Error) -> Option<(usize, String)> {
    err.into_failed().map(|(key, error)| (key.index(), error.to_string()))
}
