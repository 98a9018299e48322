//! A service loop that gathers batches of work, and stops on Ctrl-C or on a
//! `CancellationToken`, reporting what finished and what did not.
//!
//! Run with `cargo run --example shutdown` (it cancels itself after 0.3 s;
//! press Ctrl-C to stop it sooner).

use std::time::Duration;

use concurry::{Partial, async_gather, lazy};
use tokio_util::sync::CancellationToken;

/// One unit of work: 10-200 ms.
async fn job(batch: u32, i: u32) -> u32 {
    tokio::time::sleep(Duration::from_millis(10 + u64::from((batch * 7 + i * 13) % 190))).await;
    batch * 100 + i
}

#[tokio::main]
async fn main() {
    let shutdown = CancellationToken::new();
    // Ctrl-C, or (for this demo) a timer, cancels the token.
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => println!("Ctrl-C: shutting down"),
            _ = tokio::time::sleep(Duration::from_millis(300)) => println!("shutdown requested"),
        }
        trigger.cancel();
    });

    let mut finished = 0;
    for batch in 0.. {
        let work = lazy((0..50).map(|i| job(batch, i)));
        match async_gather(work).limit(10).cancel_on(shutdown.clone()).keep_partial().await {
            Ok(Partial::Complete(out)) => {
                finished += out.len();
                println!("batch {batch}: all {} done", out.len());
            }
            Ok(Partial::Interrupted { error, partial }) => {
                println!("batch {batch}: {error}");
                finished += partial.done.len();
                let first_pending: Vec<_> = partial.pending.keys().take(5).collect();
                println!(
                    "  kept {} results; {} jobs not finished (first: {first_pending:?}), dropped now",
                    partial.done.len(),
                    partial.pending.len()
                );
                break;
            }
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    println!("stopped cleanly: {finished} jobs finished in all");
}
