//! `.limit(n)`, lazy inputs and `.cancel_on(token)` (issue 14). Every
//! async test runs under a watchdog, so a hang fails instead of stalling CI.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use common::{DropCounter, after, yield_once};
use concurry::{
    Error, Progress, ReturnWhen, async_gather, async_try_gather, async_wait, gather, lazy, lazy_keyed, try_gather,
};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

async fn watchdog<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut).await.expect("watchdog: the call hung")
}

/// Counts the futures made and not yet dropped, and the most at once.
#[derive(Clone, Default)]
struct Alive {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    made: Arc<AtomicUsize>,
}

struct AliveGuard(Arc<AtomicUsize>);
impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, SeqCst);
    }
}

impl Alive {
    fn guard(&self) -> AliveGuard {
        self.made.fetch_add(1, SeqCst);
        let now = self.now.fetch_add(1, SeqCst) + 1;
        self.peak.fetch_max(now, SeqCst);
        AliveGuard(self.now.clone())
    }
    fn peak(&self) -> usize {
        self.peak.load(SeqCst)
    }
    fn made(&self) -> usize {
        self.made.load(SeqCst)
    }
}

#[tokio::test]
async fn at_most_n_children_run_and_they_start_in_input_order() {
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(std::sync::Mutex::new(Vec::new()));
    let children: Vec<_> = (0..40u64)
        .map(|i| {
            let (running, peak, started) = (running.clone(), peak.clone(), started.clone());
            async move {
                started.lock().unwrap().push(i);
                peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                tokio::time::sleep(Duration::from_millis(1 + (i * 7) % 5)).await;
                running.fetch_sub(1, SeqCst);
                i
            }
        })
        .collect();
    let out = watchdog(async_gather(children).limit(3).into_future()).await.unwrap();
    assert_eq!(out, (0..40).collect::<Vec<_>>());
    assert_eq!(peak.load(SeqCst), 3);
    assert_eq!(*started.lock().unwrap(), (0..40).collect::<Vec<_>>(), "input order");
}

#[tokio::test]
async fn a_lazy_input_makes_futures_only_as_slots_free() {
    let alive = Alive::default();
    let inputs = (0..100_000u32).map(|i| {
        let guard = alive.guard();
        async move {
            let _guard = guard;
            yield_once(i).await
        }
    });
    let mut stream = async_gather(lazy(inputs)).limit(100).stream();
    let mut sum = 0u64;
    let mut count = 0;
    while let Some(item) = watchdog(stream.next()).await {
        let (position, value) = item.unwrap();
        assert_eq!(position as u32, value);
        sum += u64::from(value);
        count += 1;
    }
    assert_eq!(count, 100_000);
    assert_eq!(sum, (0..100_000u64).sum::<u64>());
    assert!(alive.peak() <= 101, "at most about 100 futures at once, got {}", alive.peak());
    assert_eq!(alive.made(), 100_000);
}

#[tokio::test]
async fn lazy_keyed_inputs_keep_their_keys_and_order() {
    let pairs = ["a", "bb", "ccc", "dddd"].into_iter().map(|s| (s, after(5 - s.len() as u64, s.len())));
    let out = watchdog(async_gather(lazy_keyed(pairs)).limit(2).into_future()).await.unwrap();
    assert_eq!(out, [("a", 1), ("bb", 2), ("ccc", 3), ("dddd", 4)]);

    // Fail fast names the key.
    let pairs = (0..10).map(|i| (format!("job-{i}"), async move { if i == 6 { Err("bad") } else { Ok(i) } }));
    let err = watchdog(async_try_gather(lazy_keyed(pairs)).limit(3).into_future()).await.unwrap_err();
    assert_eq!(err.into_failed().unwrap().0, "job-6");
}

#[tokio::test(start_paused = true)]
async fn on_a_timeout_children_that_never_started_come_back_untouched() {
    let polled = Arc::new(AtomicUsize::new(0));
    let children: Vec<_> = (0..10u64)
        .map(|i| {
            let polled = polled.clone();
            async move {
                polled.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(100 * (i + 1))).await;
                i
            }
        })
        .collect();
    let (err, had) = async_gather(children)
        .limit(2)
        .timeout(Duration::from_millis(250))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let timeout = err.into_timeout().unwrap();
    // 0 (100 ms) and 1 (200 ms) finish; 2 starts at 100 ms and runs; 3 at 200 ms.
    assert_eq!((timeout.completed(), timeout.total()), (2, 10));
    let partial = had;
    assert_eq!(partial.done.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [0, 1]);
    assert_eq!(partial.pending.keys().collect::<Vec<_>>(), (2..10).collect::<Vec<_>>());
    assert_eq!(polled.load(SeqCst), 4, "only the four started children were polled");
    // Nothing is lost: gathered again (with a limit again), all complete.
    let rest = async_gather(partial.pending).limit(3).await.unwrap();
    assert_eq!(rest.iter().map(|(k, _)| *k).collect::<Vec<_>>(), (2..10).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_lazy_input_hands_back_the_rest_of_its_iterator() {
    let alive = Alive::default();
    let inputs = (0..1000u64).map(|i| {
        let guard = alive.guard();
        async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_millis(10)).await;
            i
        }
    });
    let (err, had) = async_gather(lazy(inputs))
        .limit(10)
        .timeout(Duration::from_millis(25))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let partial = {
        assert!(err.is_timeout(), "{err}");
        had
    };
    assert_eq!(partial.done.len(), 20);
    assert_eq!(alive.made(), 30, "10 running, none of the other 970 made");
    assert_eq!(partial.pending.len(), 980);
    let rest = async_gather(partial.pending).limit(100).await.unwrap();
    assert_eq!(rest.len(), 980);
    assert_eq!(rest[0].0, 20);
}

#[tokio::test]
async fn a_limit_of_zero_is_a_clear_error_and_starts_nothing() {
    let drops = DropCounter::default();
    let guard = drops.guard();
    let polled = Arc::new(AtomicUsize::new(0));
    let p = polled.clone();
    let child = async move {
        let _guard = guard;
        p.fetch_add(1, SeqCst);
        1
    };
    let err = async_gather(vec![child]).limit(0).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert_eq!(
        err.to_string(),
        "invalid limit = 0: a call runs at least 1 child at a time; give `.limit(n)` an n of 1 or more"
    );
    assert_eq!((polled.load(SeqCst), drops.count()), (0, 1));
    // The same from every entry point.
    assert!(matches!(async_wait(vec![after(1, 1)]).limit(0).await, Err(Error::Config(_))));
    let items: Vec<_> = async_try_gather(vec![after(1, Ok::<u8, String>(1))]).limit(0).stream().collect().await;
    assert!(matches!(items.as_slice(), [Err(Error::Config(_))]));
}

#[test]
fn blocking_calls_take_a_limit_too() {
    let out = gather(lazy((0..500).map(|i| async move { i }))).limit(7).run().unwrap();
    assert_eq!(out.len(), 500);
    let threads: Vec<_> = (0..6).map(|i| concurry::probe::thread(std::thread::spawn(move || i))).collect();
    let out = try_gather(threads).limit(2).run().unwrap();
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    assert!(matches!(gather([std::future::ready(1)]).limit(0).run(), Err(Error::Config(_))));
}

#[tokio::test(start_paused = true)]
async fn a_limit_works_with_wait_progress_and_first_completed() {
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = calls.clone();
    let progress = Progress::callback(move |done, total, _| log.lock().unwrap().push((done, total)));
    let children: Vec<_> = (0..8u64).map(|i| after(i + 1, i)).collect();
    let w = watchdog(async_wait(children).limit(2).progress(progress).into_future()).await.unwrap();
    assert_eq!(w.done.len(), 8);
    assert_eq!(calls.lock().unwrap().last(), Some(&(8, 8)));

    let children: Vec<_> = (0..8u64).map(|i| after(10 - i, i)).collect();
    let w =
        watchdog(async_wait(children).limit(3).return_when(ReturnWhen::FirstCompleted).into_future()).await.unwrap();
    // Only 0, 1 and 2 ran; 2 finishes first.
    assert_eq!(w.done.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [2]);
    assert_eq!(w.pending.len(), 7);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_token_ends_the_call_with_the_partial_result() {
    let token = CancellationToken::new();
    let children: Vec<_> = (0..4u64).map(|i| after(10 * (i + 1), i)).collect();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(25)).await;
        t.cancel();
    });
    let (err, had) = watchdog(async_gather(children).cancel_on(token).keep_partial().into_future())
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    assert!(err.is_cancelled() && !err.is_timeout());
    assert!(err.to_string().starts_with("cancelled after 25"), "{err}");
    let cancelled = err.into_cancelled().unwrap();
    assert_eq!((cancelled.completed(), cancelled.total()), (2, 4));
    let partial = had;
    assert_eq!(partial.done, [(0, 0), (1, 1)]);
    assert_eq!(partial.pending.len(), 2);
}

#[tokio::test]
async fn a_token_cancelled_before_the_call_is_a_deadline_already_passed() {
    // As `.timeout(Duration::ZERO)`: every child gets one poll, what is
    // ready is taken, the rest come back pending.
    let token = CancellationToken::new();
    token.cancel();
    let polled = Arc::new(AtomicUsize::new(0));
    let children: Vec<_> = (0..3)
        .map(|i| {
            let polled = polled.clone();
            async move {
                polled.fetch_add(1, SeqCst);
                if i == 1 {
                    std::future::pending::<()>().await;
                }
                i
            }
        })
        .collect();
    let (err, had) = async_gather(children)
        .cancel_on(token.clone())
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let partial = {
        assert!(err.is_cancelled(), "{err}");
        had
    };
    assert_eq!((partial.done, partial.pending.len()), (vec![(0, 0), (2, 2)], 1));
    assert_eq!(polled.load(SeqCst), 3, "each child was polled once");
}

#[test]
fn a_blocking_call_is_cancelled_too() {
    let token = CancellationToken::new();
    token.cancel();
    let err = gather(vec![std::future::pending::<u8>()]).cancel_on(token).run().unwrap_err();
    assert!(err.is_cancelled());
    let token = CancellationToken::new();
    let t = token.clone();
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        t.cancel();
    });
    let items: Vec<_> = gather(vec![after(1, 'a'), Box::pin(std::future::pending())]).cancel_on(token).iter().collect();
    canceller.join().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap(), &(0, 'a'));
    assert!(items[1].as_ref().unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn iterator_mode_yields_what_completed_then_the_cancellation() {
    let token = CancellationToken::new();
    let children: Vec<_> = (0..4u64).map(|i| after(10 * (i + 1), i)).collect();
    let mut stream = async_gather(children).cancel_on(token.clone()).stream();
    assert_eq!(stream.next().await.unwrap().unwrap(), (0, 0));
    assert_eq!(stream.next().await.unwrap().unwrap(), (1, 1));
    token.cancel();
    let err = stream.next().await.unwrap().unwrap_err();
    assert!(err.is_cancelled());
    assert!(stream.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_wait_is_cancelled_like_a_gather() {
    let token = CancellationToken::new();
    token.cancel();
    let err = async_wait(vec![after(5, 1)]).cancel_on(token).await.unwrap_err();
    assert!(err.is_cancelled());
}

/// An iterator that says it has 10 pairs and gives 4.
struct Liar(std::vec::IntoIter<(u32, std::future::Ready<u32>)>);
impl Iterator for Liar {
    type Item = (u32, std::future::Ready<u32>);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.next()
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (10, Some(10))
    }
}

#[tokio::test]
async fn an_iterator_that_ends_before_its_stated_length_ends_the_call_cleanly() {
    let pairs = || Liar((0..4).map(|i| (i, std::future::ready(i * 2))).collect::<Vec<_>>().into_iter());
    let out = watchdog(async_gather(lazy_keyed(pairs())).limit(3).into_future()).await.unwrap();
    assert_eq!(out, [(0, 0), (1, 2), (2, 4), (3, 6)]);
    // Its keys, asked before the call reached the end, stop at the last one.
    let set = concurry::shape::IntoChildren::into_pending(lazy_keyed(pairs()));
    assert_eq!(set.keys().collect::<Vec<_>>(), [0, 1, 2, 3]);
    let out = watchdog(async_gather(lazy(pairs().map(|(_, f)| f))).into_future()).await.unwrap();
    assert_eq!(out, [0, 2, 4, 6]);
    // Progress counts what was really there: 4 of 4, not 10 of 10.
    let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = calls.clone();
    let progress = Progress::callback(move |done, total, _| log.lock().unwrap().push((done, total)));
    watchdog(async_gather(lazy_keyed(pairs())).limit(2).progress(progress).into_future()).await.unwrap();
    assert_eq!(calls.lock().unwrap().last(), Some(&(4, 4)));
}

/// The plain version of a cancellable gather, for comparison: `select!` on
/// the token and `join_all` loses every output that had completed; ours
/// keeps them, and the children still pending.
#[tokio::test(start_paused = true)]
async fn plain_cancellation_loses_what_completed_and_ours_keeps_it() {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(25)).await;
        t.cancel();
    });
    let children = || (0..4u64).map(|i| after(10 * (i + 1), i)).collect::<Vec<_>>();
    let plain = tokio::select! {
        _ = token.cancelled() => None,
        out = futures::future::join_all(children()) => Some(out),
    };
    assert!(plain.is_none(), "the two that finished are gone");

    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(25)).await;
        t.cancel();
    });
    let (err, had) = watchdog(async_gather(children()).cancel_on(token).keep_partial().into_future())
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let partial = {
        assert!(err.is_cancelled(), "{err}");
        had
    };
    assert_eq!((partial.done.len(), partial.pending.len()), (2, 2));
}
