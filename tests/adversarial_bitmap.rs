//! Adversarial tests of the bitmap wakers (src/pending/wakers.rs): boundary
//! sizes, lazy liars, children that wake from other threads during and after their poll, keep odd
//! wakers, wake after completing, and sets re-waited elsewhere. Every call
//! runs under a watchdog: a lost wake fails the test instead of hanging it.

#![allow(dead_code, unused_imports)]

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use concurry::{ReturnWhen, async_gather, async_wait, gather, wait};
use futures::StreamExt;

/// Runs `f` on a thread of its own; fails if it does not return in `secs`.
mod adversarial;
use adversarial::*;

const BOUNDARY: [usize; 9] = [63, 64, 65, 127, 128, 4095, 4096, 4097, 4160];

/// Says it has `claimed` items, hands over whatever the inner one has.
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

#[test]
fn bitmap_boundary_sizes_both_runtimes() {
    watchdog(30, || {
        let mut rng = Rng(0xB17);
        for (r, &n) in BOUNDARY.iter().enumerate() {
            let rt = if r % 2 == 0 { rt_multi() } else { rt_current() };
            let (kids, stats) = make(&mut rng, n, true);
            let got = rt.block_on(async_gather(kids)).unwrap();
            verify(got, n, &stats, &format!("gather n {n}"));
            let (kids, stats) = make(&mut rng, n, true);
            let got = gather(kids).run().unwrap();
            verify(got, n, &stats, &format!("blocking n {n}"));
        }
    });
}

/// 70,000 children, each woken once from a thread: every summary word used.
#[test]
fn seventy_thousand_thread_woken() {
    struct Once(bool, u32);
    impl Future for Once {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.0 {
                return Poll::Ready(self.1);
            }
            self.0 = true;
            wakers().send(self.1 as usize, cx.waker().clone(), 0);
            Poll::Pending
        }
    }
    watchdog(30, || {
        let rt = rt_multi();
        let n = 70_000u32;
        let got = rt.block_on(async_gather((0..n).map(|i| Once(false, i)).collect::<Vec<_>>())).unwrap();
        check_outputs(got, n as usize, "70k");
    });
}

/// Lazy inputs at boundary sizes under a limit, with honest and lying hints.
#[test]
fn lazy_boundary_sizes_with_limit_and_liars() {
    watchdog(30, || {
        let rt = rt_multi();
        let mut rng = Rng(0x1A2);
        for (r, &n) in BOUNDARY.iter().enumerate() {
            for (k, &limit) in [1usize, 7, 64, 65].iter().enumerate() {
                if n > 200 && limit == 1 {
                    continue;
                }
                let (kids, stats) = make(&mut rng, n, true);
                let ctx = format!("lazy n {n} limit {limit}");
                let got = if (r + k) % 2 == 0 {
                    gather(concurry::lazy(kids)).limit(limit).run().unwrap()
                } else {
                    rt.block_on(async_gather(concurry::lazy(kids)).limit(limit)).unwrap()
                };
                verify(got, n, &stats, &ctx);
            }
            // Lies: says n, has fewer (n - 1) or more (n + 70).
            for real in [n - 1, n + 70] {
                let (kids, stats) = make(&mut rng, real, true);
                let ctx = format!("liar claimed {n} real {real}");
                let r = rt.block_on(async_gather(concurry::lazy(Liar(kids.into_iter(), n))).limit(64));
                if let Ok(mut v) = r {
                    v.sort_unstable();
                    v.dedup();
                    assert!(v.len() <= n, "{ctx}: more outputs than claimed");
                }
                check(&stats, &ctx);
            }
        }
    });
}

/// wait(FirstCompleted) on a large set, then the rest waited on another
/// thread's runtime while stale clones of completed children still fire.
#[test]
fn rewait_large_set_elsewhere_with_stale_wakes() {
    watchdog(30, || {
        let mut rng = Rng(0x5EED);
        for &n in &[65usize, 128, 4097] {
            let (kids, stats) = make(&mut rng, n, true);
            let rt = rt_current();
            let mut seen: Vec<u32> = Vec::new();
            let w = rt.block_on(async_wait(kids).return_when(ReturnWhen::FirstCompleted)).unwrap();
            seen.extend(w.done.into_iter().map(|(_, v)| v));
            let mut left = w.pending;
            let mut rounds = 0;
            while !left.is_empty() && rounds < 3 {
                rounds += 1;
                left = std::thread::spawn(move || {
                    let rt = rt_multi();
                    rt.block_on(async_wait(left).return_when(ReturnWhen::FirstCompleted)).unwrap()
                })
                .join()
                .map(|w| {
                    seen.extend(w.done.into_iter().map(|(_, v)| v));
                    w.pending
                })
                .unwrap();
            }
            let rest = std::thread::spawn(move || gather(left).run().unwrap()).join().unwrap();
            seen.extend(rest.into_iter().map(|(_, v)| v));
            verify(seen, n, &stats, &format!("rewait n {n}"));
        }
    });
}

/// Many small calls in a row on one thread: the pooled Shared gets stale
/// wakes from the earlier calls' completed children (clones sent to threads).
#[test]
fn pooled_state_with_stale_wakes_many_calls() {
    watchdog(30, || {
        let rt = rt_current();
        let mut rng = Rng(0x9001);
        for round in 0..400 {
            let n = [1usize, 2, 31, 63, 64][round % 5];
            let (kids, stats) = make(&mut rng, n, true);
            let got =
                if round % 2 == 0 { rt.block_on(async_gather(kids)).unwrap() } else { gather(kids).run().unwrap() };
            verify(got, n, &stats, &format!("pool round {round}"));
        }
    });
}

/// A child that completes at once while a thread still holds a clone of the
/// spare and wakes it later: the next children (same word) must not lose
/// their own wakes. Each of the others is woken exactly once from a thread.
#[test]
fn leaked_spare_clone_then_neighbours_wait() {
    struct Leak;
    impl Future for Leak {
        type Output = u32;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            wakers().send(0, cx.waker().clone(), 5000);
            Poll::Ready(u32::MAX)
        }
    }
    struct WakeOnce(u32, bool, Arc<AtomicUsize>, Arc<AtomicUsize>);
    impl Future for WakeOnce {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            self.2.fetch_add(1, SeqCst);
            if self.1 {
                return Poll::Ready(self.0);
            }
            self.1 = true;
            wakers().send(self.0 as usize + 1, cx.waker().clone(), 0);
            Poll::Pending
        }
    }
    watchdog(30, || {
        let rt = rt_multi();
        for &n in &[3usize, 63, 64, 65, 129] {
            for _ in 0..20 {
                let polls = Arc::new(AtomicUsize::new(0));
                let dummy = Arc::new(AtomicUsize::new(0));
                let kids: Vec<Boxed> = (0..n as u32)
                    .map(|i| {
                        if i % 3 == 0 {
                            Box::pin(Leak) as Boxed
                        } else {
                            Box::pin(WakeOnce(i, false, polls.clone(), dummy.clone())) as Boxed
                        }
                    })
                    .collect();
                let got = rt.block_on(async_gather(kids)).unwrap();
                assert_eq!(got.len(), n);
            }
        }
    });
}

/// Nested gathers (inner sets' wakers inside an outer set's poll), and a
/// race of a large set.
#[test]
fn nested_gathers_and_large_race() {
    watchdog(30, || {
        let rt = rt_multi();
        let mut rng = Rng(0xAE57);
        let mut all_stats = Vec::new();
        let mut outers: Vec<Pin<Box<dyn Future<Output = Vec<u32>> + Send>>> = Vec::new();
        for &n in &[63usize, 64, 65, 130] {
            let (kids, stats) = make(&mut rng, n, true);
            all_stats.extend(stats);
            outers.push(Box::pin(async move { async_gather(kids).await.unwrap() }));
        }
        let got = rt.block_on(async_gather(outers)).unwrap();
        for (v, n) in got.into_iter().zip([63usize, 64, 65, 130]) {
            check_outputs(v, n, "nested");
        }
        check(&all_stats, "nested");
        for &n in &[64usize, 65, 4097] {
            let (kids, stats) = make(&mut rng, n, true);
            let r = rt.block_on(concurry::async_race(kids));
            let _ = r.unwrap();
            drop(stats);
        }
    });
}

/// Well-behaved children (each wake only from a thread, after the poll,
/// no wake after done) at boundary sizes: polls <= wakes + 1.
#[test]
fn polls_at_most_wakes_plus_one_at_boundaries() {
    struct Steps(u32, u32, Arc<AtomicUsize>);
    impl Future for Steps {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            self.2.fetch_add(1, SeqCst);
            if self.1 == 0 {
                return Poll::Ready(self.0);
            }
            self.1 -= 1;
            wakers().send(self.0 as usize, cx.waker().clone(), 0);
            Poll::Pending
        }
    }
    watchdog(30, || {
        let rt = rt_multi();
        for &n in &[64usize, 65, 4096, 4097] {
            let counts: Vec<Arc<AtomicUsize>> = (0..n).map(|_| Arc::new(AtomicUsize::new(0))).collect();
            let kids: Vec<Steps> = (0..n as u32).map(|i| Steps(i, i % 4, counts[i as usize].clone())).collect();
            let got = rt.block_on(async_gather(kids)).unwrap();
            check_outputs(got, n, "steps");
            for (i, c) in counts.iter().enumerate() {
                let wakes = i % 4;
                assert!(c.load(SeqCst) <= wakes + 1, "n {n} child {i}: {} polls for {wakes} wakes", c.load(SeqCst));
            }
        }
    });
}

/// `.stream()` and `.iter()` at boundary sizes under limits straddling a word.
#[test]
fn stream_and_iter_at_boundaries() {
    watchdog(30, || {
        let rt = rt_multi();
        let mut rng = Rng(0x57EA);
        for (r, &n) in BOUNDARY.iter().enumerate() {
            for &limit in &[63usize, 64, 65, usize::MAX] {
                let (kids, stats) = make(&mut rng, n, true);
                let ctx = format!("stream/iter n {n} limit {limit}");
                let got: Vec<u32> = if r % 2 == 0 {
                    rt.block_on(async {
                        async_gather(kids).limit(limit).stream().map(|r| r.unwrap().1).collect::<Vec<_>>().await
                    })
                } else {
                    gather(kids).limit(limit).iter().map(|r| r.unwrap().1).collect()
                };
                verify(got, n, &stats, &ctx);
            }
        }
    });
}

/// Every child of a 64/65/128 set woken from 3 threads at once, many rounds:
/// wakes pile onto one word (and bit 63/64) while the engine takes it.
#[test]
fn same_word_wakes_from_many_threads() {
    struct Many(u32, u32, Arc<Stats>);
    impl Future for Many {
        type Output = u32;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.2.done.load(SeqCst) {
                self.2.after_done.fetch_add(1, SeqCst);
                return Poll::Pending;
            }
            if self.1 == 0 {
                self.2.done.store(true, SeqCst);
                for j in 0..3 {
                    wakers().send(j, cx.waker().clone(), 100);
                }
                return Poll::Ready(self.0);
            }
            self.1 -= 1;
            for j in 0..3 {
                wakers().send(self.0 as usize + j, cx.waker().clone(), (j as u32) * 300);
            }
            Poll::Pending
        }
    }
    watchdog(30, || {
        let rt = rt_multi();
        for round in 0..150 {
            let n = [64usize, 65, 128][round % 3];
            let stats: Vec<Arc<Stats>> = (0..n).map(|_| Arc::new(Stats::default())).collect();
            let kids: Vec<Many> =
                (0..n as u32).map(|i| Many(i, 1 + (i + round as u32) % 3, stats[i as usize].clone())).collect();
            let got =
                if round % 2 == 0 { rt.block_on(async_gather(kids)).unwrap() } else { gather(kids).run().unwrap() };
            verify(got, n, &stats, "same word");
        }
    });
}

/// Timeouts and races that drop large sets while thread wakes are in flight,
/// followed by calls on the same thread (pool) that must still end.
#[test]
fn dropped_large_sets_then_small_calls() {
    watchdog(30, || {
        let rt = rt_current();
        let mut rng = Rng(0xD0D0);
        for round in 0..30 {
            let n = [65usize, 4097, 64][round % 3];
            let (kids, _stats) = make(&mut rng, n, true);
            let _ = rt.block_on(async_gather(kids).timeout(Duration::from_micros(300)));
            let (kids, _stats) = make(&mut rng, n, true);
            let _ = rt.block_on(concurry::async_race(kids));
            let (kids, stats) = make(&mut rng, 64, true);
            let got = rt.block_on(async_gather(kids)).unwrap();
            verify(got, 64, &stats, "after drop");
        }
    });
}
