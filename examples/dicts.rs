//! The spec's "Dictionary Support": keyed inputs keep their keys, with
//! string, integer, tuple and custom struct keys, through wait, gather,
//! iterator mode and exceptions.
//!
//! Run with `cargo run --example dicts`.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use concurry::{gather, shared_runtime, task::flatten, try_gather, wait};
use indexmap::IndexMap;
use tokio::task::JoinHandle;

fn job<T: Send + 'static>(ms: u64, value: T) -> JoinHandle<T> {
    shared_runtime().spawn(async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        value
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TaskId {
    category: &'static str,
    id: u32,
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Self-documenting results: by name, not by position.
    let tasks = HashMap::from([("users", job(30, 120)), ("products", job(10, 45)), ("orders", job(20, 300))]);
    let results = try_gather(tasks).run()?;
    println!("users={} products={} orders={}", results["users"], results["products"], results["orders"]);

    // wait() with a dict: done holds each key with its output.
    let tasks = HashMap::from([
        ("database", job(30, "synced")),
        ("cache", job(10, "updated")),
        ("search", job(20, "reindexed")),
    ]);
    let w = wait(tasks).timeout(Duration::from_secs(300)).run()?;
    println!("Completed: {} tasks", w.done.len());
    for (key, result) in &w.done {
        println!("  {key} completed with: {}", result.as_ref().map_err(|e| e.to_string())?);
    }

    // IndexMap keeps insertion order, like a Python dict.
    let mut data = IndexMap::new();
    data.insert("user_data", job(20, "alice"));
    data.insert("preferences", job(5, "dark mode"));
    data.insert("history", job(10, "3 orders"));
    data.insert("recommendations", job(15, "5 items"));
    let data = try_gather(data).timeout(Duration::from_secs(10)).run()?;
    for (name, value) in &data {
        println!("{name}: {value}");
    }

    // Iterator mode yields (key, result) as each completes.
    let tasks: BTreeMap<String, _> =
        (0..5).map(|i| (format!("batch_{i}"), job(50 - 10 * i, vec![0; i as usize]))).collect();
    for item in try_gather(tasks).iter() {
        let (batch_name, result) = item?;
        println!("{batch_name}: processed {} items", result.len());
    }

    // Exceptions as values, checked per key.
    let tasks = HashMap::from([
        ("critical_task", flatten(job(5, Ok::<&str, anyhow::Error>("done")))),
        ("optional_task", flatten(job(5, Err(anyhow::anyhow!("quota exceeded"))))),
        ("backup_task", flatten(job(5, Ok("saved")))),
    ]);
    let results = gather(tasks).timeout(Duration::from_secs(60)).run()?;
    if let Err(e) = &results["critical_task"] {
        return Err(format!("CRITICAL: main task failed: {e}").into());
    }
    if let Err(e) = &results["optional_task"] {
        println!("Warning: optional task failed ({e}), continuing anyway");
    }

    // Any hashable (or ordered) key type.
    let by_int = try_gather(HashMap::from([(1, job(1, 'a')), (2, job(1, 'b')), (3, job(1, 'c'))])).run()?;
    let by_tuple = try_gather(HashMap::from([(("user", 123), job(1, "x")), (("user", 456), job(1, "y"))])).run()?;
    let by_struct = try_gather(BTreeMap::from([
        (TaskId { category: "fetch", id: 1 }, job(2, 10)),
        (TaskId { category: "process", id: 1 }, job(1, 20)),
    ]))
    .run()?;
    println!(
        "int key 2 -> {}; tuple key (user, 456) -> {}; struct key -> {:?}",
        by_int[&2],
        by_tuple[&("user", 456)],
        by_struct.iter().map(|(k, v)| (format!("{}#{}", k.category, k.id), *v)).collect::<Vec<_>>()
    );
    Ok(())
}
