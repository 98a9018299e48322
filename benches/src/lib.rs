//! What the measurements share: the peers and their workloads, the small
//! calls, and the clocks (CPU time per thread, medians, peak memory).
#![allow(missing_docs)]

pub mod measure;
pub mod peers;
pub mod small;
