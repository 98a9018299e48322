//! The workloads and the peers, shared by `benches/gather.rs` and
//! `src/bin/compare.rs` so that both measure the very same code.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use concurry::async_gather;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use futures_concurrency::future::Join;

/// Pending once (waking itself at once), then ready.
pub struct YieldOnce(Option<u64>, bool);

impl Future for YieldOnce {
    type Output = u64;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.1 {
            Poll::Ready(self.0.take().unwrap_or(0))
        } else {
            self.1 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

pub fn yield_once(i: u64) -> YieldOnce {
    YieldOnce(Some(i), false)
}

pub const OURS: &str = "concurry";
pub const PEERS: [&str; 5] = ["join_all", "FuturesUnordered", "futures_buffered", "futures_concurrency", "sequential"];
pub const SPAWNED: [&str; 4] = [OURS, "JoinSet", "join_all", "FuturesUnordered"];

/// Awaits every future of `v` with the named contender; returns how many
/// outputs came back.
pub async fn run_contender<F: Future<Output = u64> + Unpin>(who: &str, v: Vec<F>) -> usize {
    match who {
        OURS => async_gather(v).await.expect("no failures").len(),
        "join_all" => futures::future::join_all(v).await.len(),
        "FuturesUnordered" => v.into_iter().collect::<FuturesUnordered<_>>().collect::<Vec<_>>().await.len(),
        "futures_buffered" => futures_buffered::join_all(v).await.len(),
        "futures_concurrency" => v.join().await.len(),
        "sequential" => {
            let mut out = Vec::with_capacity(v.len());
            for f in v {
                out.push(f.await);
            }
            out.len()
        }
        other => unreachable!("{other}"),
    }
}

/// Spawns `n` trivial tasks and collects them with the named contender.
pub async fn run_spawned(who: String, n: u64) -> usize {
    match who.as_str() {
        OURS => {
            let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            async_gather(tasks).await.expect("no panics").len()
        }
        "JoinSet" => {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..n {
                set.spawn(async move { i });
            }
            let mut out = Vec::with_capacity(n as usize);
            while let Some(r) = set.join_next().await {
                out.push(r.expect("no panics"));
            }
            out.len()
        }
        "join_all" => {
            let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            futures::future::join_all(tasks).await.len()
        }
        "FuturesUnordered" => {
            let tasks: FuturesUnordered<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            tasks.collect::<Vec<_>>().await.len()
        }
        other => unreachable!("{other}"),
    }
}
