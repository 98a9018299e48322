//! The primitives through which threads meet in this crate: the children's
//! wakers (`pending::wakers`) and the parked blocking call
//! (`blocking::park_on`).
//!
//! Built normally they are `std`'s (and `futures`' `AtomicWaker`). Built for
//! the loom model (`RUSTFLAGS="--cfg loom" cargo test --release --test
//! loom`), they are `loom`'s, which runs a test under every interleaving of
//! their operations that matters and fails on any that hangs or loses a
//! result. Code that uses them takes them from here, and from nowhere else,
//! so that the model checks the very code a user runs.
//!
//! One rule for their users: an atomic that another thread may change with
//! a read-modify-write operation (`swap`, `fetch_or`, ..) is written with
//! read-modify-write operations only, never a plain `store`, even where the
//! value read is not needed. The hardware keeps an RMW whole either way, but
//! loom (0.7) lets a concurrent plain store land between an RMW's read and
//! its write (tokio-rs/loom#254), which would fail the model with a lost
//! wake that cannot happen.

use std::task::Waker;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};
#[cfg(loom)]
pub(crate) use loom::thread::{Thread, current as current_thread, park};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, fence};
#[cfg(not(loom))]
pub(crate) use std::thread::{Thread, current as current_thread, park};

pub(crate) use std::sync::atomic::Ordering;

/// The waker of the task polling a set, registered from that task and woken
/// from any thread: `futures`' `AtomicWaker`, or loom's.
pub(crate) struct AtomicWaker {
    #[cfg(not(loom))]
    inner: futures::task::AtomicWaker,
    #[cfg(loom)]
    inner: loom::future::AtomicWaker,
}

impl AtomicWaker {
    pub(crate) fn new() -> Self {
        #[cfg(not(loom))]
        let inner = futures::task::AtomicWaker::new();
        #[cfg(loom)]
        let inner = loom::future::AtomicWaker::new();
        Self { inner }
    }

    /// Registers `waker`, to be woken by the next [`AtomicWaker::wake`].
    pub(crate) fn register(&self, waker: &Waker) {
        #[cfg(not(loom))]
        self.inner.register(waker);
        #[cfg(loom)]
        self.inner.register_by_ref(waker);
    }

    /// Wakes the waker registered last, if any, and takes it out.
    pub(crate) fn wake(&self) {
        self.inner.wake();
    }

    /// Takes the registered waker out, without waking it.
    pub(crate) fn take(&self) -> Option<Waker> {
        #[cfg(not(loom))]
        return self.inner.take();
        #[cfg(loom)]
        return self.inner.take_waker();
    }
}
