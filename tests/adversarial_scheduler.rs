//! Adversarial tests of the per-child-waker scheduler (src/pending): children
//! that wake from other threads during and after their poll, keep odd
//! wakers, wake after completing, and sets re-waited elsewhere. Every call
//! runs under a watchdog: a lost wake fails the test instead of hanging it.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use concurry::{ReturnWhen, async_gather, async_wait, gather, wait};
use futures::StreamExt;

/// Runs `f` on a thread of its own; fails if it does not return in `secs`.
mod adversarial;
use adversarial::*;

#[test]
fn stress_async_gather_both_runtimes() {
    // ADV_SCALE=n multiplies the rounds (and the watchdog) for long hunts.
    let scale: u64 = std::env::var("ADV_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    watchdog(40 * scale, move || {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ scale);
        for (r, rt) in [rt_current(), rt_multi()].into_iter().enumerate() {
            for round in 0..150 * scale {
                let n = SIZES[rng.below(SIZES.len() as u64) as usize];
                let (kids, stats) = make(&mut rng, n, round % 2 == 0);
                let out = rt.block_on(async_gather(kids)).unwrap();
                let ctx = format!("rt {r} round {round} n {n}");
                assert_eq!(out.len(), n);
                verify(out, n, &stats, &ctx);
            }
        }
    });
}

#[test]
fn stress_limit_stream_iter_run() {
    watchdog(40, || {
        let mut rng = Rng(0xDEAD_BEEF_1234_5678);
        let rt = rt_multi();
        for round in 0..240 {
            let n = SIZES[rng.below(SIZES.len() as u64) as usize];
            let limit = [1usize, 2, 3, 7][rng.below(4) as usize];
            let (kids, stats) = make(&mut rng, n, round % 3 == 0);
            let ctx = format!("round {round} n {n} limit {limit} mode {}", round % 4);
            let got: Vec<u32> = match round % 4 {
                0 => rt.block_on(async_gather(kids).limit(limit)).unwrap(),
                1 => rt.block_on(async {
                    let s = async_gather(kids).limit(limit).stream();
                    s.map(|r| r.unwrap().1).collect::<Vec<_>>().await
                }),
                2 => gather(kids).limit(limit).iter().map(|r| r.unwrap().1).collect(),
                _ => gather(kids).limit(limit).run().unwrap(),
            };
            verify(got, n, &stats, &ctx);
        }
    });
}

/// Children that behave (one wake per Pending, after the poll, no clone left
/// behind on completion) are polled exactly steps + 1 times.
#[test]
fn well_behaved_children_polled_wakes_plus_one() {
    watchdog(30, || {
        let rt = rt_multi();
        let mut rng = Rng(42);
        let w = wakers();
        for round in 0..200 {
            let n = SIZES[rng.below(SIZES.len() as u64) as usize];
            let mut kids = Vec::new();
            let mut stats = Vec::new();
            let mut steps = Vec::new();
            for id in 0..n as u32 {
                let s = Arc::new(Stats::default());
                let st = rng.below(4) as u32;
                let how = [How::Yield, How::ThreadRace, How::FirstWaker, How::CloneDropYield, How::ThreadDuringPoll]
                    [rng.below(5) as usize];
                kids.push(Box::pin(Child {
                    id,
                    steps: st,
                    how,
                    wake_after_done: false,
                    first: None,
                    stats: s.clone(),
                    w: w.clone(),
                    spin: rng.below(500) as u32,
                }) as Boxed);
                stats.push(s);
                steps.push(st);
            }
            let got =
                if round % 2 == 0 { rt.block_on(async_gather(kids)).unwrap() } else { gather(kids).run().unwrap() };
            check_outputs(got, n, "wb");
            for (i, s) in stats.iter().enumerate() {
                let p = s.polls.load(SeqCst);
                assert!(
                    p <= steps[i] as usize + 1,
                    "round {round} n {n}: child {i} (steps {}) polled {p} times",
                    steps[i]
                );
            }
            check(&stats, "wb");
        }
    });
}

/// Many calls in a row on one thread, each leaving wakers of finished
/// children in flight (woken later from threads): the per-thread pool must
/// not let an old call's wake land on a new call's children.
#[test]
fn many_calls_in_a_row_with_stale_wakers() {
    watchdog(40, || {
        let rt = rt_current();
        let mut rng = Rng(7);
        for round in 0..600 {
            let n = [1usize, 2, 3, 5][rng.below(4) as usize];
            let (kids, stats) = make(&mut rng, n, true);
            let got =
                if round % 3 == 0 { gather(kids).run().unwrap() } else { rt.block_on(async_gather(kids)).unwrap() };
            verify(got, n, &stats, &format!("round {round}"));
        }
    });
}

/// A child that wakes itself forever must not starve a child woken from a
/// thread: FirstCompleted returns with the other one.
#[test]
fn self_waking_forever_does_not_starve_others() {
    struct Spin;
    impl Future for Spin {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    watchdog(20, || {
        for flavor in 0..2 {
            let rt = if flavor == 0 { rt_current() } else { rt_multi() };
            for round in 0..50 {
                let mut rng = Rng(round + 1);
                let (mut kids, _stats) = make(&mut rng, 3, false);
                kids.insert(0, Box::pin(Spin));
                kids.push(Box::pin(std::future::pending()));
                let w = rt.block_on(async_wait(kids).return_when(ReturnWhen::FirstCompleted)).unwrap();
                assert!(!w.done.is_empty());
                drop(w.pending);
            }
        }
    });
}

/// `wait(FirstCompleted)` on one runtime, the rest gathered on another
/// thread (blocking) while wakers from the first call still fire.
#[test]
fn rewait_pending_on_another_thread() {
    watchdog(40, || {
        let mut rng = Rng(99);
        for round in 0..150 {
            let n = SIZES[rng.below(4) as usize + 1];
            let (kids, stats) = make(&mut rng, n, true);
            let rt = if round % 2 == 0 { rt_current() } else { rt_multi() };
            let w = rt.block_on(async_wait(kids).return_when(ReturnWhen::FirstCompleted)).unwrap();
            let mut got: Vec<u32> = w.done.into_iter().map(|(_, v)| v).collect();
            let pending = w.pending;
            let rest: Vec<(usize, u32)> = std::thread::spawn(move || {
                if round % 3 == 0 {
                    // Another step of FirstCompleted, then the rest.
                    let w2 = wait(pending).return_when(ReturnWhen::FirstCompleted).run().unwrap();
                    let mut v: Vec<(usize, u32)> = w2.done;
                    v.extend(gather(w2.pending).run().unwrap());
                    v
                } else {
                    let rt2 = rt_multi();
                    rt2.block_on(async_gather(pending)).unwrap()
                }
            })
            .join()
            .unwrap();
            got.extend(rest.into_iter().map(|(_, v)| v));
            verify(got, n, &stats, &format!("round {round}"));
        }
    });
}

/// 10,000 children woken from threads, on both runtimes and blocking.
#[test]
fn ten_thousand_thread_woken_children() {
    watchdog(40, || {
        let mut rng = Rng(12345);
        for mode in 0..3 {
            let (kids, stats) = make(&mut rng, 10_000, true);
            let got = match mode {
                0 => rt_current().block_on(async_gather(kids)).unwrap(),
                1 => rt_multi().block_on(async_gather(kids)).unwrap(),
                _ => gather(kids).limit(100).run().unwrap(),
            };
            verify(got, 10_000, &stats, &format!("mode {mode}"));
        }
    });
}

/// A child woken only through a waker some *other* child registered (a
/// shared slot, as a channel does): the waker handed over is whatever the
/// receiver was polled with.
#[test]
fn wake_through_other_child() {
    struct Recv(Arc<Mutex<(Option<Waker>, bool)>>);
    impl Future for Recv {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            let mut g = self.0.lock().unwrap();
            if g.1 {
                return Poll::Ready(1);
            }
            g.0 = Some(cx.waker().clone());
            Poll::Pending
        }
    }
    struct Send_(Arc<Mutex<(Option<Waker>, bool)>>, u32);
    impl Future for Send_ {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.1 > 0 {
                self.1 -= 1;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut g = self.0.lock().unwrap();
            g.1 = true;
            if let Some(w) = g.0.take() {
                w.wake();
            }
            Poll::Ready(2)
        }
    }
    watchdog(20, || {
        let rt = rt_multi();
        for round in 0..300u32 {
            let mut kids: Vec<Boxed> = Vec::new();
            for _ in 0..(round % 7 + 1) {
                let slot = Arc::new(Mutex::new((None, false)));
                if round % 2 == 0 {
                    kids.push(Box::pin(Recv(slot.clone())));
                    kids.push(Box::pin(Send_(slot, round % 3)));
                } else {
                    kids.push(Box::pin(Send_(slot.clone(), round % 3)));
                    kids.push(Box::pin(Recv(slot)));
                }
            }
            let n = kids.len();
            let got =
                if round % 3 == 0 { gather(kids).run().unwrap() } else { rt.block_on(async_gather(kids)).unwrap() };
            assert_eq!(got.len(), n);
        }
    });
}

/// A child keeps a clone of the spare, completes, and the clone is woken
/// later, during the poll of a child that kept the *same* spare as its own.
#[test]
fn completed_child_clone_wakes_next_owner() {
    static WOKEN: AtomicU64 = AtomicU64::new(0);
    struct LeakThenReady(Arc<Mutex<Option<Waker>>>);
    impl Future for LeakThenReady {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            *self.0.lock().unwrap() = Some(cx.waker().clone());
            Poll::Ready(0)
        }
    }
    /// Needs one real wake from a thread; while pending, wakes the leaked
    /// waker (stale) in its poll.
    struct Waiter(Arc<Mutex<Option<Waker>>>, u32, Arc<Stats>);
    impl Future for Waiter {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.2.done.load(SeqCst) {
                self.2.after_done.fetch_add(1, SeqCst);
            }
            if let Some(w) = self.0.lock().unwrap().as_ref() {
                w.wake_by_ref();
                WOKEN.fetch_add(1, SeqCst);
            }
            if self.1 == 0 {
                self.2.done.store(true, SeqCst);
                return Poll::Ready(1);
            }
            self.1 -= 1;
            wakers().send(self.1 as usize, cx.waker().clone(), 100);
            Poll::Pending
        }
    }
    watchdog(20, || {
        let rt = rt_current();
        for round in 0..300u32 {
            let leak = Arc::new(Mutex::new(None));
            let stats = Arc::new(Stats::default());
            let kids: Vec<Boxed> = vec![
                Box::pin(LeakThenReady(leak.clone())),
                Box::pin(Waiter(leak.clone(), round % 4 + 1, stats.clone())),
                Box::pin(Waiter(leak.clone(), round % 3 + 1, Arc::new(Stats::default()))),
            ];
            let got =
                if round % 2 == 0 { gather(kids).run().unwrap() } else { rt.block_on(async_gather(kids)).unwrap() };
            assert_eq!(got, [0, 1, 1]);
            assert_eq!(stats.after_done.load(SeqCst), 0);
            // The leaked waker outlives the call: wake it once more.
            if let Some(w) = leak.lock().unwrap().take() {
                w.wake();
            }
        }
    });
}

/// Timeout and cancel paths with thread-woken children: no panic, no hang.
#[test]
fn timeout_and_cancel_with_busy_wakers() {
    watchdog(30, || {
        let rt = rt_multi();
        let mut rng = Rng(5);
        for round in 0..60 {
            let (mut kids, stats) = make(&mut rng, 50, true);
            kids.push(Box::pin(std::future::pending()));
            let token = tokio_util::sync::CancellationToken::new();
            let t2 = token.clone();
            let r = rt.block_on(async move {
                if round % 2 == 0 {
                    async_gather(kids).timeout(Duration::from_millis(5)).await
                } else {
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(3)).await;
                        t2.cancel();
                    });
                    async_gather(kids).cancel_on(token).await
                }
            });
            assert!(r.is_err());
            check(&stats, &format!("round {round}"));
        }
    });
}

/// A child that wakes the spare waker and completes in the same poll sets
/// its own bit, which the loop skips: the next child polled with the spare,
/// which never woke, is polled once.
#[test]
fn neighbour_of_wake_and_complete_child_polled_for_nothing() {
    struct WakeAndReady;
    impl Future for WakeAndReady {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            cx.waker().wake_by_ref();
            Poll::Ready(0)
        }
    }
    /// Never woken: pending until a flag is set, counting its polls.
    struct Idle(Arc<AtomicUsize>);
    impl Future for Idle {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<u32> {
            self.0.fetch_add(1, SeqCst);
            Poll::Pending
        }
    }
    watchdog(20, || {
        let polls = Arc::new(AtomicUsize::new(0));
        let kids: Vec<Boxed> = vec![Box::pin(WakeAndReady), Box::pin(Idle(polls.clone()))];
        let w = rt_current().block_on(async_wait(kids).return_when(ReturnWhen::FirstCompleted)).unwrap();
        assert_eq!(w.done.len(), 1);
        drop(w.pending);
        assert_eq!(polls.load(SeqCst), 1, "a child that was never woken was polled {} times", polls.load(SeqCst));
    });
}

/// Tokio's own wakers: `yield_now` (deferred wake after the task's poll),
/// oneshot channels, spawned tasks, `sleep(0)`, past the coop budget (128).
#[test]
fn tokio_primitives_past_the_budget() {
    watchdog(40, || {
        for flavor in 0..3 {
            for round in 0..20u32 {
                let n = [5usize, 130, 300, 1000][(round % 4) as usize];
                let rt = if flavor == 0 { rt_current() } else { rt_multi() };
                let _g = rt.enter();
                let mut kids: Vec<Boxed> = Vec::new();
                let mut txs = Vec::new();
                for i in 0..n as u32 {
                    match i % 5 {
                        0 => kids.push(Box::pin(async move {
                            for _ in 0..(i % 3) {
                                tokio::task::yield_now().await;
                            }
                            i
                        })),
                        1 => {
                            let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
                            txs.push((i, tx));
                            kids.push(Box::pin(async move { rx.await.unwrap() }));
                        }
                        2 => {
                            let h = rt.spawn(async move {
                                tokio::task::yield_now().await;
                                i
                            });
                            kids.push(Box::pin(async move { h.await.unwrap() }));
                        }
                        3 => kids.push(Box::pin(async move {
                            tokio::time::sleep(Duration::from_millis(0)).await;
                            i
                        })),
                        _ => kids.push(Box::pin(std::future::ready(i))),
                    }
                }
                let sender = std::thread::spawn(move || {
                    for (i, tx) in txs {
                        let _ = tx.send(i);
                    }
                });
                let got = if flavor == 2 {
                    drop(_g);
                    gather(kids).limit(if round % 2 == 0 { 7 } else { usize::MAX }).run().unwrap()
                } else {
                    rt.block_on(async_gather(kids).limit(if round % 2 == 0 { 3 } else { usize::MAX })).unwrap()
                };
                sender.join().unwrap();
                check_outputs(got, n, &format!("flavor {flavor} round {round}"));
            }
        }
    });
}

/// The message a call gives when polled again after a child's panic
/// unwound through it.
const RESUMED: &str = "polled again after one of its children panicked";

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A child whose first poll (in the first pass, with the spare) panics
/// after it handed its waker to a thread, caught by the caller around the
/// stream's `next`. The set is half way through a poll then (the child
/// counted, not listed); asked again, the stream says so with a panic of
/// its own, as an `async fn` resumed after panicking does: it must not
/// wait for ever.
#[test]
fn stream_after_a_caught_child_panic_says_so() {
    struct PanicOnce;
    impl Future for PanicOnce {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            wakers().send(0, cx.waker().clone(), 100_000);
            panic!("child panics");
        }
    }
    let messages = watchdog(10, || {
        let rt = rt_current();
        rt.block_on(async {
            let kids: Vec<Boxed> = vec![
                Box::pin(async {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    1
                }),
                Box::pin(PanicOnce),
            ];
            let mut s = async_gather(kids).stream();
            let mut messages = Vec::new();
            for _ in 0..2 {
                match futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(s.next())).await {
                    Err(payload) => messages.push(panic_text(&*payload)),
                    Ok(item) => panic!("an item after the child's panic: {:?}", item),
                }
            }
            messages
        })
    });
    assert_eq!(messages[0], "child panics");
    assert!(messages[1].contains(RESUMED), "{:?}", messages[1]);
}

/// The same in the blocking iterator, with a child that keeps its waker,
/// panics at its second poll, and is woken from a thread after the panic.
#[test]
fn iter_after_a_caught_child_panic_says_so() {
    struct KeepWakePanic(Arc<AtomicUsize>);
    impl Future for KeepWakePanic {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            match self.0.fetch_add(1, SeqCst) + 1 {
                1 => {
                    wakers().send(1, cx.waker().clone(), 0);
                    Poll::Pending
                }
                2 => {
                    wakers().send(1, cx.waker().clone(), 1_000_000);
                    panic!("second poll panics")
                }
                _ => Poll::Ready(9),
            }
        }
    }
    let polls = Arc::new(AtomicUsize::new(0));
    let p2 = polls.clone();
    let messages = watchdog(10, move || {
        let kids: Vec<Boxed> = vec![Box::pin(KeepWakePanic(p2)), Box::pin(std::future::ready(1))];
        let mut it = gather(kids).iter();
        let mut got = Vec::new();
        let mut messages = Vec::new();
        while messages.len() < 2 {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| it.next())) {
                Ok(Some(r)) => got.push(r.unwrap().1),
                Ok(None) => panic!("the iterator ended after a child's panic, with {got:?}"),
                Err(payload) => messages.push(panic_text(&*payload)),
            }
        }
        messages
    });
    assert_eq!(messages[0], "second poll panics");
    assert!(messages[1].contains(RESUMED), "{:?}", messages[1]);
}

/// Nested calls (a child that runs its own gather, whose children wake from
/// threads), fail-fast `try_gather` dropping children with wakes in
/// flight, and iterators dropped half way, over and over on one thread.
#[test]
fn nested_fail_fast_and_dropped_iters() {
    watchdog(40, || {
        let rt = rt_multi();
        let mut rng = Rng(77);
        for round in 0..200u32 {
            let n = [1usize, 3, 10][rng.below(3) as usize];
            match round % 3 {
                0 => {
                    let mut outer: Vec<Boxed> = Vec::new();
                    let mut all = Vec::new();
                    for k in 0..3u32 {
                        let (inner, stats) = make(&mut rng, n, true);
                        all.extend(stats);
                        outer.push(Box::pin(async move {
                            let v = async_gather(inner).limit(2).await.unwrap();
                            assert_eq!(v.len(), n);
                            k
                        }));
                    }
                    let got = if round % 2 == 0 {
                        gather(outer).run().unwrap()
                    } else {
                        rt.block_on(async_gather(outer)).unwrap()
                    };
                    verify(got, 3, &all, "nested");
                }
                1 => {
                    let (kids, stats) = make(&mut rng, n, true);
                    let fail_at = rng.below(n as u64) as u32;
                    let kids: Vec<Fallible> = kids
                        .into_iter()
                        .enumerate()
                        .map(|(i, k)| {
                            Box::pin(async move {
                                let v = k.await;
                                if i as u32 == fail_at { Err("boom".to_string()) } else { Ok(v) }
                            }) as Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>
                        })
                        .collect();
                    let r = rt.block_on(concurry::async_try_gather(kids));
                    assert!(r.is_err());
                    check(&stats, "fail fast");
                }
                _ => {
                    let (kids, stats) = make(&mut rng, n, true);
                    let mut it = gather(kids).iter();
                    let take = rng.below(n as u64 + 1) as usize;
                    for _ in 0..take {
                        it.next().unwrap().unwrap();
                    }
                    drop(it);
                    check(&stats, "iter dropped");
                }
            }
        }
    });
}

/// A child that wakes itself forever (by_ref, or from a thread through its
/// own waker) must not hold off the deadline.
#[test]
fn spinning_children_do_not_hold_off_the_timeout() {
    struct Spin(bool);
    impl Future for Spin {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 {
                wakers().send(0, cx.waker().clone(), 0);
            } else {
                cx.waker().wake_by_ref();
            }
            Poll::Pending
        }
    }
    watchdog(20, || {
        for mode in 0..4 {
            let kids: Vec<Boxed> = vec![Box::pin(Spin(mode % 2 == 0)), Box::pin(Spin(true)), Box::pin(Spin(false))];
            let start = std::time::Instant::now();
            let r = if mode < 2 {
                rt_current().block_on(async_gather(kids).timeout(Duration::from_millis(50)))
            } else {
                gather(kids).timeout(Duration::from_millis(50)).run()
            };
            assert!(r.unwrap_err().is_timeout());
            assert!(start.elapsed() < Duration::from_secs(5), "mode {mode}: {:?}", start.elapsed());
        }
    });
}

/// Driven by another executor (futures' block_on: its waker unparks a
/// thread), and blocking calls from many plain threads at once.
#[test]
fn other_executor_and_parallel_blocking_callers() {
    watchdog(40, || {
        let mut rng = Rng(2024);
        for round in 0..60 {
            let n = SIZES[rng.below(SIZES.len() as u64) as usize];
            let (kids, stats) = make(&mut rng, n, true);
            let got = futures::executor::block_on(async_gather(kids)).unwrap();
            verify(got, n, &stats, &format!("futures executor round {round}"));
        }
        let hs: Vec<_> = (0..4u64)
            .map(|t| {
                std::thread::spawn(move || {
                    let mut rng = Rng(t + 1);
                    for round in 0..60 {
                        let n = SIZES[rng.below(SIZES.len() as u64) as usize];
                        let (kids, stats) = make(&mut rng, n, true);
                        let got = if round % 2 == 0 {
                            gather(kids).run().unwrap()
                        } else {
                            let w = wait(kids).return_when(ReturnWhen::FirstCompleted).run().unwrap();
                            let mut v: Vec<u32> = w.done.into_iter().map(|(_, v)| v).collect();
                            v.extend(gather(w.pending).limit(1).run().unwrap().into_iter().map(|(_, v)| v));
                            v
                        };
                        verify(got, n, &stats, &format!("thread {t} round {round}"));
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    });
}

/// Edges: a stream and an iterator asked again after their end; an empty
/// `Pending` waited and gathered again; a single child.
#[test]
fn ends_and_empties() {
    watchdog(20, || {
        let rt = rt_current();
        let mut rng = Rng(3);
        let (kids, _) = make(&mut rng, 3, true);
        let mut it = gather(kids).iter();
        assert_eq!(it.by_ref().count(), 3);
        assert!(it.next().is_none());
        assert!(it.next().is_none());
        let (kids, _) = make(&mut rng, 3, true);
        rt.block_on(async {
            let mut s = async_gather(kids).stream();
            let mut c = 0;
            while let Some(r) = s.next().await {
                r.unwrap();
                c += 1;
            }
            assert_eq!(c, 3);
            assert!(s.next().await.is_none());
        });
        let (kids, _) = make(&mut rng, 1, true);
        let w = wait(kids).run().unwrap();
        assert!(w.pending.is_empty());
        let w2 = wait(w.pending).return_when(ReturnWhen::FirstCompleted).run().unwrap();
        assert!(w2.done.is_empty());
        assert!(gather(w2.pending).run().unwrap().is_empty());
    });
}

/// Blocking calls from a multi-thread worker (`block_in_place`) and from
/// `spawn_blocking`, with thread-woken children and tokio timers.
#[test]
fn blocking_from_workers_and_spawn_blocking() {
    watchdog(40, || {
        let rt = rt_multi();
        rt.block_on(async {
            let mut hs = Vec::new();
            for t in 0..4u64 {
                hs.push(tokio::spawn(async move {
                    let mut rng = Rng(t + 100);
                    for round in 0..40 {
                        let n = SIZES[rng.below(SIZES.len() as u64) as usize];
                        let (mut kids, stats) = make(&mut rng, n, true);
                        kids.push(Box::pin(async move {
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            n as u32
                        }));
                        let got = if t % 2 == 0 {
                            gather(kids).limit(2).run().unwrap()
                        } else {
                            tokio::task::spawn_blocking(move || gather(kids).run().unwrap()).await.unwrap()
                        };
                        verify(got, n + 1, &stats, &format!("task {t} round {round}"));
                        tokio::task::yield_now().await;
                    }
                }));
            }
            for h in hs {
                h.await.unwrap();
            }
        });
    });
}

/// The stream handed from task to task after each item (a new task waker
/// every time), and polled under `select!` beside a ticking timer, with
/// children woken from threads.
#[test]
fn stream_moved_between_tasks_and_selected() {
    watchdog(40, || {
        let rt = rt_multi();
        let mut rng = Rng(31337);
        for round in 0..80 {
            let n = SIZES[rng.below(SIZES.len() as u64) as usize];
            let (kids, stats) = make(&mut rng, n, true);
            let got = rt.block_on(async move {
                let mut s = Box::pin(async_gather(kids).limit(if round % 2 == 0 { 2 } else { usize::MAX }).stream());
                let mut got = Vec::new();
                loop {
                    let (s2, item) = if round % 3 == 0 {
                        let mut tick = tokio::time::interval(Duration::from_micros(50));
                        let item = loop {
                            tokio::select! {
                                item = s.next() => break item,
                                _ = tick.tick() => {}
                            }
                        };
                        (s, item)
                    } else {
                        tokio::spawn(async move {
                            let item = s.next().await;
                            (s, item)
                        })
                        .await
                        .unwrap()
                    };
                    s = s2;
                    match item {
                        Some(r) => got.push(r.unwrap().1),
                        None => break,
                    }
                }
                got
            });
            verify(got, n, &stats, &format!("round {round}"));
        }
    });
}

/// Lazy inputs under a limit (slots freed and reused as children finish),
/// with children woken from threads; some iterators over-state their length.
#[test]
fn lazy_under_limit_with_thread_wakes() {
    /// Says it has `claimed` items, hands over `real`.
    struct Liar<I>(I, usize);
    impl<I: Iterator> Iterator for Liar<I> {
        type Item = I::Item;
        fn next(&mut self) -> Option<I::Item> {
            self.0.next()
        }
        fn size_hint(&self) -> (usize, Option<usize>) {
            (self.1, Some(self.1))
        }
    }
    watchdog(40, || {
        let rt = rt_multi();
        let mut rng = Rng(555);
        for round in 0..200 {
            let n = SIZES[rng.below(SIZES.len() as u64) as usize];
            let limit = [1usize, 2, 5][rng.below(3) as usize];
            let (kids, stats) = make(&mut rng, n, true);
            let lie = round % 4 == 0;
            let ctx = format!("round {round} n {n} limit {limit} lie {lie}");
            let got: Vec<u32> = if lie {
                let it = Liar(kids.into_iter(), n + 3);
                let r = if round % 2 == 0 {
                    gather(concurry::lazy(it)).limit(limit).run()
                } else {
                    rt.block_on(async_gather(concurry::lazy(it)).limit(limit))
                };
                // Either the call says children were missing, or it gives
                // the ones handed over: never a hang, never a duplicate.
                match r {
                    Ok(v) => v,
                    Err(_) => {
                        check(&stats, &ctx);
                        continue;
                    }
                }
            } else if round % 2 == 0 {
                gather(concurry::lazy(kids)).limit(limit).run().unwrap()
            } else {
                rt.block_on(async_gather(concurry::lazy(kids)).limit(limit)).unwrap()
            };
            verify(got, n, &stats, &ctx);
        }
    });
}

/// Tokio's budget spent by the task, then a nested non-Tokio executor
/// (futures' `block_on`) drives a gather of ready futures: the engine sees
/// no budget at every poll and yields forever (busy hang), where
/// `join_all` returns at once.
#[test]
fn nested_executor_with_spent_budget() {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let rt = rt_current();
        let r = rt.block_on(async {
            let (ctx, mut crx) = tokio::sync::mpsc::unbounded_channel::<u32>();
            for i in 0..1000 {
                ctx.send(i).unwrap();
            }
            // Spend the budget (128 units) on ready receives.
            let mut spent = 0;
            while tokio::task::coop::has_budget_remaining() {
                crx.recv().await.unwrap();
                spent += 1;
                if spent > 500 {
                    break;
                }
            }
            let peers = futures::executor::block_on(futures::future::join_all((0..4u32).map(std::future::ready)));
            assert_eq!(peers, [0, 1, 2, 3]);
            // Polled by hand, at most 100,000 times, so that a failure does
            // not leave a thread spinning for the rest of the run.
            let mut call = Box::pin(async_gather((0..4u32).map(std::future::ready).collect::<Vec<_>>()));
            let mut polls = 0u32;
            futures::executor::block_on(futures::future::poll_fn(move |cx| {
                polls += 1;
                if polls > 100_000 {
                    return Poll::Ready(Err(polls));
                }
                call.as_mut().poll(cx).map(|r| Ok(r.unwrap()))
            }))
        });
        let _ = tx.send(r);
    });
    let got = rx.recv_timeout(Duration::from_secs(20)).expect("watchdog");
    match got {
        Ok(v) => assert_eq!(v, [0, 1, 2, 3]),
        Err(polls) => panic!(
            "a gather of 4 ready futures was still Pending after {polls} polls: it yields forever on a spent budget"
        ),
    }
}
