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
fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("watchdog: the call never returned (lost wake?)")
}

fn rt_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn rt_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A small xorshift.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A boxed child that may fail.
type Fallible = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

/// A waker to wake, after how many spins, and whom to tell once woken.
type WakeOrder = (Waker, u32, Option<mpsc::SyncSender<()>>);

/// Threads that wake what they are sent, optionally after a short spin.
struct Wakers {
    txs: Vec<mpsc::Sender<WakeOrder>>,
}

impl Wakers {
    fn new(n: usize) -> Self {
        let txs = (0..n)
            .map(|_| {
                let (tx, rx) = mpsc::channel::<(Waker, u32, Option<mpsc::SyncSender<()>>)>();
                std::thread::spawn(move || {
                    while let Ok((w, spin, ack)) = rx.recv() {
                        for _ in 0..spin {
                            std::hint::spin_loop();
                        }
                        w.wake();
                        if let Some(ack) = ack {
                            let _ = ack.send(());
                        }
                    }
                });
                tx
            })
            .collect();
        Self { txs }
    }
    fn send(&self, k: usize, w: Waker, spin: u32) {
        let _ = self.txs[k % self.txs.len()].send((w, spin, None));
    }
    /// Wakes `w` on another thread and waits for it: a wake from elsewhere
    /// during the caller's poll.
    fn wake_now(&self, k: usize, w: Waker) {
        let (ack, done) = mpsc::sync_channel(1);
        let _ = self.txs[k % self.txs.len()].send((w, 0, Some(ack)));
        let _ = done.recv();
    }
}

fn wakers() -> Arc<Wakers> {
    static W: std::sync::OnceLock<Arc<Wakers>> = std::sync::OnceLock::new();
    W.get_or_init(|| Arc::new(Wakers::new(3))).clone()
}

#[derive(Clone, Copy, Debug)]
enum How {
    /// wake_by_ref during the poll, keep nothing (a yield).
    Yield,
    /// Clone, hand to a thread that wakes it at once (races with the poll).
    ThreadRace,
    /// Clone, wake it on another thread and wait for that, then Pending.
    ThreadDuringPoll,
    /// wake_by_ref during the poll AND keep a clone that a thread wakes later.
    YieldAndKeep,
    /// Keep the first waker ever given; always wake that one from a thread.
    FirstWaker,
    /// Clone and wake from 3 threads at once.
    ManyThreads,
    /// Clone, drop it again in the poll, then wake by_ref (clone noise).
    CloneDropYield,
}

const HOWS: [How; 7] = [
    How::Yield,
    How::ThreadRace,
    How::ThreadDuringPoll,
    How::YieldAndKeep,
    How::FirstWaker,
    How::ManyThreads,
    How::CloneDropYield,
];

#[derive(Default)]
struct Stats {
    polls: AtomicUsize,
    after_done: AtomicUsize,
    done: AtomicBool,
}

/// A child that needs `steps` wakes, each done the way `how` says; its last
/// poll may also leave a clone behind that a thread wakes after completion.
struct Child {
    id: u32,
    steps: u32,
    how: How,
    wake_after_done: bool,
    first: Option<Waker>,
    stats: Arc<Stats>,
    w: Arc<Wakers>,
    spin: u32,
}

impl Future for Child {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        let this = &mut *self;
        if this.stats.done.load(SeqCst) {
            this.stats.after_done.fetch_add(1, SeqCst);
            return Poll::Pending;
        }
        this.stats.polls.fetch_add(1, SeqCst);
        if this.first.is_none() {
            this.first = Some(cx.waker().clone());
        }
        if this.steps == 0 {
            this.stats.done.store(true, SeqCst);
            if this.wake_after_done {
                // Wake the current waker now (same poll) and from a thread later.
                cx.waker().wake_by_ref();
                this.w.send(this.id as usize, cx.waker().clone(), this.spin);
            }
            return Poll::Ready(this.id);
        }
        this.steps -= 1;
        let k = this.id as usize + this.steps as usize;
        match this.how {
            How::Yield => cx.waker().wake_by_ref(),
            How::ThreadRace => this.w.send(k, cx.waker().clone(), this.spin),
            How::ThreadDuringPoll => this.w.wake_now(k, cx.waker().clone()),
            How::YieldAndKeep => {
                cx.waker().wake_by_ref();
                this.w.send(k, cx.waker().clone(), this.spin);
            }
            How::FirstWaker => this.w.send(k, this.first.clone().unwrap(), this.spin),
            How::ManyThreads => {
                for j in 0..3 {
                    this.w.send(k + j, cx.waker().clone(), this.spin);
                }
            }
            How::CloneDropYield => {
                let c = cx.waker().clone();
                drop(c.clone());
                drop(c);
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }
}

type Boxed = Pin<Box<dyn Future<Output = u32> + Send>>;

fn make(rng: &mut Rng, n: usize, wake_after_done: bool) -> (Vec<Boxed>, Vec<Arc<Stats>>) {
    let w = wakers();
    let mut kids = Vec::new();
    let mut stats = Vec::new();
    for id in 0..n as u32 {
        let s = Arc::new(Stats::default());
        let how = HOWS[rng.below(HOWS.len() as u64) as usize];
        kids.push(Box::pin(Child {
            id,
            steps: rng.below(4) as u32,
            how,
            wake_after_done: wake_after_done && rng.below(3) == 0,
            first: None,
            stats: s.clone(),
            w: w.clone(),
            spin: rng.below(2000) as u32,
        }) as Boxed);
        stats.push(s);
    }
    (kids, stats)
}

fn check(stats: &[Arc<Stats>], ctx: &str) {
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(s.after_done.load(SeqCst), 0, "{ctx}: child {i} polled after it completed");
    }
}

fn check_outputs(mut got: Vec<u32>, n: usize, ctx: &str) {
    got.sort_unstable();
    assert_eq!(got, (0..n as u32).collect::<Vec<_>>(), "{ctx}: outputs lost or duplicated");
}

const SIZES: [usize; 6] = [1, 2, 3, 10, 65, 200];

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
            check_outputs(got, n, &format!("gather n {n}"));
            check(&stats, &format!("gather n {n}"));
            let (kids, stats) = make(&mut rng, n, true);
            let got = gather(kids).run().unwrap();
            check_outputs(got, n, &format!("blocking n {n}"));
            check(&stats, &format!("blocking n {n}"));
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
                check_outputs(got, n, &ctx);
                check(&stats, &ctx);
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
            check_outputs(seen, n, &format!("rewait n {n}"));
            check(&stats, &format!("rewait n {n}"));
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
            check_outputs(got, n, &format!("pool round {round}"));
            check(&stats, &format!("pool round {round}"));
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
                check_outputs(got, n, &ctx);
                check(&stats, &ctx);
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
            check_outputs(got, n, "same word");
            check(&stats, "same word");
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
            check_outputs(got, 64, "after drop");
            check(&stats, "after drop");
        }
    });
}
