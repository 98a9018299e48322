//! The spec's `gather()` section: blocking mode, iterator mode,
//! `return_exceptions` (here: `gather` keeps every output, `try_gather`
//! fails fast) and input formats, from blocking code.
//!
//! Run with `cargo run --example gather`.

use std::collections::HashMap;
use std::time::Duration;

use concurry::{gather, shared_runtime, try_gather};
use tokio::task::JoinHandle;

fn compute(i: u64) -> JoinHandle<u64> {
    shared_runtime().spawn(async move {
        tokio::time::sleep(Duration::from_millis(20 - i)).await;
        i
    })
}

fn risky_task(i: u64) -> JoinHandle<Result<u64, String>> {
    shared_runtime().spawn(async move { if i % 3 == 0 { Err(format!("task {i} failed")) } else { Ok(i * 2) } })
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Blocking mode: results in input order, whatever the completion order.
    let results = try_gather((0..10).map(compute).collect::<Vec<_>>()).timeout(Duration::from_secs(30)).run()?;
    assert_eq!(results, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    println!("blocking mode: {results:?}");

    // Iterator mode: (index, result) as each completes.
    let mut order = Vec::new();
    for item in try_gather((0..10).map(compute).collect::<Vec<_>>()).progress(true).iter() {
        let (index, result) = item?;
        println!("Task {index} completed: {result}");
        order.push(index);
    }
    println!("iterator mode saw completion order {order:?}");

    // The spec's return_exceptions=True is `gather`: each output as it is,
    // errors in their slots. (`try_gather` would fail on a panic only: a
    // task's own `Err` fails it once spawned with `task::spawn`.)
    let results = gather((0..6).map(risky_task).collect::<Vec<_>>()).run()?;
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(Ok(v)) => println!("Task {i} succeeded: {v}"),
            Ok(Err(e)) => println!("Task {i} failed: {e}"),
            Err(join) => println!("Task {i} panicked: {join}"),
        }
    }

    // Input formats: a list gives a list, a dict a dict, variadic a tuple.
    let list = try_gather(vec![compute(1), compute(2)]).run()?;
    let dict =
        try_gather(HashMap::from([("fetch", compute(1)), ("process", compute(2)), ("save", compute(3))])).run()?;
    let (a, b, c) = try_gather((compute(1), compute(2), shared_runtime().spawn(async { "three" }))).run()?;
    println!(
        "list {list:?}; dict fetch={} process={} save={}; variadic ({a}, {b}, {c})",
        dict["fetch"], dict["process"], dict["save"]
    );
    Ok(())
}
