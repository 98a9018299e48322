//! The rules for blocking the calling thread on a call's future.
//!
//! - No Tokio runtime on this thread: the call runs on a runtime this crate
//!   creates once and reuses ([`shared_runtime`]), never one per call.
//! - A multi-thread runtime: `block_in_place`, then that runtime's
//!   `Handle::block_on`; the runtime moves its other tasks to another worker
//!   meanwhile, so they keep running.
//! - A current-thread runtime: blocking its only thread would deadlock every
//!   task on it (and Tokio would panic), so the call returns
//!   [`BlockingError`] telling the caller to use the async form.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

use crate::error::BlockingError;

/// The runtime the blocking entry points use when the calling thread has
/// none. Created on first use, then shared by every call.
///
/// Plain synchronous code can spawn tasks on it too, to gather them later.
///
/// # Examples
///
/// ```
/// let task = concurry::shared_runtime().spawn(async { 40 + 2 });
/// assert_eq!(concurry::gather([task]).run().unwrap(), [42]);
/// ```
pub fn shared_runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("concurry-runtime")
            .enable_all()
            .build()
            .expect("concurry could not start its Tokio runtime (out of threads or file descriptors?)")
    })
}

pub(crate) fn block_on<F: Future>(entry: &'static str, fut: F) -> Result<F::Output, BlockingError> {
    match Handle::try_current() {
        Err(_) => Ok(shared_runtime().block_on(fut)),
        Ok(handle) => match handle.runtime_flavor() {
            RuntimeFlavor::CurrentThread => Err(BlockingError::new(entry)),
            _ => Ok(tokio::task::block_in_place(|| handle.block_on(fut))),
        },
    }
}
