//! The paths a small call takes: a call that completes in its first poll,
//! the task's waker registered only when the call waits, the shared waker
//! state reused per thread, a few children polled with the task's own waker
//! after their first rescan (as `join_all` does), and the probe scope lent
//! per round. Everything that could hang runs under a watchdog.

mod common;

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use common::yield_once;
use concurry::{ReturnWhen, async_gather, async_try_gather, async_wait, probe};
use futures::FutureExt;
use tokio::sync::oneshot;

async fn watchdog<T>(secs: u64, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(secs), fut).await.expect("watchdog: the call hung")
}

#[test]
fn children_that_wake_themselves_complete_in_the_callers_first_poll() {
    // No runtime, a waker that does nothing: the call must see the wakes
    // its children made during the poll itself, and not wait for the task
    // to be woken (it never would be).
    let mut call = pin!(async_gather(vec![yield_once(1), yield_once(2), yield_once(3)]));
    let polled = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    let Poll::Ready(out) = polled else { panic!("the call waited for a wake that never comes") };
    assert_eq!(out.unwrap(), [1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_from_another_thread_right_after_the_first_pass_is_never_lost() {
    // The task's waker is registered only once the call is about to wait:
    // a wake that lands between the first pass and the registration must
    // still end the call. Senders fire at once, from other threads, racing it.
    watchdog(30, async {
        for round in 0..300u32 {
            let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<u32>()).unzip();
            let sender = std::thread::spawn(move || {
                for (i, tx) in txs.into_iter().enumerate() {
                    tx.send(round + i as u32).expect("receiver alive");
                }
            });
            let out = async_gather(rxs).await.expect("no timeout");
            assert_eq!(out.into_iter().map(Result::unwrap).collect::<Vec<_>>(), [round, round + 1, round + 2]);
            sender.join().expect("sender");
        }
    })
    .await;
}

/// Ready once `flag` is set; on its first poll keeps the waker it was given
/// in `slot`, and never looks at a later one (it breaks the `Future`
/// contract, as some hand-written futures do).
struct KeepsFirstWaker {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for KeepsFirstWaker {
    type Output = u8;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if self.flag.load(SeqCst) {
            return Poll::Ready(7);
        }
        self.slot.lock().unwrap().get_or_insert_with(|| cx.waker().clone());
        Poll::Pending
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_call_whose_child_keeps_its_first_waker_still_completes() {
    watchdog(10, async {
        let (flag, slot) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(None::<Waker>)));
        let keeper = KeepsFirstWaker { flag: flag.clone(), slot: slot.clone() };
        // A second child wakes early, so the keeper is rescanned (and from
        // then on polled with the task's waker, which it ignores).
        let early = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            1u8
        };
        let waker_thread = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            flag.store(true, SeqCst);
            slot.lock().unwrap().take().expect("the keeper was polled").wake();
        });
        let children: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> = vec![Box::pin(keeper), Box::pin(early)];
        assert_eq!(async_gather(children).await.unwrap(), [7, 1]);
        waker_thread.join().unwrap();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_pending_set_handed_to_another_task_wakes_that_task() {
    // Past their first rescan, a few children wait on the task's own waker.
    // A `wait` hands them back; gathered in another task, they must wake
    // that task, not the first.
    watchdog(10, async {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel::<u8>()).unzip();
        let mut txs = txs.into_iter();
        let first = txs.next().unwrap();
        let fire_first = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            first.send(0).unwrap();
        });
        let w = async_wait(rxs).return_when(ReturnWhen::FirstCompleted).await.unwrap();
        fire_first.await.unwrap();
        assert_eq!(w.pending.keys().collect::<Vec<_>>(), [1, 2]);
        let other_task = tokio::spawn(async_gather(w.pending));
        let rest: Vec<_> = txs.collect();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            for (i, tx) in rest.into_iter().enumerate() {
                tx.send(i as u8 + 1).unwrap();
            }
        });
        let out = other_task.await.unwrap().unwrap();
        assert_eq!(out.into_iter().map(|(k, r)| (k, r.unwrap())).collect::<Vec<_>>(), [(1, 1), (2, 2)]);
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn a_waker_kept_past_its_call_cannot_disturb_the_next_calls_on_the_thread() {
    watchdog(10, async {
        // Call 1's child keeps a waker of the call after it ends (so that
        // call's waker state is not reused), and wakes it during later calls.
        let kept = Arc::new(Mutex::new(None::<Waker>));
        let keeper = {
            let kept = kept.clone();
            futures::future::poll_fn(move |cx| {
                kept.lock().unwrap().get_or_insert_with(|| cx.waker().clone());
                Poll::Ready(0u8)
            })
        };
        assert_eq!(async_gather(vec![keeper]).await.unwrap(), [0]);
        let stale = kept.lock().unwrap().clone().expect("kept");
        for round in 0..100u8 {
            // Each call waits on a timer; the stale waker fires meanwhile.
            let (polls, stale) = (Arc::new(AtomicUsize::new(0)), stale.clone());
            let counted = polls.clone();
            let child = async move {
                counted.fetch_add(1, SeqCst);
                tokio::time::sleep(Duration::from_millis(1)).await;
                round
            };
            let noise = async move {
                stale.wake_by_ref();
                tokio::task::yield_now().await;
                stale.wake_by_ref();
                round
            };
            let children: Vec<Pin<Box<dyn Future<Output = u8>>>> = vec![Box::pin(child), Box::pin(noise)];
            assert_eq!(async_gather(children).await.unwrap(), [round, round]);
            assert_eq!(polls.load(SeqCst), 1, "the child was made once and not restarted");
        }
    })
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn probes_park_with_their_own_engine_in_nested_calls_and_after_a_panic() {
    watchdog(10, async {
        let sleeper = |ms: u64, v: u8| {
            probe::thread(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(ms));
                v
            }))
        };
        // An inner call whose child panics, caught: the outer round's probe
        // scope must come back whole.
        let panicking = async {
            let inner = async_gather(vec![futures::future::lazy(|_| -> u8 { panic!("child panicked") })]);
            std::panic::AssertUnwindSafe(inner).catch_unwind().await.is_err()
        };
        let nested = async move {
            let inner = async_gather(vec![sleeper(20, 1), sleeper(5, 2)]).await.unwrap();
            inner.into_iter().map(|r| r.unwrap()).sum::<u8>()
        };
        let (caught, sum, outer) = async_gather((panicking, nested, sleeper(30, 4))).await.unwrap();
        assert!(caught);
        assert_eq!((sum, outer.unwrap()), (3, 4));
    })
    .await;
}

/// Counts nothing itself: its `Arc`'s strong count says how many clones of
/// the task's waker are held anywhere.
struct TaskWaker;

impl std::task::Wake for TaskWaker {
    fn wake(self: Arc<Self>) {}
}

#[tokio::test(flavor = "current_thread")]
async fn a_probe_polled_at_every_round_parks_once_per_check() {
    // A small set polls its children that wait on the task's waker at every
    // round; a child that wakes itself makes rounds back to back. A probe
    // beside it must not park a waker at each round until the next check
    // (that piled up a clone of the task's waker per round).
    struct NotYet;
    impl probe::Probe for NotYet {
        type Output = u8;
        fn try_finish(&mut self) -> Option<u8> {
            None
        }
    }
    let spinner = futures::future::poll_fn(|cx: &mut Context<'_>| -> Poll<u8> {
        cx.waker().wake_by_ref();
        Poll::Pending
    });
    let children: Vec<Pin<Box<dyn Future<Output = u8>>>> = vec![Box::pin(probe::probe(NotYet)), Box::pin(spinner)];
    // A check every hour: none comes during the test.
    let fixed = concurry::polling::Fixed::new(Duration::from_secs(3600)).unwrap();
    let mut call = pin!(async_gather(children).polling(fixed));
    let task = Arc::new(TaskWaker);
    let waker = Waker::from(task.clone());
    for _ in 0..1_000 {
        assert!(call.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    }
    let clones = Arc::strong_count(&task) - 2;
    assert!(clones <= 4, "{clones} clones of the task's waker held after 1,000 rounds");
}

type Child<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Spends Tokio's whole budget at every poll, for ever.
fn budget_hog<T: Send + 'static>() -> Child<T> {
    Box::pin(async {
        loop {
            tokio::task::consume_budget().await;
        }
    })
}

async fn first_done_beside_a_budget_hog() {
    let quick: Child<u32> = Box::pin(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        1
    });
    let w = watchdog(10, async_wait(vec![budget_hog(), quick]).first_completed()).await.unwrap();
    assert_eq!(w.done.iter().map(|d| d.0).collect::<Vec<_>>(), [1]);
    // A task handle and a channel from another thread, the hog first.
    let task = tokio::spawn(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        2u32
    });
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        tx.send(3u32).unwrap();
    });
    let children: Vec<Child<u32>> =
        vec![budget_hog(), Box::pin(async { task.await.unwrap() }), Box::pin(async { rx.await.unwrap() })];
    let w = watchdog(10, async_wait(children).return_when(ReturnWhen::AllCompleted).timeout(Duration::from_secs(1)));
    let err = w.await.unwrap_err();
    assert!(err.to_string().contains("2 of 3 completed"), "{err}");
    // Fail fast beside a hog.
    let fails: Child<Result<u32, String>> = Box::pin(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Err("backend down".to_string())
    });
    let err = watchdog(10, async_try_gather(vec![budget_hog(), fails])).await.unwrap_err();
    assert_eq!(err.to_string(), "child 1 failed");
    // Two hogs on the task's waker, and three: they take turns with the
    // other children, not with each other only.
    for hogs in [2, 3] {
        let mut children: Vec<Child<u32>> = (0..hogs).map(|_| budget_hog()).collect();
        children.push(Box::pin(async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            7
        }));
        let w = watchdog(10, async_wait(children).first_completed()).await.unwrap();
        assert_eq!(w.done.iter().map(|d| d.1).collect::<Vec<_>>(), [7], "{hogs} hogs");
    }
    // Under a limit, hogs taking each freed slot: what completed returns,
    // whatever waits for a slot.
    let mut children: Vec<Child<u32>> = vec![Box::pin(async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        7
    })];
    children.extend((0..10).map(|_| budget_hog()));
    let w = watchdog(10, async_wait(children).first_completed().limit(3)).await.unwrap();
    assert_eq!(w.done, [(0, 7)]);
}

#[tokio::test(flavor = "current_thread")]
async fn a_child_that_spends_the_budget_cannot_starve_a_small_call_current_thread() {
    first_done_beside_a_budget_hog().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_spends_the_budget_cannot_starve_a_small_call_multi_thread() {
    first_done_beside_a_budget_hog().await;
}

/// A spinner that wakes itself at every poll, for ever; 32 children that
/// yield once (outputs `ok(0..32)`); one that ends with `last` after 20 ms.
fn spinner_among_many<T: Send + 'static>(ok: impl Fn(u32) -> T + Send + Copy + 'static, last: T) -> Vec<Child<T>> {
    let spinner: Child<T> = Box::pin(futures::future::poll_fn(|cx| {
        cx.waker().wake_by_ref();
        Poll::Pending
    }));
    let mut children = vec![spinner];
    children.extend((0..32u32).map(|i| {
        Box::pin(async move {
            tokio::task::yield_now().await;
            ok(i)
        }) as Child<T>
    }));
    children.push(Box::pin(async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        last
    }));
    children
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_child_that_keeps_waking_itself_cannot_starve_a_call_that_shrank_to_a_few() {
    // 34 children: the first wakes itself at every poll for ever and earns a
    // waker of its own while the set is large; once 32 or fewer are left,
    // the others wait on the task's waker and must still be polled.
    let children = spinner_among_many(Ok::<u32, String>, Err("backend down".to_string()));
    let err = watchdog(10, async_try_gather(children)).await.unwrap_err();
    assert_eq!(err.to_string(), "child 33 failed");
    // The same from a blocking call, where `yield_now` wakes at once.
    let children = spinner_among_many(|i| i, 99u32);
    let waited = tokio::task::spawn_blocking(move || concurry::wait(children).first_completed().run());
    let w = watchdog(10, waited).await.unwrap().unwrap();
    assert!(!w.done.is_empty());
    let all = watchdog(10, async_gather(w.pending).timeout(Duration::from_millis(200))).await.unwrap_err();
    assert!(all.is_timeout(), "only the spinner is left: {all}");
}

#[test]
fn a_blocking_call_with_probes_in_a_thread_locals_drop_at_thread_exit() {
    // The thread's first call comes before the thread-local is set, its
    // first probe call after: at thread exit the probes' parking space is
    // gone before the guard's `Drop` makes its call. It must not abort.
    struct FlushOnExit(std::sync::mpsc::Sender<String>);
    impl Drop for FlushOnExit {
        fn drop(&mut self) {
            let worker = probe::thread(std::thread::spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                1
            }));
            let out = concurry::try_gather([worker]).run();
            let _ = self.0.send(format!("{:?}", out.map_err(|e| e.to_string())));
        }
    }
    thread_local! {
        static GUARD: std::cell::RefCell<Option<FlushOnExit>> = const { std::cell::RefCell::new(None) };
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        concurry::gather([std::future::ready(0)]).run().unwrap();
        GUARD.with(|g| *g.borrow_mut() = Some(FlushOnExit(tx)));
        let worker = probe::thread(std::thread::spawn(|| 1));
        concurry::try_gather([worker]).run().unwrap();
    })
    .join()
    .expect("the thread exited cleanly");
    let flushed = rx.recv_timeout(Duration::from_secs(10)).expect("the guard's call returned");
    assert!(flushed.starts_with("Ok") || flushed.contains("runtime"), "{flushed}");
}

/// Keeps the first waker it is given in `first` and is ready once `flag` is
/// set: it breaks the `Future` contract as some hand-written futures do.
struct KeepsOnlyFirst {
    flag: Arc<AtomicBool>,
    first: Arc<Mutex<Option<Waker>>>,
}

impl Future for KeepsOnlyFirst {
    type Output = &'static str;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.first.lock().unwrap().get_or_insert_with(|| cx.waker().clone());
        if self.flag.load(SeqCst) { Poll::Ready("a") } else { Poll::Pending }
    }
}

/// Keeps its first waker too, and wakes it at each poll until its `at`-th,
/// where it sets `flag` and wakes the waker `KeepsOnlyFirst` kept (an
/// outside event arriving at that moment).
struct WakesTheKeeperAt {
    at: u8,
    polls: u8,
    own_first: Option<Waker>,
    flag: Arc<AtomicBool>,
    first: Arc<Mutex<Option<Waker>>>,
}

impl Future for WakesTheKeeperAt {
    type Output = &'static str;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
        self.polls += 1;
        if self.polls < self.at {
            self.own_first.get_or_insert_with(|| cx.waker().clone()).wake_by_ref();
            return Poll::Pending;
        }
        self.flag.store(true, SeqCst);
        if let Some(w) = self.first.lock().unwrap().as_ref() {
            w.wake_by_ref();
        }
        Poll::Ready("b")
    }
}

fn keeper_and_waker(at: u8) -> (KeepsOnlyFirst, WakesTheKeeperAt) {
    let (flag, first) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(None)));
    (
        KeepsOnlyFirst { flag: flag.clone(), first: first.clone() },
        WakesTheKeeperAt { at, polls: 0, own_first: None, flag, first },
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_child_on_the_tasks_waker_that_wakes_the_shared_waker_it_kept_is_polled_again() {
    // Both children keep the shared waker they were first polled with, and
    // are on the task's waker after their rescan. Their wakes of the kept
    // waker must reach them there. (Before, the engine took the rescan
    // request down, rescanned only its other lists, and the call hung.)
    for at in 3..6 {
        let (a, b) = keeper_and_waker(at);
        assert_eq!(watchdog(5, async_gather((a, b))).await.unwrap(), ("a", "b"), "waking at poll {at}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_kept_shared_waker_woken_after_the_set_moved_to_another_task_is_not_lost() {
    // The first call returns its first completion and hands the rest back;
    // a new task gathers them, and the wake of the kept shared waker may go
    // to the first call's task: the new call must still poll the keeper.
    type Boxed = Pin<Box<dyn Future<Output = &'static str> + Send>>;
    watchdog(5, async {
        for at in 3..9 {
            let (a, b) = keeper_and_waker(at);
            let children: Vec<Boxed> = vec![Box::pin(a), Box::pin(b), Box::pin(yield_once("c"))];
            let w = tokio::spawn(async_wait(children).first_completed()).await.unwrap().unwrap();
            assert!(w.done.contains(&(2, "c")), "waking at poll {at}");
            let rest = tokio::spawn(async_gather(w.pending)).await.unwrap().unwrap();
            let mut all: Vec<_> = w.done.into_iter().chain(rest).collect();
            all.sort();
            assert_eq!(all, [(0, "a"), (1, "b"), (2, "c")], "waking at poll {at}");
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_that_keep_their_first_waker_woken_from_other_threads_all_complete() {
    // A few keepers among yielding children, each woken (through the waker
    // it kept) from another thread a few µs after the call starts: racing
    // the first pass, the rescan, the sweeps and the registration.
    watchdog(30, async {
        for round in 0..300u64 {
            let mut children: Vec<Pin<Box<dyn Future<Output = &'static str> + Send>>> = Vec::new();
            let mut wakers = Vec::new();
            for i in 0..6 {
                if i % 2 == 0 {
                    let (flag, first) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(None::<Waker>)));
                    children.push(Box::pin(KeepsOnlyFirst { flag: flag.clone(), first: first.clone() }));
                    wakers.push((flag, first));
                } else {
                    children.push(Box::pin(yield_once("y")));
                }
            }
            let delay = Duration::from_micros(round % 50);
            let sender = std::thread::spawn(move || {
                for (flag, first) in wakers {
                    std::thread::sleep(delay);
                    flag.store(true, SeqCst);
                    // The keeper may not have been polled yet: then its
                    // first poll sees the flag.
                    if let Some(w) = first.lock().unwrap().as_ref() {
                        w.wake_by_ref();
                    }
                }
            });
            let out = async_gather(children).await.unwrap();
            assert_eq!(out, ["a", "y", "a", "y", "a", "y"], "round {round}");
            sender.join().unwrap();
        }
    })
    .await;
}
