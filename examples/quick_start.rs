//! The spec's Quick Start: `wait`, then `gather`, over 10 spawned Tokio
//! tasks, from plain blocking code.
//!
//! Run with `cargo run --example quick_start`.

use std::time::Duration;

use concurry::{shared_runtime, try_gather, wait};

/// Simulates an API call.
async fn fetch_data(id: u32) -> String {
    tokio::time::sleep(Duration::from_millis(10 * u64::from(id % 3))).await;
    format!("{{\"id\": {id}, \"data\": \"result_{id}\"}}")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = shared_runtime();

    // Submit tasks and wait for all of them to complete.
    let tasks: Vec<_> = (0..10).map(|i| runtime.spawn(fetch_data(i))).collect();
    let waited = wait(tasks).timeout(Duration::from_secs(30)).run()?;
    println!("Completed: {}, Pending: {}", waited.done.len(), waited.pending.len());
    for (index, result) in &waited.done {
        println!("task {index}: {}", result.as_ref().map_err(|e| e.to_string())?);
    }

    // Gather all results, in the same order as the tasks.
    let tasks: Vec<_> = (0..10).map(|i| runtime.spawn(fetch_data(i))).collect();
    let results = try_gather(tasks).timeout(Duration::from_secs(30)).run()?;
    for (i, result) in results.iter().enumerate() {
        println!("Task {i}: {result}");
    }
    Ok(())
}
