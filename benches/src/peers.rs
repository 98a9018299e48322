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

/// A doorbell another task rings: pending until rung, then ready. It
/// consumes no cooperative budget, so every contender polls it alike.
pub struct Bell {
    state: std::sync::Arc<BellState>,
    ringer: std::sync::Arc<std::sync::Mutex<Vec<std::sync::Arc<BellState>>>>,
    listed: bool,
}

pub struct BellState {
    rung: std::sync::atomic::AtomicBool,
    waker: futures::task::AtomicWaker,
}

impl Future for Bell {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        use std::sync::atomic::Ordering;
        if self.state.rung.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        self.state.waker.register(cx.waker());
        if !self.listed {
            // Rung only once it waits: every child is woken, by every
            // contender, as many times as it has bells.
            self.listed = true;
            let state = self.state.clone();
            self.ringer.lock().unwrap().push(state);
        }
        if self.state.rung.load(Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending }
    }
}

/// A boxed future of the two-wake workload.
pub type Boxed = Pin<Box<dyn Future<Output = u64> + Send>>;

/// Bells waiting to be rung.
pub type Waiting = std::sync::Arc<std::sync::Mutex<Vec<std::sync::Arc<BellState>>>>;

/// Futures that each wait for two bells in turn (two wakes each from
/// another task), and the list the ringer rings from.
pub fn two_wakes(n: u64) -> (Vec<Boxed>, Waiting) {
    let waiting: Waiting = Default::default();
    let bell = |waiting: &Waiting| Bell {
        state: std::sync::Arc::new(BellState { rung: false.into(), waker: futures::task::AtomicWaker::new() }),
        ringer: waiting.clone(),
        listed: false,
    };
    let futs = (0..n)
        .map(|i| {
            let (first, second) = (bell(&waiting), bell(&waiting));
            Box::pin(async move {
                first.await;
                second.await;
                i
            }) as Boxed
        })
        .collect();
    (futs, waiting)
}

/// Rings every bell that waits, until `expected` were rung; yields to the
/// other tasks between passes.
pub async fn ring(waiting: Waiting, expected: u64) {
    let mut rung = 0;
    while rung < expected {
        let now = std::mem::take(&mut *waiting.lock().unwrap());
        for bell in now {
            bell.rung.store(true, std::sync::atomic::Ordering::Release);
            bell.waker.wake();
            rung += 1;
        }
        tokio::task::yield_now().await;
    }
}
