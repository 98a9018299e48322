//! Polls follow wakes: a child that needs `k` wakes is polled at most
//! `1.1 k + 1` times on average (what `FuturesUnordered` and
//! `buffer_unordered` reach), for wakes from timers and from another thread,
//! with and without a limit, at 3, 100 and 10,000 children, in `.await`,
//! `.run()`, `.stream()` and `.iter()`. (The same counts against the peers:
//! `cargo run --release -p concurry-bench --bin polls_per_wake`.)

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::StreamExt;

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

#[derive(Clone, Copy, Debug)]
enum Source {
    /// Sleeps of 1 to 7 ms, so that the wakes of different children come at
    /// different times.
    Timer,
    /// A oneshot that a thread of the test answers every millisecond.
    Thread,
}

/// Senders the answering thread completes.
type Waiting = Arc<Mutex<Vec<tokio::sync::oneshot::Sender<()>>>>;

/// A thread that answers every waiting sender each millisecond, until the
/// returned guard is dropped.
struct Answering {
    waiting: Waiting,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl Answering {
    fn start() -> Self {
        let waiting: Waiting = Arc::default();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, s) = (waiting.clone(), stop.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(1));
                for tx in w.lock().unwrap().drain(..) {
                    let _ = tx.send(());
                }
            }
        });
        Self { waiting, stop }
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn child(
    i: usize,
    wakes: usize,
    source: Source,
    waiting: &Waiting,
    polls: &Arc<AtomicUsize>,
) -> Counted<impl Future<Output = usize> + Send + use<>> {
    let waiting = waiting.clone();
    let inner = async move {
        for _ in 0..wakes {
            match source {
                Source::Timer => tokio::time::sleep(Duration::from_millis(1 + (i % 7) as u64)).await,
                Source::Thread => {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    waiting.lock().unwrap().push(tx);
                    let _ = rx.await;
                }
            }
        }
        i
    };
    Counted { inner: Box::pin(inner), polls: polls.clone() }
}

#[derive(Clone, Copy, Debug)]
enum Entry {
    Await,
    Run,
    Stream,
    Iter,
}

/// Gathers `n` children needing `wakes` wakes each through `entry`; returns
/// the polls per child, after checking every output came back once.
fn polls_per_child(
    entry: Entry,
    source: Source,
    wakes: usize,
    n: usize,
    limit: Option<usize>,
    answering: &Answering,
) -> f64 {
    let polls = Arc::new(AtomicUsize::new(0));
    let children: Vec<_> = (0..n).map(|i| child(i, wakes, source, &answering.waiting, &polls)).collect();
    let limit = limit.unwrap_or(usize::MAX);
    let mut outputs: Vec<usize> = match entry {
        Entry::Await | Entry::Stream => {
            // Paused, the clock jumps to the next timer when nothing else runs.
            let paused = matches!(source, Source::Timer);
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(paused).build().unwrap();
            rt.block_on(async {
                let call = concurry::async_gather(children).limit(limit);
                match entry {
                    Entry::Await => call.await.unwrap(),
                    _ => call.stream().map(|item| item.unwrap().1).collect().await,
                }
            })
        }
        Entry::Run => concurry::gather(children).limit(limit).run().unwrap(),
        Entry::Iter => concurry::gather(children).limit(limit).iter().map(|item| item.unwrap().1).collect(),
    };
    outputs.sort_unstable();
    assert_eq!(outputs, (0..n).collect::<Vec<_>>(), "{entry:?}: every output once");
    polls.load(Ordering::Relaxed) as f64 / n as f64
}

/// Runs `f` on a thread of its own; fails the test if it does not return
/// within 60 s.
fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out,
        // The body panicked: its message is the test's.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => std::panic::resume_unwind(body.join().unwrap_err()),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: the call never returned"),
    }
}

fn check(source: Source, sizes: &[usize]) {
    let answering = Answering::start();
    for wakes in [1usize, 2, 5] {
        for &n in sizes {
            // A tenth of the children at once (2 of 3): wakes of children
            // that start as others finish.
            for limit in [None, Some((n / 10).max(2))] {
                for entry in [Entry::Await, Entry::Run, Entry::Stream, Entry::Iter] {
                    // The biggest size once per source and wake count: the
                    // smaller ones cover every entry point.
                    if n > 100 && !matches!(entry, Entry::Await) {
                        continue;
                    }
                    let got = polls_per_child(entry, source, wakes, n, limit, &answering);
                    let target = 1.1 * wakes as f64 + 1.0;
                    assert!(
                        got <= target,
                        "{source:?}, {wakes} wakes, {n} children, limit {limit:?}, {entry:?}: \
                         {got:.2} polls per child, target {target:.2}"
                    );
                }
            }
        }
    }
}

#[test]
fn children_woken_by_timers_are_polled_once_per_wake() {
    watchdog(|| check(Source::Timer, &[3, 100, 10_000]));
}

#[test]
fn children_woken_from_another_thread_are_polled_once_per_wake() {
    watchdog(|| check(Source::Thread, &[3, 100, 10_000]));
}
