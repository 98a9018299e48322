//! The spec's "Progress Tracking": a default bar, a custom bar, a callback,
//! and logging integration (a callback that logs every 50 completions).
//!
//! Bars draw on stderr, and only when it is a terminal.
//!
//! Run with `cargo run --example progress`.

use std::time::{Duration, Instant};

use concurry::progress::Bar;
use concurry::{Progress, ReturnWhen, shared_runtime, try_gather, wait};

fn tasks(n: u64) -> Vec<tokio::task::JoinHandle<u64>> {
    (0..n)
        .map(|i| {
            shared_runtime().spawn(async move {
                tokio::time::sleep(Duration::from_millis(5 + i % 20 * 5)).await;
                i
            })
        })
        .collect()
}

/// Stands in for an application logger.
fn log_info(message: &str) {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    eprintln!("[{secs}] INFO progress: {message}");
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // 1. The default bar: "Gathering: 100%|█████| 1000/1000 result [..]".
    let results = try_gather(tasks(1000)).progress(true).run()?;
    println!("default bar: gathered {} results", results.len());

    // 2. A custom bar.
    let bar = Bar::default().desc("Processing batches").unit("batch").colour("green").miniters(10);
    let results = try_gather(tasks(200)).progress(bar).run()?;
    println!("custom bar: gathered {} batches", results.len());

    // 3. A callback.
    let callback = Progress::callback(|completed, total, elapsed| {
        let percent = completed as f64 / total as f64 * 100.0;
        let rate = if elapsed.is_zero() { 0.0 } else { completed as f64 / elapsed.as_secs_f64() };
        if completed % 25 == 0 {
            println!("Progress: {completed}/{total} ({percent:.1}%) - {rate:.1} items/sec");
        }
    });
    let waited = wait(tasks(100)).return_when(ReturnWhen::AllCompleted).progress(callback).run()?;
    println!("callback: waited on {} tasks", waited.done.len());

    // 4. Logging integration: log each time another 50 have completed, and
    // at the end. One poll can see several completions, so compare by
    // blocks of 50 rather than testing `completed % 50 == 0`.
    let started = Instant::now();
    let mut last_logged: Option<usize> = None;
    let logging = Progress::callback(move |completed, total, elapsed| {
        let crossed = last_logged.is_none_or(|last| completed / 50 > last / 50);
        if crossed || (completed == total && last_logged != Some(total)) {
            last_logged = Some(completed);
            log_info(&format!(
                "{completed}/{total} ({:.1}%) in {:.1}s",
                completed as f64 / total as f64 * 100.0,
                elapsed.as_secs_f64()
            ));
        }
    });
    let results = try_gather(tasks(300)).progress(logging).timeout(Duration::from_secs(300)).run()?;
    println!("logging: gathered {} results in {:.2?}", results.len(), started.elapsed());
    Ok(())
}
