//! What one small call allocates, counted (one test in this binary, polled
//! on the test's own thread, so that nothing else allocates meanwhile).

mod common;

use std::alloc::System;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use common::yield_once;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Polls `fut` to completion with a waker that does nothing (every child
/// here completes within the call's own polls).
fn complete<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return out;
        }
    }
}

/// Allocations made by a gather of the futures `make` builds (the input
/// `Vec` itself is made before counting).
fn allocations_of_call<F: Future<Output = u64>>(make: impl Fn() -> Vec<F>) -> usize {
    let input = make();
    let region = Region::new(GLOBAL);
    let out = complete(concurry::async_gather(input)).expect("no timeout");
    let allocations = region.change().allocations;
    assert_eq!(out.len(), make().len());
    allocations
}

#[test]
fn a_small_call_allocates_its_slots_and_its_outputs_only() {
    // The first call on a thread makes the thread's spare waker state.
    let _ = allocations_of_call(|| vec![yield_once(0u64)]);
    // 16 and 32 fill their block exactly: no block is added for a child
    // after the last.
    for n in [1u64, 3, 10, 16, 32, 64] {
        // The block of slots and the outputs.
        let ready = allocations_of_call(|| (0..n).map(std::future::ready).collect());
        let yielding = allocations_of_call(|| (0..n).map(yield_once).collect());
        // Ready children take turns in one slot.
        assert_eq!(ready, 2, "{n} ready futures");
        // Pending ones each keep theirs: a block holds 32 at most, so 64
        // take two, and the list of the blocks.
        let slots = if n > 32 { 3 } else { 1 };
        // The children to rescan when the shared waker wakes are bits, up
        // to 64 of them: no list to allocate.
        assert_eq!(yielding, slots + 1, "{n} futures that yield once: {yielding} allocations");
    }
}
