//! Guides beyond the README, with runnable examples (doc-tests).
//!
//! - [`python`]: coming from Python concurry: each call of the spec beside
//!   its Rust form, what has no counterpart, and where this crate differs
//!   on purpose.
//! - [`peers`]: concurry beside `join_all`, `try_join!`, `JoinSet`,
//!   `FuturesUnordered` and `buffer_unordered`, each task written both ways.

#[doc = include_str!("../docs/python.md")]
pub mod python {}

#[doc = include_str!("../docs/peers.md")]
pub mod peers {}
