//! Defects an adversarial review found in the round-2 hardening, each with
//! the test that failed before its fix. Every call runs under a watchdog.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use concurry::probe::{Answer, Batch, BatchProbe};
use concurry::{Error, async_gather, try_gather};

/// Runs `f` on a thread of its own; fails the test if it does not return
/// within `secs`. Runtimes are made inside `f`.
fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("watchdog: the call never returned")
}

type Child = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

/// A backend that answers every id at once.
struct AllDone {
    min: Duration,
    trips: AtomicUsize,
}

impl AllDone {
    fn new(min_ms: u64) -> Self {
        Self { min: Duration::from_millis(min_ms), trips: AtomicUsize::new(0) }
    }
}

impl BatchProbe for AllDone {
    type Id = u32;
    type Output = u32;
    type Failure = String;
    type Error = std::io::Error;
    fn name(&self) -> String {
        "all-done".into()
    }
    fn min_interval(&self) -> Duration {
        self.min
    }
    fn round_trip_timeout(&self) -> Duration {
        Duration::from_millis(500)
    }
    async fn check(&self, ids: Vec<u32>) -> Answer<Self> {
        self.trips.fetch_add(1, SeqCst);
        Ok(ids.into_iter().map(|id| Ok(id * 10)).enumerate().collect())
    }
}

/// A round trip started on a current-thread runtime that then sits idle
/// held the whole group: a blocking call elsewhere timed out after 3 s, its
/// trip's own deadline never firing. Now a handle that finds a trip well
/// past its deadline ends it and starts another.
#[test]
fn a_round_trip_on_an_idle_runtime_does_not_hold_the_group() {
    let batch = Batch::new(AllDone::new(1));
    let b1 = batch.clone();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut call = Box::pin(async_gather(vec![b1.handle(1)]));
        rt.block_on(async {
            let _ = futures::poll!(call.as_mut());
        });
        started_tx.send(()).unwrap();
        std::thread::sleep(Duration::from_secs(5)); // the runtime is not driven
        drop(call);
    });
    started_rx.recv().unwrap();
    let (out, took) = watchdog(20, move || {
        let t = Instant::now();
        let out = try_gather(vec![batch.handle(2)]).timeout(Duration::from_secs(4)).run();
        (out.map_err(|e| e.to_string()), t.elapsed())
    });
    assert_eq!(out, Ok(vec![20]), "after {took:?}");
    assert!(took < Duration::from_secs(2), "waited {took:?} behind a trip no runtime ran");
}

/// Round trips of blocking calls ran on the shared runtime, behind the
/// user's CPU-bound tasks there (7.5 s for a backend that answers at once).
#[test]
fn a_busy_shared_runtime_does_not_delay_round_trips() {
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..4 {
        let started = started.clone();
        concurry::shared_runtime().spawn(async move {
            started.fetch_add(1, SeqCst);
            let t = Instant::now();
            while t.elapsed() < Duration::from_millis(1500) {
                std::hint::spin_loop();
            }
        });
    }
    while started.load(SeqCst) == 0 {
        std::thread::yield_now();
    }
    let (out, took) = watchdog(20, || {
        let batch = Batch::new(AllDone::new(1));
        let t = Instant::now();
        let out = try_gather(vec![batch.handle(1), batch.handle(2)]).timeout(Duration::from_secs(10)).run();
        (out.map_err(|e| e.to_string()), t.elapsed())
    });
    assert_eq!(out, Ok(vec![10, 20]));
    assert!(took < Duration::from_millis(500), "the round trip queued behind user tasks: {took:?}");
}

/// A handle awaited alone and polled very often (a `select!` loop beside a
/// busy branch) spawned a timer task per poll: 12,000 to 39,000 alive.
#[test]
fn a_handle_polled_often_alone_keeps_one_timer() {
    let most = watchdog(30, || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let batch = Batch::new(AllDone::new(200));
            // Answered on its second trip: the first is paced at once.
            let _ = batch.handle(0).await;
            let mut h = batch.handle(3);
            let (mut polls, mut most) = (0u64, 0);
            let out = loop {
                tokio::select! {
                    out = &mut h => break out,
                    _ = tokio::task::yield_now() => polls += 1,
                }
                if polls % 500 == 0 {
                    most = most.max(tokio::runtime::Handle::current().metrics().num_alive_tasks());
                }
            };
            assert_eq!(out.unwrap(), 30);
            most
        })
    });
    assert!(most < 10, "{most} tasks alive at once");
}

/// `.run()` after the call was polled as a future hung (its deadline's timer
/// lived on the first runtime, idle) or panicked (that runtime dropped). It
/// is now refused, as the other options after a first poll are.
#[test]
fn run_after_a_poll_on_another_runtime_is_a_clear_error() {
    for drop_it in [false, true] {
        let out = watchdog(10, move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let mut g = async_gather(vec![std::future::pending::<u8>()]).timeout(Duration::from_millis(100));
            rt.block_on(async {
                let _ = futures::poll!(&mut g);
            });
            if drop_it {
                drop(rt);
                g.run().map(|_| ()).map_err(|e| e.to_string())
            } else {
                let out = g.run().map(|_| ()).map_err(|e| e.to_string());
                drop(rt);
                out
            }
        });
        let err = out.unwrap_err();
        assert!(err.contains("invalid run = set after the call began"), "{err}");
    }
}

/// A blocking call in a child of another, after ready siblings spent the
/// outer drive's budget, was refused; it now gets a budget of its own.
#[test]
fn a_nested_call_after_siblings_spent_the_budget_runs() {
    for n in [120usize, 126, 127, 128, 130] {
        let out = watchdog(20, move || {
            let rt = concurry::shared_runtime();
            let tasks: Vec<_> = (0..n).map(|i| rt.spawn(async move { i as u32 })).collect();
            std::thread::sleep(Duration::from_millis(20));
            let mut children: Vec<Child> =
                tasks.into_iter().map(|t| Box::pin(async move { t.await.map_err(|e| e.to_string()) }) as _).collect();
            children.push(Box::pin(async {
                try_gather(vec![async { 7u32 }]).run().map(|v| v[0]).map_err(|e| e.to_string())
            }));
            try_gather(children).run().map(|v| v[v.len() - 1]).map_err(|e| e.to_string())
        });
        assert_eq!(out, Ok(7), "after {n} siblings");
    }
}

/// Inside a `block_on` whose turn spent the whole budget, a blocking call
/// was refused as if on a current-thread runtime: the message now names
/// the real cause. Elsewhere in the same `block_on` it blocks.
#[test]
fn a_spent_budget_inside_block_on_is_named_as_the_cause() {
    let results = watchdog(20, || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let mut results = Vec::new();
            for n in [100usize, 126, 127, 128, 200] {
                let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
                tokio::time::sleep(Duration::from_millis(20)).await;
                for t in tasks {
                    t.await.unwrap();
                }
                results.push((n, try_gather(vec![async { 1 }]).run()));
            }
            results
        })
    });
    for (n, out) in results {
        match out {
            Ok(v) => assert_eq!(v, [1]),
            Err(Error::Blocking(b)) => {
                assert!(b.to_string().contains("spent Tokio's cooperative budget"), "{n}: {b}")
            }
            Err(other) => panic!("{n}: {other}"),
        }
    }
}
