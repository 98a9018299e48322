//! The spec's "Deadline-Based Processing": process as many items as possible
//! within a deadline, then stop; the unfinished work is cancelled when the
//! loop ends.
//!
//! Two ways: break out of the iterator when the deadline passes (as the
//! spec does), or let `.timeout(..)` end the stream with an error that says
//! how many of how many were done.
//!
//! Run with `cargo run --example deadline`.

use std::time::{Duration, Instant};

use concurry::{Error, shared_runtime, try_gather};

async fn process(item: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(item * 10)).await;
    item * item
}

fn process_with_deadline(items: &[u64], deadline: Duration) -> Vec<(usize, u64)> {
    let start = Instant::now();
    let futures: Vec<_> = items.iter().map(|&i| shared_runtime().spawn(process(i))).collect();
    let mut results = Vec::new();
    for item in try_gather(futures).iter() {
        results.push(item.expect("tasks do not fail"));
        if start.elapsed() >= deadline {
            println!("Deadline reached after processing {} items", results.len());
            break;
        }
    }
    results
}

fn main() {
    let items: Vec<u64> = (1..=40).collect();

    let results = process_with_deadline(&items, Duration::from_millis(150));
    println!("loop with a deadline check: {} of {} items processed", results.len(), items.len());

    let futures: Vec<_> = items.iter().map(|&i| Box::pin(process(i))).collect();
    let mut done = 0;
    for item in try_gather(futures).timeout(Duration::from_millis(150)).iter() {
        match item {
            Ok(_) => done += 1,
            Err(Error::Timeout(t)) => {
                println!("timeout: {t}");
                break;
            }
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    println!("stream with .timeout(): {done} of {} items processed", items.len());
}
