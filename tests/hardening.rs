//! The edges an adversarial user found (issue 11), each pinned by a test
//! named after the fault. Anything that could hang runs under a watchdog, so
//! a regression fails the test instead of stalling the suite.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::{BoxFut, after};
use concurry::polling::Progressive;
use concurry::probe::{Probe, probe, thread};
use concurry::{Error, PollingAlgorithm, ReturnWhen, async_try_gather, async_wait, try_gather, wait};
use tokio::time::Instant;

/// Fails the test if `fut` takes longer than `secs`: a hang is a failure.
async fn watchdog<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut).await.expect("watchdog: the call hung")
}

/// A child that spends Tokio's whole budget on every poll, for ever.
fn budget_hog<T: Send + 'static>() -> BoxFut<T> {
    Box::pin(async {
        loop {
            tokio::task::consume_budget().await;
        }
    })
}

// ---- 1. a busy child cannot stop the deadline, the checks or FirstCompleted ----

/// Fault: a child that spends the budget on every poll made the engine yield
/// before it ever looked at the deadline, so a 100 ms timeout never fired.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_hog_cannot_hold_off_the_deadline() {
    let r = watchdog(10, async_try_gather(vec![budget_hog::<u8>()]).timeout(Duration::from_millis(100)).into_future())
        .await;
    assert!(r.unwrap_err().is_timeout());
    // Iterator mode too.
    use futures::StreamExt;
    let mut stream = async_try_gather(vec![budget_hog::<u8>()]).timeout(Duration::from_millis(50)).stream();
    let item = watchdog(10, stream.next()).await;
    assert!(item.unwrap().unwrap_err().is_timeout());
}

/// Fault: beside a budget hog, a finished thread was never checked, so a
/// `FirstCompleted` wait hung with the thread long done.
#[tokio::test(flavor = "multi_thread")]
async fn a_budget_hog_cannot_hold_off_probe_checks_or_first_completed() {
    let finished = std::thread::spawn(|| 5u8);
    let children: Vec<BoxFut<Result<u8, concurry::ThreadPanic>>> = vec![budget_hog(), Box::pin(thread(finished))];
    let w = watchdog(10, async_wait(children).return_when(ReturnWhen::FirstCompleted).into_future()).await.unwrap();
    assert_eq!(w.done.len(), 1);
    assert_eq!(w.done[0].0, 1);
    assert_eq!(w.pending.len(), 1);
}

/// A ready child beside a hog: `FirstCompleted` returns it, whatever the hog
/// does to the budget.
#[tokio::test(flavor = "multi_thread")]
async fn first_completed_returns_beside_a_budget_hog() {
    let children: Vec<BoxFut<u8>> = vec![budget_hog(), Box::pin(async { 1 })];
    let w = watchdog(10, async_wait(children).return_when(ReturnWhen::FirstCompleted).into_future()).await.unwrap();
    assert_eq!(w.done, [(1, 1)]);
}

use std::future::IntoFuture;

// ---- 2. Duration::MAX ----

/// Fault: `timeout(Duration::MAX)` panicked with "overflow when adding
/// duration to instant". A huge timeout means no deadline in practice.
#[tokio::test(start_paused = true)]
async fn a_timeout_of_duration_max_means_no_deadline() {
    let out = async_try_gather(vec![after(10, 1), after(20, 2)]).timeout(Duration::MAX).await.unwrap();
    assert_eq!(out, [1, 2]);
    let w = async_wait(vec![after(10, 1)]).timeout(Duration::MAX).await.unwrap();
    assert_eq!(w.done, [(0, 1)]);
    // Still pending after a long while, and no panic.
    let never = async_try_gather(vec![std::future::pending::<u8>()]).timeout(Duration::MAX);
    assert!(tokio::time::timeout(Duration::from_secs(3600), never.into_future()).await.is_err());
}

#[test]
fn a_blocking_timeout_of_duration_max_means_no_deadline() {
    assert_eq!(try_gather(vec![after(5, 1)]).timeout(Duration::MAX).run().unwrap(), [1]);
    assert_eq!(wait(vec![after(5, 1)]).timeout(Duration::MAX).run().unwrap().done, [(0, 1)]);
}

/// Fault: a polling level of `Duration::MAX` was accepted, then panicked at
/// the first check. Now the next check is simply never due.
#[tokio::test(start_paused = true)]
async fn a_polling_level_of_duration_max_does_not_panic() {
    let schedule = Progressive::new(vec![Duration::from_millis(1), Duration::MAX], 1).unwrap();
    let err =
        async_try_gather([probe(common::Never)]).polling(schedule).timeout(Duration::from_secs(1)).await.unwrap_err();
    assert!(err.is_timeout());
}

// ---- 3 and 5. where blocking is legal, and where it is not ----

// A blocking call in a `LocalSet`: see `tests/blocking_hostile.rs`.

/// Fault: on a `spawn_blocking` thread of a current-thread runtime (where
/// sync code belongs in such an app) the blocking forms refused.
#[tokio::test]
async fn blocking_calls_work_on_spawn_blocking_threads_of_a_current_thread_runtime() {
    let out = tokio::task::spawn_blocking(|| {
        let task = tokio::spawn(async { 7 }); // on the caller's runtime
        try_gather(vec![after(5, 1), after(1, 2)]).run().map(|v| (v, task))
    });
    let (out, task) = watchdog(10, out).await.unwrap().unwrap();
    assert_eq!(out, [1, 2]);
    assert_eq!(task.await.unwrap(), 7);
    let w = tokio::task::spawn_blocking(|| wait(vec![after(1, 'a')]).run());
    assert_eq!(watchdog(10, w).await.unwrap().unwrap().done, [(0, 'a')]);
    // The runtime's own thread is still refused.
    assert!(matches!(try_gather(vec![async { 1 }]).run(), Err(Error::Blocking(_))));
}

// ---- 4. the return condition is checked before the deadline ----

/// Fault: a `FirstCompleted` wait first polled after its deadline reported a
/// timeout although a child had completed.
#[tokio::test(start_paused = true)]
async fn first_completed_wins_over_a_deadline_seen_at_the_same_poll() {
    let children: Vec<BoxFut<u8>> = vec![Box::pin(async { 1 }), Box::pin(std::future::pending())];
    let call =
        async_wait(children).return_when(ReturnWhen::FirstCompleted).timeout(Duration::from_millis(5)).into_future();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let w = call.await.unwrap();
    assert_eq!((w.done.len(), w.pending.len()), (1, 1));
}

#[test]
fn blocking_first_completed_with_a_zero_timeout_returns_what_is_done() {
    let children: Vec<BoxFut<u8>> = vec![Box::pin(async { 1 }), Box::pin(std::future::pending())];
    let w = wait(children).return_when(ReturnWhen::FirstCompleted).timeout(Duration::ZERO).run().unwrap();
    assert_eq!(w.done, [(0, 1)]);
}

// ---- 6. a blocking call in a Drop while the runtime shuts down ----

/// Fault: a blocking gather inside a `Drop` that runs while a multi-thread
/// runtime shuts down hung for ever, even over a finished thread.
#[test]
fn a_blocking_call_in_a_drop_at_runtime_shutdown_returns() {
    struct GatherOnDrop(std::sync::mpsc::Sender<String>);
    impl Drop for GatherOnDrop {
        fn drop(&mut self) {
            let finished = std::thread::spawn(|| 3u8);
            std::thread::sleep(Duration::from_millis(10));
            let threads = try_gather([thread(finished)]).timeout(Duration::from_secs(5)).run();
            let sleeper = try_gather(vec![after(5, 4u8)]).timeout(Duration::from_secs(5)).run();
            let _ = self.0.send(format!(
                "{:?} {:?}",
                threads.map_err(|e| e.to_string()),
                sleeper.map_err(|e| e.to_string())
            ));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let guard = GatherOnDrop(tx);
    rt.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    std::thread::sleep(Duration::from_millis(20));
    let dropper = std::thread::spawn(move || drop(rt));
    let got = rx.recv_timeout(Duration::from_secs(20)).expect("the gather in Drop hung at shutdown");
    assert_eq!(got, "Ok([3]) Ok([4])");
    dropper.join().unwrap();
}

// ---- 7. a child that keeps the first waker it was given ----

/// Stores the waker of its first poll only, and completes once `ticks`
/// reaches `n`; a thread ticks and wakes that stored waker.
struct RegisterOnce {
    ticks: Arc<AtomicUsize>,
    n: usize,
    stored: Arc<Mutex<Option<Waker>>>,
}

impl Future for RegisterOnce {
    type Output = usize;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
        let mut stored = self.stored.lock().unwrap();
        if stored.is_none() {
            *stored = Some(cx.waker().clone());
        }
        if self.ticks.load(Ordering::SeqCst) >= self.n { Poll::Ready(self.n) } else { Poll::Pending }
    }
}

/// Fault: once such a child had earned a waker of its own, wakes of the one
/// it kept were lost, and the call hung.
#[tokio::test]
async fn a_child_that_keeps_its_first_waker_is_still_heard() {
    let ticks = Arc::new(AtomicUsize::new(0));
    let stored = Arc::new(Mutex::new(None::<Waker>));
    let child = RegisterOnce { ticks: ticks.clone(), n: 6, stored: stored.clone() };
    let (t, s) = (ticks.clone(), stored.clone());
    let ticker = std::thread::spawn(move || {
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(20));
            t.fetch_add(1, Ordering::SeqCst);
            if let Some(w) = s.lock().unwrap().as_ref() {
                w.wake_by_ref();
            }
        }
    });
    // A second, long-pending child keeps the call's lists non-empty.
    let children: Vec<BoxFut<usize>> = vec![Box::pin(child), Box::pin(std::future::pending())];
    let w = watchdog(10, async_wait(children).return_when(ReturnWhen::FirstCompleted).into_future()).await.unwrap();
    assert_eq!(w.done, [(0, 6)]);
    ticker.join().unwrap();
}

// ---- 8. the schedule hears each check's result at that check ----

/// A probe that logs when it is checked, and finishes at `finish_at` (if any).
struct Logged {
    start: Instant,
    finish_at: Option<Duration>,
    log: Option<Arc<Mutex<Vec<Duration>>>>,
}

impl Probe for Logged {
    type Output = ();
    fn try_finish(&mut self) -> Option<()> {
        let now = self.start.elapsed();
        if let Some(log) = &self.log {
            log.lock().unwrap().push(now);
        }
        self.finish_at.is_some_and(|at| now >= at).then_some(())
    }
}

/// The gaps the schedule object alone gives: checks at the gaps it names
/// (each due time rounded up to Tokio's 1 ms timer), the check at or after
/// `finish_at` seeing the one completion.
fn expected_gaps(mut schedule: concurry::Polling, finish_at: Duration, n: usize) -> Vec<Duration> {
    let ms = Duration::from_millis(1).as_nanos();
    let (mut now, mut seen, mut gaps) = (Duration::ZERO, false, Vec::new());
    while gaps.len() < n {
        let due = (now + schedule.next_interval()).as_nanos().div_ceil(ms) * ms;
        let due = Duration::from_nanos(due as u64);
        gaps.push(due - now);
        now = due;
        if !seen && now >= finish_at {
            seen = true;
            schedule.record_completion();
        } else {
            schedule.record_no_completion();
        }
    }
    gaps
}

/// Fault: the engine told the schedule what a check found only at the next
/// check, so Exponential doubled once more after a completion (gaps 1, 2, 4,
/// 8, 16, 32, 1 ms instead of 1, 2, 4, 8, 16, 1 ms).
#[tokio::test(start_paused = true)]
async fn each_algorithm_reacts_to_the_check_that_saw_a_completion() {
    let finish_at = Duration::from_millis(20);
    for algorithm in [
        PollingAlgorithm::Exponential,
        PollingAlgorithm::Progressive,
        PollingAlgorithm::Adaptive,
        PollingAlgorithm::Fixed,
    ] {
        let n = 8;
        let expected = expected_gaps(algorithm.schedule(), finish_at, n);
        let total: Duration = expected.iter().sum();
        let start = Instant::now();
        let log = Arc::new(Mutex::new(Vec::new()));
        let children = vec![
            probe(Logged { start, finish_at: None, log: Some(log.clone()) }),
            probe(Logged { start, finish_at: Some(finish_at), log: None }),
        ];
        let err =
            async_try_gather(children).polling(algorithm).timeout(total + Duration::from_millis(1)).await.unwrap_err();
        assert!(err.is_timeout());
        let times = log.lock().unwrap().clone();
        let gaps: Vec<Duration> = times.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(gaps[..n], expected[..], "{algorithm}: the engine's gaps between checks");
    }
}

/// A blocking call inside a child of another blocking call (both on the
/// calling thread) works: each has its own waker, neither eats the other's
/// wake-ups.
#[test]
fn nested_blocking_calls_work() {
    let inner = async { try_gather(vec![after(5, 2), after(1, 3)]).run().unwrap().iter().sum::<i32>() };
    let out =
        try_gather(vec![Box::pin(inner) as BoxFut<i32>, after(10, 1)]).timeout(Duration::from_secs(10)).run().unwrap();
    assert_eq!(out, [5, 1]);
    // Iterator mode from a spawn_blocking thread of a multi-thread runtime.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let items = rt.block_on(async {
        tokio::task::spawn_blocking(|| try_gather(vec![after(2, 'a'), after(1, 'b')]).iter().count()).await
    });
    assert_eq!(items.unwrap(), 2);
    // And from a worker, with a timer child.
    let got = rt.block_on(async { tokio::spawn(async { try_gather(vec![after(2, 7)]).run().unwrap() }).await });
    assert_eq!(got.unwrap(), [7]);
}
