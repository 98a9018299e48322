//! The spec's "Advanced Patterns" and "Performance Optimization" batching:
//! concurrent map (with a concurrency limit rather than the spec's
//! batches), racing requests by key, conditional
//! continuation, retry with backoff, and a large batch with progress.
//! (Streaming results and deadline-based processing have their own
//! examples: `streaming` and `deadline`.)
//!
//! Run with `cargo run --example patterns`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use concurry::{PollingAlgorithm, ReturnWhen, gather, lazy, shared_runtime, task::flatten, try_gather, wait};

async fn transform(x: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(1)).await;
    x * 2
}

/// Maps `items` through `transform`, at most `limit` at a time. The spec
/// cuts the input into batches, so each batch waits for its slowest item;
/// a limit starts the next item as soon as any finishes, and `lazy` makes
/// each future only then.
fn concurrent_map(items: &[u64], limit: usize) -> Vec<u64> {
    let futures = lazy(items.iter().map(|&x| transform(x)));
    gather(futures).limit(limit).timeout(Duration::from_secs(60)).run().expect("all complete")
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Concurrent map.
    let items: Vec<u64> = (0..1000).collect();
    let results = concurrent_map(&items, 100);
    assert_eq!(results[999], 1998);
    println!("concurrent map: {} results", results.len());

    // Racing requests, keyed.
    let source = |ms: u64, data: &'static str| {
        shared_runtime().spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            data
        })
    };
    let futures = HashMap::from([
        ("primary_api", source(80, "primary")),
        ("backup_api", source(120, "backup")),
        ("cache", source(10, "cached")),
    ]);
    let w = wait(futures).return_when(ReturnWhen::FirstCompleted).timeout(Duration::from_secs(5)).run()?;
    if let Some((name, result)) = w.done.first() {
        println!("Got result from fastest source {name}: {}", result.as_ref().map_err(|e| e.to_string())?);
        w.pending.cancel();
    }

    // Conditional continuation: phase 2 only for phase 1's successes.
    let phase1: Vec<_> = (0..10u64)
        .map(|i| shared_runtime().spawn(async move { if i % 3 == 0 { None } else { Some(("success", i)) } }))
        .collect();
    let phase1 = try_gather(phase1).run()?;
    let phase2: Vec<_> = phase1
        .iter()
        .flatten()
        .filter(|(status, _)| *status == "success")
        .map(|&(_, data)| flatten(shared_runtime().spawn(async move { Ok::<_, anyhow::Error>(data * 100) })))
        .collect();
    if !phase2.is_empty() {
        let phase2 = gather(phase2).run()?;
        println!("phase 2 ran {} of {} items", phase2.len(), phase1.len());
    }

    // Retry with exponential backoff: resubmit only what failed.
    let attempts = Arc::new(AtomicU32::new(0));
    let submit = |i: u64| {
        let attempts = attempts.clone();
        flatten(shared_runtime().spawn(async move {
            let n = attempts.fetch_add(1, Ordering::Relaxed);
            if (i + u64::from(n)) % 3 == 0 { Err(anyhow::anyhow!("flaky {i}")) } else { Ok(i) }
        }))
    };
    let mut pending_ids: Vec<u64> = (0..10).collect();
    let mut successes = HashMap::new();
    let (max_retries, backoff) = (3, 2.0_f64);
    for attempt in 0..=max_retries {
        let results = gather(pending_ids.iter().map(|&i| submit(i)).collect::<Vec<_>>()).run()?;
        let mut failed = Vec::new();
        for (&id, result) in pending_ids.iter().zip(results) {
            match result {
                Ok(v) => {
                    successes.insert(id, v);
                }
                Err(_) => failed.push(id),
            }
        }
        if failed.is_empty() {
            break;
        }
        println!("Attempt {}: {} tasks failed, retrying...", attempt + 1, failed.len());
        pending_ids = failed;
        std::thread::sleep(Duration::from_millis((backoff.powi(attempt + 1)) as u64));
    }
    println!("retry: {} of 10 succeeded", successes.len());

    // A large batch: adaptive polling, progress and a timeout.
    let futures: Vec<_> = (0..10_000u64).map(transform).collect();
    let results = try_gather(futures)
        .polling(PollingAlgorithm::Adaptive)
        .progress(true)
        .timeout(Duration::from_secs(300))
        .run()?;
    println!("large batch: {} results", results.len());
    Ok(())
}
