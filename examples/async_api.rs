//! The spec's `async_wait()` / `async_gather()` section, inside a Tokio
//! program: coroutines, tasks, racing, progress, exceptions and dict input.
//!
//! Run with `cargo run --example async_api`.

use std::collections::HashMap;
use std::time::Duration;

use concurry::{Progress, ReturnWhen, async_gather, async_try_gather, async_wait};
use tokio::time::sleep;

async fn fetch_data(id: u32) -> String {
    sleep(Duration::from_millis(100)).await;
    format!("{{\"id\": {id}, \"data\": \"result_{id}\"}}")
}

async fn reliable_task(x: i32) -> Result<i32, String> {
    sleep(Duration::from_millis(10)).await;
    Ok(x * 2)
}

async fn unreliable_task(x: i32) -> Result<i32, String> {
    sleep(Duration::from_millis(10)).await;
    if x % 3 == 0 { Err(format!("Task {x} failed!")) } else { Ok(x * 2) }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Basic usage: futures run concurrently; results in order.
    let futures: Vec<_> = (0..10).map(fetch_data).collect();
    let results = async_try_gather(futures).timeout(Duration::from_secs(5)).await?;
    println!("Got {} results, first {}", results.len(), results[0]);

    // Spawned tasks (the "worker futures" of the spec) work the same way.
    let tasks: Vec<_> = (0..10).map(|i| tokio::spawn(async move { 100 + i })).collect();
    println!("tasks: {:?}", async_try_gather(tasks).timeout(Duration::from_secs(10)).await?);

    // Two different futures at once: a tuple keeps each output's type.
    let user = async {
        sleep(Duration::from_millis(50)).await;
        ("User123", 123)
    };
    let orders = async {
        sleep(Duration::from_millis(50)).await;
        vec!["order 0", "order 1", "order 2"]
    };
    let (user, orders) = async_try_gather((user, orders)).timeout(Duration::from_secs(5)).await?;
    println!("user {user:?} has {} orders", orders.len());

    // Wait for all.
    let w = async_wait((0..5).map(|i| async move { format!("Processed {i}") }).collect::<Vec<_>>())
        .return_when(ReturnWhen::AllCompleted)
        .await?;
    println!("Completed: {}, Pending: {}", w.done.len(), w.pending.len());

    // Racing: first to complete wins; dropping the rest cancels them.
    let sources: Vec<std::pin::Pin<Box<dyn Future<Output = &str> + Send>>> = vec![
        Box::pin(async {
            sleep(Duration::from_millis(300)).await;
            "API1 data"
        }),
        Box::pin(async {
            sleep(Duration::from_millis(100)).await;
            "API2 data (faster!)"
        }),
        Box::pin(async {
            sleep(Duration::from_millis(200)).await;
            "Cache data"
        }),
    ];
    let w = async_wait(sources).return_when(ReturnWhen::FirstCompleted).timeout(Duration::from_secs(5)).await?;
    println!("Fastest result: {}", w.done[0].1);
    drop(w.pending);

    // Progress: a bar, or a callback.
    let downloads: Vec<_> = (0..100).map(|i| async move { format!("file_{i}.dat") }).collect();
    let files = async_try_gather(downloads).progress(true).timeout(Duration::from_secs(30)).await?;
    println!("Downloaded {} files", files.len());
    let batches: Vec<_> = (0..50).map(|i| async move { format!("Batch {i} processed") }).collect();
    let callback = Progress::callback(|completed, total, elapsed| {
        println!("Progress: {completed}/{total} ({:.1}s)", elapsed.as_secs_f64());
    });
    async_try_gather(batches).progress(callback).await?;

    // Exceptions as values.
    // Different async fns are different types: box them to share a Vec, or
    // use a tuple.
    type Task = std::pin::Pin<Box<dyn Future<Output = Result<i32, String>> + Send>>;
    let tasks: Vec<Task> = vec![
        Box::pin(reliable_task(1)),
        Box::pin(unreliable_task(3)),
        Box::pin(reliable_task(4)),
        Box::pin(unreliable_task(6)),
    ];
    let results = async_gather(tasks).timeout(Duration::from_secs(5)).await?;
    for (i, result) in results.iter().enumerate() {
        match result {
            Ok(v) => println!("Task {i} succeeded: {v}"),
            Err(e) => println!("Task {i} failed: {e}"),
        }
    }

    // Dict input: the same keys come back.
    type Fetch = std::pin::Pin<Box<dyn Future<Output = Vec<String>> + Send>>;
    let user_data: HashMap<&str, Fetch> = HashMap::from([
        ("profile", Box::pin(async { vec!["Alice".to_string(), "30".to_string()] }) as _),
        ("posts", Box::pin(async { (0..5).map(|i| format!("Post {i}")).collect() }) as _),
        ("friends", Box::pin(async { vec!["101".into(), "102".into(), "103".into()] }) as _),
    ]);
    let data = async_try_gather(user_data).timeout(Duration::from_secs(5)).await?;
    println!("Profile: {:?}; {} posts; {} friends", data["profile"], data["posts"].len(), data["friends"].len());
    Ok(())
}
