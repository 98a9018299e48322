#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, missing_debug_implementations)]
// Built for the loom model (`--cfg loom`, tests/loom.rs), blocking calls
// only park and no set is pooled: what only Tokio's paths use goes unused.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod batch;
mod blocking;
pub mod config;
mod engine;
mod error;
mod exits;
mod gather;
pub mod guide;
mod outcome;
pub mod partial;
mod pending;
pub mod polling;
pub mod probe;
pub mod progress;
mod race;
#[cfg(feature = "ray")]
pub mod ray;
pub mod shape;
mod slab;
mod sync;
pub mod task;
mod timer;
mod trace;
mod wait;

pub use blocking::shared_runtime;
pub use error::{BlockingError, BoxError, ConfigError, Error, Interrupted, Key, ParseError, ThreadPanic};
pub use gather::{
    AsIs, FailFast, Gather, GatherItem, GatherIter, GatherPartial, GatherResult, GatherStream, Mode, RunFirst,
    async_gather, async_try_gather, gather, try_gather,
};
pub use outcome::Outcome;
pub use partial::{Discard, KeepPartial, Partial, PartialPolicy};
pub use pending::Pending;
pub use polling::{Polling, PollingAlgorithm};
pub use progress::Progress;
pub use race::{Race, async_race, race};
pub use shape::lazy::{lazy, lazy_keyed};
pub use shape::nested::nested;
pub use wait::{ReturnWhen, Wait, WaitResult, Waited, async_wait, wait};
