//! The spec's `wait()` section: return conditions, input formats and timeout
//! handling, from blocking code.
//!
//! Run with `cargo run --example wait`.

use std::collections::HashMap;
use std::time::Duration;

use concurry::task::flatten;
use concurry::{Partial, ReturnWhen, probe, shared_runtime, wait};
use tokio::task::JoinHandle;

/// A "worker" call: a task on the shared runtime that takes `ms`.
fn task(id: u64, ms: u64) -> JoinHandle<anyhow::Result<u64>> {
    shared_runtime().spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if id == 13 { Err(anyhow::anyhow!("task {id} failed")) } else { Ok(id * 10) }
    })
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // ALL_COMPLETED (the default).
    let futures: Vec<_> = (0..100).map(|i| task(i, i % 7)).collect();
    let w = wait(futures).return_when(ReturnWhen::AllCompleted).run()?;
    assert!(w.pending.is_empty());
    println!("ALL_COMPLETED: {} done, {} pending", w.done.len(), w.pending.len());

    // FIRST_COMPLETED: a race; cancel the rest by dropping them.
    let racers = vec![task(1, 300), task(2, 10), task(3, 200)];
    let w = wait(racers).return_when(ReturnWhen::FirstCompleted).run()?;
    let (index, first) = &w.done[0];
    println!("FIRST_COMPLETED: racer {index} won with {:?}; {} still running", first, w.pending.len());
    // Cancel the rest. Dropping a plain JoinHandle only detaches its task, so
    // take the handles out and abort them.
    for (_, task) in w.pending.into_children() {
        task.abort();
    }

    // FIRST_EXCEPTION: react to the first failure. `flatten` makes a task's
    // own `Err` a failure (otherwise only a panic is).
    let risky: Vec<_> = (10..20).map(|i| flatten(task(i, (i - 10) * 5))).collect();
    let w = wait(risky).return_when(ReturnWhen::FirstException).timeout(Duration::from_secs(60)).run()?;
    for (index, outcome) in &w.done {
        if let Err(e) = outcome {
            println!("FIRST_EXCEPTION: child {index} failed: {e} ({} others still pending)", w.pending.len());
        }
    }

    // Input formats.
    let list = wait(vec![task(1, 1), task(2, 1)]).run()?; // 1. list
    let tuple = wait((task(1, 1), shared_runtime().spawn(async { "text" }))).run()?; // 2. tuple (typed)
    // 3. a set of futures: Rust futures are not `Hash`; use a Vec or a map.
    let dict = wait(HashMap::from([("task1", task(1, 1)), ("task2", task(2, 2))])).run()?; // 4. dict
    let variadic = wait((task(1, 1), task(2, 1), task(3, 1))).run()?; // 5. individual futures
    let single = wait([task(42, 1)]).run()?; // 6. single future
    let thread = wait([probe::thread(std::thread::spawn(|| 7))]).run()?; // an OS thread
    println!(
        "input formats: list {}, tuple {}, dict keys {:?}, variadic {}, single {}, thread {}",
        list.done.len(),
        tuple.done.len(),
        {
            let mut keys: Vec<_> = dict.done.iter().map(|(k, _)| *k).collect();
            keys.sort();
            keys
        },
        variadic.done.len(),
        single.done.len(),
        thread.done.len()
    );

    // Timeout handling: the error says how many of how many completed.
    let slow: Vec<_> = (0..10).map(|i| task(i, if i < 4 { 1 } else { 10_000 })).collect();
    match wait(slow).timeout(Duration::from_millis(100)).keep_partial().run() {
        Ok(Partial::Complete(w)) => println!("completed {} within timeout", w.done.len()),
        Ok(Partial::Interrupted { error, partial }) => {
            println!("Timeout: {error}");
            println!("  kept {} results; {} tasks handed back", partial.done.len(), partial.pending.len());
        }
        Err(other) => return Err(other.to_string().into()),
    }
    Ok(())
}
