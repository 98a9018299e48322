//! How many times each child is polled, for children that need 1, 2 or 5
//! wakes, from timers and from another thread, with and without a limit, at
//! 3, 100 and 10,000 children: concurry against `join_all`,
//! `FuturesUnordered` and `buffer_unordered`. The ideal is the wakes plus
//! one.
//!
//! `cargo run --release -p concurry-bench --bin polls_per_wake`

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

/// Counts the polls of the future it wraps.
struct Counted<F> {
    inner: Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for Counted<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::Relaxed);
        self.inner.as_mut().poll(cx)
    }
}

/// Senders a helper thread answers every millisecond: wakes from another
/// thread.
type Waiting = Arc<Mutex<Vec<tokio::sync::oneshot::Sender<()>>>>;

#[derive(Clone, Copy, Debug)]
enum Source {
    Timer,
    Thread,
}

fn child(
    wakes: usize,
    source: Source,
    waiting: &Waiting,
    polls: &Arc<AtomicUsize>,
) -> Counted<impl Future<Output = ()>> {
    let waiting = waiting.clone();
    let inner = async move {
        for _ in 0..wakes {
            match source {
                Source::Timer => tokio::time::sleep(Duration::from_millis(1)).await,
                Source::Thread => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    waiting.lock().unwrap().push(tx);
                    let _ = rx.await;
                }
            }
        }
    };
    Counted { inner: Box::pin(inner), polls: polls.clone() }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let waiting: Waiting = Arc::default();
    let answering = waiting.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(1));
            for tx in answering.lock().unwrap().drain(..) {
                let _ = tx.send(());
            }
        }
    });
    println!("polls per child (ideal: wakes + 1)");
    println!(
        "{:<8} {:>6} {:>6} {:>6} {:>10} {:>10} {:>18}",
        "source", "wakes", "n", "limit", "concurry", "join_all", "FuturesUnordered/buffer_unordered"
    );
    for source in [Source::Timer, Source::Thread] {
        for wakes in [1, 2, 5] {
            for n in [3usize, 100, 10_000] {
                for limit in [None, Some(10)] {
                    let run = |who: &str| -> f64 {
                        let polls = Arc::new(AtomicUsize::new(0));
                        let children: Vec<_> = (0..n).map(|_| child(wakes, source, &waiting, &polls)).collect();
                        rt.block_on(async {
                            match (who, limit) {
                                ("ours", None) => drop(concurry::async_gather(children).await),
                                ("ours", Some(l)) => drop(concurry::async_gather(children).limit(l).await),
                                ("join_all", None) => drop(futures::future::join_all(children).await),
                                ("peer", None) => {
                                    let mut set: FuturesUnordered<_> = children.into_iter().collect();
                                    while set.next().await.is_some() {}
                                }
                                ("peer", Some(l)) => {
                                    let stream = futures::stream::iter(children).buffer_unordered(l);
                                    stream.for_each(|_| async {}).await;
                                }
                                _ => {}
                            }
                        });
                        polls.load(Ordering::Relaxed) as f64 / n as f64
                    };
                    let ours = run("ours");
                    let join_all =
                        if limit.is_none() && n <= 100 { format!("{:.2}", run("join_all")) } else { "".into() };
                    let peer = run("peer");
                    let limit = limit.map_or("-".to_string(), |l| l.to_string());
                    println!(
                        "{:<8} {wakes:>6} {n:>6} {limit:>6} {ours:>10.2} {join_all:>10} {peer:>18.2}",
                        format!("{source:?}")
                    );
                }
            }
        }
    }
}
