//! Batch probes (issue 13): async, fallible round trips, one in flight per
//! group, paced for a remote service, bounded memory. Watchdogs everywhere.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use concurry::probe::{Batch, BatchError, BatchProbe};
use concurry::{Error, async_gather, async_try_gather, try_gather};

async fn watchdog<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut).await.expect("watchdog: the call hung")
}

/// A fake remote service: ids in `done` are finished (id 999 fails), each
/// round trip takes `latency`, and while `down` every round trip errs.
#[derive(Default)]
struct Remote {
    done: Mutex<HashSet<u32>>,
    latency: Duration,
    hang: AtomicBool,
    /// How many of the next round trips hang (then it answers again).
    hang_next: AtomicUsize,
    down: AtomicBool,
    trips: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    asked: Mutex<Vec<usize>>,
    min: Duration,
}

/// The client's side of the fake service.
struct Fake(Arc<Remote>);

impl std::ops::Deref for Fake {
    type Target = Remote;
    fn deref(&self) -> &Remote {
        &self.0
    }
}

impl BatchProbe for Fake {
    type Id = u32;
    type Output = u32;
    type Failure = String;
    type Error = std::io::Error;

    fn name(&self) -> String {
        "the fake remote at 10.0.0.1".into()
    }

    fn min_interval(&self) -> Duration {
        self.min
    }

    async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> {
        self.trips.fetch_add(1, SeqCst);
        let now = self.in_flight.fetch_add(1, SeqCst) + 1;
        self.most_in_flight.fetch_max(now, SeqCst);
        self.asked.lock().unwrap().push(ids.len());
        tokio::time::sleep(self.latency).await;
        let hang_this = self.hang_next.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1)).is_ok();
        if self.hang.load(SeqCst) || hang_this {
            std::future::pending::<()>().await;
        }
        self.in_flight.fetch_sub(1, SeqCst);
        if self.down.load(SeqCst) {
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        }
        let done = self.done.lock().unwrap();
        Ok(ids
            .iter()
            .enumerate()
            .filter(|(_, id)| done.contains(id))
            .map(|(pos, &id)| (pos, if id == 999 { Err(format!("job {id} failed")) } else { Ok(id * 10) }))
            .collect())
    }
}

fn remote(latency_ms: u64, min_ms: u64) -> Arc<Remote> {
    Arc::new(Remote {
        latency: Duration::from_millis(latency_ms),
        min: Duration::from_millis(min_ms),
        ..Remote::default()
    })
}

fn finish(remote: &Remote, ids: impl IntoIterator<Item = u32>) {
    remote.done.lock().unwrap().extend(ids);
}

#[tokio::test(start_paused = true)]
async fn a_call_paces_round_trips_for_a_remote_service() {
    let r = remote(5, 100);
    let batch = Batch::new(Fake(r.clone()));
    let handles: Vec<_> = (0..50).map(|id| batch.handle(id)).collect();
    let r2 = r.clone();
    tokio::spawn(async move {
        for id in 0..50 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            finish(&r2, [id]);
        }
    });
    let out = watchdog(async_try_gather(handles).into_future()).await.unwrap();
    assert_eq!(out.len(), 50);
    // About 1 s of work at 100 ms per round trip: not hundreds.
    let trips = r.trips.load(SeqCst);
    assert!((9..=13).contains(&trips), "{trips} round trips");
    assert_eq!(batch.round_trips(), trips as u64);
}

#[tokio::test(start_paused = true)]
async fn the_calls_own_polling_wins_over_the_backends_pace() {
    let r = remote(0, 100);
    let batch = Batch::new(Fake(r.clone()));
    let handles: Vec<_> = (0..5).map(|id| batch.handle(id)).collect();
    let r2 = r.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        finish(&r2, 0..5);
    });
    let polling = concurry::polling::Fixed::new(Duration::from_millis(5)).unwrap();
    watchdog(async_try_gather(handles).polling(polling).into_future()).await.unwrap();
    assert!(r.trips.load(SeqCst) >= 8, "{} round trips", r.trips.load(SeqCst));
}

#[tokio::test(start_paused = true)]
async fn one_round_trip_in_flight_answers_every_call_on_the_group() {
    let r = remote(30, 10);
    let batch = Batch::new(Fake(r.clone()));
    let a: Vec<_> = (0..10).map(|id| batch.handle(id)).collect();
    let b: Vec<_> = (10..20).map(|id| batch.handle(id)).collect();
    let r2 = r.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        finish(&r2, 0..20);
    });
    let (x, y) = watchdog(async { tokio::join!(async_try_gather(a), async_try_gather(b)) }).await;
    assert_eq!((x.unwrap().len(), y.unwrap().len()), (10, 10));
    assert_eq!(r.most_in_flight.load(SeqCst), 1);
    // Each round trip asked about every waiting handle of both calls.
    assert_eq!(r.asked.lock().unwrap()[0], 20);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_fires_on_time_while_a_round_trip_hangs() {
    let r = remote(0, 10);
    r.hang.store(true, SeqCst);
    let batch = Batch::new(Fake(r.clone()));
    let started = tokio::time::Instant::now();
    let (err, had) = watchdog(
        async_try_gather(vec![batch.handle(1), batch.handle(2)])
            .timeout(Duration::from_millis(200))
            .keep_partial()
            .into_future(),
    )
    .await
    .unwrap()
    .into_interrupted()
    .expect("the call was stopped");
    assert_eq!(started.elapsed(), Duration::from_millis(200));
    // The handles come back pending: their ids are there to wait again.
    let pending = {
        assert!(err.is_timeout(), "{err}");
        had
    }
    .pending;
    let ids: Vec<_> = pending.into_children().into_iter().map(|(_, h)| h.id().unwrap()).collect();
    assert_eq!(ids, [1, 2]);
}

#[test]
fn a_round_trip_never_blocks_the_runtime_thread() {
    // A current-thread runtime: if the round trip ran on the polling thread,
    // the ticker would stall for its whole latency.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let r = remote(50, 1);
        let batch = Batch::new(Fake(r.clone()));
        let r2 = r.clone();
        let ticks = tokio::spawn(async move {
            let mut late = Duration::ZERO;
            for _ in 0..40 {
                let before = tokio::time::Instant::now();
                tokio::time::sleep(Duration::from_millis(5)).await;
                late = late.max(before.elapsed().saturating_sub(Duration::from_millis(5)));
            }
            finish(&r2, 0..5);
            late
        });
        let out = watchdog(async_try_gather((0..5).map(|id| batch.handle(id)).collect::<Vec<_>>()).into_future())
            .await
            .unwrap();
        assert_eq!(out.len(), 5);
        let late = ticks.await.unwrap();
        assert!(late < Duration::from_millis(40), "a 5 ms ticker was {late:?} late");
    });
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_stays_down_fails_the_call_and_names_itself() {
    let r = remote(1, 10);
    r.down.store(true, SeqCst);
    let batch = Batch::with_max_failures(Fake(r.clone()), 3);
    let err = watchdog(async_try_gather(vec![batch.handle(1), batch.handle(2)]).into_future()).await.unwrap_err();
    assert!(matches!(err, Error::Failed { .. }));
    let cause = err.child_error::<BatchError<u32, String>>().expect("a batch error");
    assert_eq!(
        cause.to_string(),
        "the fake remote at 10.0.0.1 failed 3 round trips in a row waiting on 1 (one of 2 asked about: 1 and 2)"
    );
    assert_eq!(std::error::Error::source(cause).unwrap().to_string(), "connection refused");
    assert_eq!(r.trips.load(SeqCst), 3);
    // Nothing is lost: the id is in the error; once the backend is up, a new
    // handle made from it waits again.
    let id = *cause.id();
    r.down.store(false, SeqCst);
    finish(&r, [id]);
    assert_eq!(watchdog(batch.handle(id)).await.unwrap(), id * 10);
}

#[tokio::test(start_paused = true)]
async fn a_failed_round_trip_is_retried_and_failures_reset_on_success() {
    let r = remote(1, 10);
    r.down.store(true, SeqCst);
    let batch = Batch::with_max_failures(Fake(r.clone()), 5);
    let r2 = r.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(35)).await;
        r2.down.store(false, SeqCst);
        finish(&r2, [1]);
    });
    assert_eq!(watchdog(async_try_gather(vec![batch.handle(1)]).into_future()).await.unwrap(), [10]);
}

#[tokio::test(start_paused = true)]
async fn a_failed_job_is_a_failure_in_its_slot_or_fails_fast() {
    let r = remote(1, 10);
    finish(&r, [12, 999, 14]);
    let batch = Batch::new(Fake(r.clone()));
    let out = watchdog(async_gather(vec![batch.handle(12), batch.handle(999), batch.handle(14)]).into_future())
        .await
        .unwrap();
    assert_eq!(out[0].as_ref().unwrap(), &120);
    assert!(matches!(out[1], Err(BatchError::Failed { id: 999, .. })));
    let err = watchdog(async_try_gather(vec![batch.handle(12), batch.handle(999)]).into_future()).await.unwrap_err();
    assert_eq!(format!("{}", err.into_failed().unwrap().1), "job 999 failed");
}

#[test]
fn finished_handles_free_their_slots_and_checks_ask_only_the_waiting() {
    let r = remote(0, 0);
    finish(&r, (0..20_000).filter(|&id| id != 999));
    let batch = Batch::new(Fake(r.clone()));
    let big: Vec<_> = (0..10_000).map(|id| batch.handle(if id == 999 { 19_999 } else { id })).collect();
    assert_eq!(try_gather(big).run().unwrap().len(), 10_000);
    for round in 0..200u32 {
        let small: Vec<_> = (0..5).map(|i| batch.handle(10_000 + round * 5 % 10_000 + i)).collect();
        try_gather(small).run().unwrap();
    }
    assert!(batch.slots() <= 3 * 128, "room follows the handles alive now: {}", batch.slots());
    assert!(r.asked.lock().unwrap().iter().rev().take(200).all(|&n| n <= 5), "later checks ask only about 5");
}

/// A backend whose round trip panics (on the first two calls).
struct Panicky(AtomicUsize);

impl BatchProbe for Panicky {
    type Id = u32;
    type Output = u32;
    type Failure = String;
    type Error = std::io::Error;
    fn name(&self) -> String {
        "a panicky backend".into()
    }
    fn min_interval(&self) -> Duration {
        Duration::from_millis(1)
    }
    async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> {
        if self.0.fetch_add(1, SeqCst) < 2 {
            panic!("backend bug");
        }
        Ok(ids.into_iter().map(Ok).enumerate().collect())
    }
}

#[tokio::test(start_paused = true)]
async fn a_round_trip_that_panics_is_a_failed_round_trip_not_a_hang() {
    let batch = Batch::new(Panicky(AtomicUsize::new(0)));
    assert_eq!(watchdog(async_try_gather(vec![batch.handle(5)]).into_future()).await.unwrap(), [5]);
    let batch = Batch::with_max_failures(Panicky(AtomicUsize::new(0)), 2);
    let err = watchdog(async_try_gather(vec![batch.handle(5)]).into_future()).await.unwrap_err();
    let cause = err.child_error::<BatchError<u32, String>>().unwrap();
    assert_eq!(cause.to_string(), "a panicky backend failed 2 round trips in a row waiting on 5");
    // Issue 21.13b: the panic is the backend's round trip's, not a thread's.
    let source = std::error::Error::source(cause).unwrap().to_string();
    assert_eq!(source, "a panicky backend's round trip panicked: backend bug");
}

#[tokio::test(start_paused = true)]
async fn a_slot_freed_during_a_round_trip_is_not_answered_for_its_next_handle() {
    let r = remote(50, 1);
    finish(&r, [1]);
    let batch = Batch::new(Fake(r.clone()));
    let first = batch.handle(1);
    let mut first = Box::pin(first);
    // Start a round trip for handle 1, then drop the handle mid-flight.
    assert!(futures::poll!(first.as_mut()).is_pending());
    drop(first);
    // The freed slot goes to a handle of a job that is not done.
    let second = batch.handle(2);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = async_try_gather(vec![second]).timeout(Duration::from_millis(100)).await.unwrap_err();
    assert!(err.is_timeout(), "job 2 is not done: the answer for job 1 must not reach it");
}

/// A backend that panics while making its round trip (not in it), once.
struct PanicsEarly(AtomicUsize);

impl BatchProbe for PanicsEarly {
    type Id = u32;
    type Output = u32;
    type Failure = String;
    type Error = std::io::Error;
    fn name(&self) -> String {
        "panics early".into()
    }
    fn min_interval(&self) -> Duration {
        Duration::from_millis(1)
    }
    #[allow(clippy::manual_async_fn)]
    fn check(&self, ids: Vec<u32>) -> impl Future<Output = concurry::probe::Answer<Self>> + Send {
        assert!(self.0.fetch_add(1, SeqCst) != 0, "panics before the future");
        async move { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
    }
}

#[tokio::test(start_paused = true)]
async fn a_backend_that_panics_making_its_round_trip_does_not_block_the_group() {
    let batch = Batch::new(PanicsEarly(AtomicUsize::new(0)));
    assert_eq!(watchdog(async_try_gather(vec![batch.handle(1)]).into_future()).await.unwrap(), [1]);
}

#[test]
fn a_round_trip_dropped_with_its_runtime_does_not_block_the_group() {
    let r = remote(10_000, 1);
    finish(&r, [1]);
    let batch = Batch::new(Fake(r.clone()));
    // Its 10 s round trips are within their deadline.
    batch.set_round_trip_timeout(Duration::from_secs(60)).unwrap();
    let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let err = first.block_on(async_try_gather(vec![batch.handle(1)]).timeout(Duration::from_millis(50))).unwrap_err();
    assert!(err.is_timeout());
    drop(first); // the 10 s round trip is dropped with its runtime
    let second = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().unwrap();
    let out = second.block_on(async {
        watchdog(async_try_gather(vec![batch.handle(1)]).timeout(Duration::from_secs(60)).into_future()).await
    });
    assert_eq!(out.unwrap(), [10]);
}

/// Its `Arc`'s strong count says how many clones of the task's waker are
/// held anywhere.
struct TaskWaker;

impl std::task::Wake for TaskWaker {
    fn wake(self: Arc<Self>) {}
}

#[tokio::test(flavor = "current_thread")]
async fn a_handle_polled_at_every_round_parks_once_per_check() {
    // In a small call a handle beside a child that wakes itself is polled at
    // every round; between two checks it must park once, not once a round.
    use std::pin::{Pin, pin};
    use std::task::{Context, Poll, Waker};
    type Out = Result<u32, BatchError<u32, String>>;
    let r = remote(0, 3_600_000);
    let batch = Batch::new(Fake(r.clone()));
    let spinner = futures::future::poll_fn(|cx: &mut Context<'_>| -> Poll<Out> {
        cx.waker().wake_by_ref();
        Poll::Pending
    });
    let children: Vec<Pin<Box<dyn Future<Output = Out>>>> = vec![Box::pin(batch.handle(1)), Box::pin(spinner)];
    let mut call = pin!(async_gather(children));
    let task = Arc::new(TaskWaker);
    let waker = Waker::from(task.clone());
    assert!(call.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    // Let the first round trip answer (job 1 is not done).
    watchdog(async {
        while r.trips.load(SeqCst) == 0 || r.in_flight.load(SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    for _ in 0..1_000 {
        assert!(call.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    }
    assert_eq!(r.trips.load(SeqCst), 1, "paced: one round trip an hour");
    let clones = Arc::strong_count(&task) - 2;
    assert!(clones <= 4, "{clones} clones of the task's waker held after 1,000 rounds");
}

// ---- issue 21 ----

/// Issue 21.4: a round trip that never answered wedged its group for good:
/// no round trip was made again, even after every handle waiting on it was
/// dropped and the backend recovered. Now a round trip no handle waits for
/// is abandoned, and the next check starts a fresh one at once.
#[tokio::test(start_paused = true)]
async fn a_round_trip_that_never_answers_is_abandoned_when_no_handle_waits() {
    let r = remote(0, 10);
    r.hang_next.store(1, SeqCst);
    let batch = Batch::new(Fake(r.clone()));
    let err = watchdog(async_try_gather(vec![batch.handle(1), batch.handle(2)]).timeout(Duration::from_millis(200)))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    // The backend recovered; the hung round trip's handles are gone.
    finish(&r, [1]);
    let started = tokio::time::Instant::now();
    assert_eq!(watchdog(async_try_gather(vec![batch.handle(1)])).await.unwrap(), [10]);
    assert!(started.elapsed() < Duration::from_millis(100), "took {:?}", started.elapsed());
    assert_eq!(r.trips.load(SeqCst), 2);
}

/// Issue 21.4: a round trip past its deadline counts as a failed round
/// trip, retried at the next check.
#[tokio::test(start_paused = true)]
async fn a_round_trip_past_its_deadline_fails_and_is_retried() {
    let r = remote(0, 10);
    finish(&r, [1]);
    r.hang_next.store(1, SeqCst);
    let batch = Batch::new(Fake(r.clone()));
    batch.set_round_trip_timeout(Duration::from_secs(1)).unwrap();
    let started = tokio::time::Instant::now();
    assert_eq!(watchdog(async_try_gather(vec![batch.handle(1)])).await.unwrap(), [10]);
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_millis(1_100), "took {took:?}");
    assert_eq!(r.trips.load(SeqCst), 2);
}

/// Issue 21.4: a backend that never answers ends the wait as one that
/// fails does, after `max_failures` round trips, each at the default
/// deadline (10 x `min_interval`, at least 5 s).
#[tokio::test(start_paused = true)]
async fn a_backend_that_never_answers_ends_the_wait_with_a_backend_error() {
    let r = remote(0, 10);
    r.hang.store(true, SeqCst);
    let batch = Batch::with_max_failures(Fake(r.clone()), 3);
    assert_eq!(batch.round_trip_timeout(), Duration::from_secs(5));
    let started = tokio::time::Instant::now();
    let err = watchdog(async_try_gather(vec![batch.handle(4)])).await.unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(15) && took < Duration::from_secs(16), "took {took:?}");
    let cause = err.child_error::<BatchError<u32, String>>().unwrap();
    assert_eq!(cause.to_string(), "the fake remote at 10.0.0.1 failed 3 round trips in a row waiting on 4");
    let source = std::error::Error::source(cause).unwrap().to_string();
    assert_eq!(source, "the fake remote at 10.0.0.1's round trip did not answer within 5s");
    assert_eq!(r.trips.load(SeqCst), 3);
    assert!(batch.set_round_trip_timeout(Duration::ZERO).unwrap_err().to_string().contains("greater than zero"));
}

/// Issue 21.8: a group kept the memory and the scan cost of its high-water
/// mark (a check scanned every slot ever made). Now its room follows the
/// handles alive now, and a round trip visits only the pending handles,
/// even when handles made before and after the burst stay alive.
#[tokio::test(start_paused = true)]
async fn a_burst_of_handles_gives_its_room_back_and_checks_visit_only_the_pending() {
    let r = remote(0, 10);
    let batch = Batch::new(Fake(r.clone()));
    let first = batch.handle(100_000);
    let burst: Vec<_> = (0..100_000).map(|id| batch.handle(id)).collect();
    let last = batch.handle(100_001);
    assert!(batch.slots() >= 100_002);
    drop(burst);
    assert!(batch.slots() <= 3 * 128, "room after the burst: {}", batch.slots());
    let mut handles = vec![first, last];
    handles.extend((0..8).map(|id| batch.handle(200_000 + id)));
    finish(&r, (200_000..200_008).chain([100_000, 100_001]));
    assert_eq!(watchdog(async_try_gather(handles)).await.unwrap().len(), 10);
    assert_eq!(batch.last_trip_visited(), 10);
    assert_eq!(*r.asked.lock().unwrap(), [10]);
    assert!(batch.slots() <= 3 * 128, "room after the call: {}", batch.slots());
}

/// Issue 21.9: the backend error's message did not name the id (only
/// `.id()` and `Debug` did). Each handle's message names its own id, and
/// the first few others asked about.
#[tokio::test(start_paused = true)]
async fn the_backend_error_message_names_the_handles_id() {
    let r = remote(0, 10);
    r.down.store(true, SeqCst);
    let batch = Batch::with_max_failures(Fake(r.clone()), 2);
    let out = watchdog(async_gather((1..=5).map(|id| batch.handle(id)).collect::<Vec<_>>())).await.unwrap();
    for (id, out) in (1..=5).zip(out) {
        let message = out.unwrap_err().to_string();
        let expected = format!(
            "the fake remote at 10.0.0.1 failed 2 round trips in a row waiting on {id} (one of 5 asked about: 1, 2, 3 and 2 more)"
        );
        assert_eq!(message, expected);
    }
}

/// An id asked about by several handles is listed once in the message (it
/// read "one of 2 asked about: 1 and 1").
#[tokio::test(start_paused = true)]
async fn the_backend_error_message_lists_each_id_once() {
    let r = remote(0, 10);
    r.down.store(true, SeqCst);
    let batch = Batch::with_max_failures(Fake(r.clone()), 2);
    let out = watchdog(async_gather(vec![batch.handle(1), batch.handle(1)])).await.unwrap();
    for out in out {
        let message = out.unwrap_err().to_string();
        assert_eq!(message, "the fake remote at 10.0.0.1 failed 2 round trips in a row waiting on 1");
    }
    let out = watchdog(async_gather(vec![batch.handle(1), batch.handle(2), batch.handle(1)])).await.unwrap();
    let message = out[0].as_ref().unwrap_err().to_string();
    assert!(message.ends_with("(one of 2 asked about: 1 and 2)"), "{message}");
}

/// Issue 21.5 (the group's side): any number of handles, in one call or in
/// several sharing the group, may wait on the same id; each is answered.
#[tokio::test(start_paused = true)]
async fn handles_with_the_same_id_are_each_answered() {
    let r = remote(0, 10);
    let batch = Batch::new(Fake(r.clone()));
    let r2 = r.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        finish(&r2, [7]);
    });
    let a = async_try_gather(vec![batch.handle(7), batch.handle(7)]);
    let b = async_try_gather(vec![batch.handle(7)]);
    let (a, b) = watchdog(async { tokio::join!(a, b) }).await;
    assert_eq!((a.unwrap(), b.unwrap()), (vec![70, 70], vec![70]));
}

/// Polls its handle once when dropped, then hands it on.
struct PollOnDrop(
    Option<concurry::probe::BatchHandle<Fake>>,
    std::sync::mpsc::Sender<concurry::probe::BatchHandle<Fake>>,
);

impl Drop for PollOnDrop {
    fn drop(&mut self) {
        let mut handle = self.0.take().unwrap();
        let _ = std::pin::Pin::new(&mut handle).poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
        self.1.send(handle).unwrap();
    }
}

/// Issue 21.4: a round trip started on a runtime that is shutting down is
/// dropped before it ever runs; the group must not count it as in flight
/// for ever (its handle, still alive, would never be answered).
#[test]
fn a_round_trip_dropped_before_it_ran_does_not_block_the_group() {
    let r = remote(0, 1);
    finish(&r, [1]);
    let batch = Batch::new(Fake(r.clone()));
    let (send, handed) = std::sync::mpsc::channel();
    let first = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let guard = PollOnDrop(Some(batch.handle(1)), send);
    first.spawn(async move {
        let _guard = guard;
        std::future::pending::<()>().await;
    });
    first.block_on(tokio::task::yield_now());
    drop(first); // the task is dropped: its guard starts a round trip on the closing runtime
    let handle = handed.recv().unwrap();
    let second = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let out = second.block_on(async { watchdog(async_try_gather(vec![handle]).into_future()).await });
    assert_eq!(out.unwrap(), [10]);
}
