//! The spec's "Exception Handling": fail fast by default, errors as values,
//! per-key handling, iterator mode, first-failure detection, and telling a
//! timeout from a failure.
//!
//! Run with `cargo run --example exceptions`.

use std::collections::HashMap;
use std::time::Duration;

use concurry::{Error, ReturnWhen, gather, shared_runtime, task::flatten, try_gather, wait};

type Task = concurry::task::Flatten<tokio::task::JoinHandle<anyhow::Result<u32>>>;

fn task(i: u32, ms: u64) -> Task {
    flatten(shared_runtime().spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if i % 4 == 1 { Err(anyhow::anyhow!("ValueError: task {i}")) } else { Ok(i) }
    }))
}

fn main() {
    // Default: the first failure is returned at once; the rest are dropped.
    match try_gather(vec![task(0, 5), task(1, 10), task(2, 50)]).run() {
        Ok(results) => println!("all succeeded: {results:?}"),
        Err(Error::Failed { key, error, .. }) => println!("Task {key} failed: {error}"),
        Err(other) => println!("other error: {other}"),
    }

    // Errors as values.
    let results = gather((0..10).map(|i| task(i, 1)).collect::<Vec<_>>()).run().expect("no timeout");
    let (successes, failures): (Vec<_>, Vec<_>) = results.into_iter().enumerate().partition(|(_, r)| r.is_ok());
    println!("Successes: {}, Failures: {}", successes.len(), failures.len());

    // Per key.
    let tasks = HashMap::from([("must_succeed", task(0, 1)), ("may_fail", task(1, 1)), ("best_effort", task(5, 1))]);
    let mut results = gather(tasks).run().expect("no timeout");
    if let Err(e) = &results["must_succeed"] {
        panic!("Critical task failed: {e}");
    }
    if let Err(e) = &results["may_fail"] {
        println!("Warning: optional task failed: {e}; using a default");
        results.insert("may_fail", Ok(0));
    }
    results.retain(|_, r| r.is_ok());
    println!("kept {} results", results.len());

    // Iterator mode: log each failure and go on.
    for item in gather((0..6).map(|i| task(i, u64::from(i))).collect::<Vec<_>>()).iter() {
        match item.expect("no timeout") {
            (index, Ok(v)) => println!("Task {index} succeeded: {v}"),
            (index, Err(e)) => println!("Task {index} failed: {e}"),
        }
    }

    // React to the first failure with wait(FirstException).
    let w = wait((0..100).map(|i| task(i, u64::from(i % 10))).collect::<Vec<_>>())
        .return_when(ReturnWhen::FirstException)
        .timeout(Duration::from_secs(60))
        .run()
        .expect("no timeout");
    if let Some((key, Err(e))) = w.done.iter().find(|(_, r)| r.is_err()) {
        println!("First failure detected in task {key}: {e}; cancelling {} others", w.pending.len());
        w.pending.cancel();
    }

    // Timeout versus failure.
    match try_gather(vec![task(0, 10_000), task(4, 1)]).timeout(Duration::from_millis(50)).run() {
        Err(Error::Timeout(t)) => println!("Operation timed out: {t}"),
        Err(Error::Failed { key, error, .. }) => println!("Task {key} failed: {error}"),
        Err(other) => println!("other: {other}"),
        Ok(_) => println!("all done in time"),
    }
}
