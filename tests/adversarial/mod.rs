//! Helpers shared by the adversarial tests (`adversarial_*.rs`): a watchdog, runtimes, a seeded generator,
//! threads that wake what they are sent, and children with hostile waker
//! habits, with the counters that check them.
#![allow(dead_code, unreachable_pub)]

pub mod processes;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

pub fn watchdog<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(out) => out,
        // The body panicked: its own message, not a hang's.
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the body sent nothing and did not panic"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("watchdog: the call did not return within {secs} s (a hang)"),
    }
}

pub fn rt_current() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

pub fn rt_multi() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// A small xorshift.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A boxed child that may fail.
pub type Fallible = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

/// A waker to wake, after how many spins, and whom to tell once woken.
pub type WakeOrder = (Waker, u32, Option<mpsc::SyncSender<()>>);

/// Threads that wake what they are sent, optionally after a short spin.
pub struct Wakers {
    pub txs: Vec<mpsc::Sender<WakeOrder>>,
}

impl Wakers {
    pub fn new(n: usize) -> Self {
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
    pub fn send(&self, k: usize, w: Waker, spin: u32) {
        let _ = self.txs[k % self.txs.len()].send((w, spin, None));
    }
    /// Wakes `w` on another thread and waits for it: a wake from elsewhere
    /// during the caller's poll.
    pub fn wake_now(&self, k: usize, w: Waker) {
        let (ack, done) = mpsc::sync_channel(1);
        let _ = self.txs[k % self.txs.len()].send((w, 0, Some(ack)));
        let _ = done.recv();
    }
}

pub fn wakers() -> Arc<Wakers> {
    static W: std::sync::OnceLock<Arc<Wakers>> = std::sync::OnceLock::new();
    W.get_or_init(|| Arc::new(Wakers::new(3))).clone()
}

#[derive(Clone, Copy, Debug)]
pub enum How {
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

pub const HOWS: [How; 7] = [
    How::Yield,
    How::ThreadRace,
    How::ThreadDuringPoll,
    How::YieldAndKeep,
    How::FirstWaker,
    How::ManyThreads,
    How::CloneDropYield,
];

#[derive(Default)]
pub struct Stats {
    pub polls: AtomicUsize,
    pub after_done: AtomicUsize,
    pub done: AtomicBool,
}

/// A child that needs `steps` wakes, each done the way `how` says; its last
/// poll may also leave a clone behind that a thread wakes after completion.
pub struct Child {
    pub id: u32,
    pub steps: u32,
    pub how: How,
    pub wake_after_done: bool,
    pub first: Option<Waker>,
    pub stats: Arc<Stats>,
    pub w: Arc<Wakers>,
    pub spin: u32,
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

pub type Boxed = Pin<Box<dyn Future<Output = u32> + Send>>;

pub fn make(rng: &mut Rng, n: usize, wake_after_done: bool) -> (Vec<Boxed>, Vec<Arc<Stats>>) {
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

pub fn check(stats: &[Arc<Stats>], ctx: &str) {
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(s.after_done.load(SeqCst), 0, "{ctx}: child {i} polled after it completed");
    }
}

pub fn check_outputs(mut got: Vec<u32>, n: usize, ctx: &str) {
    got.sort_unstable();
    assert_eq!(got, (0..n as u32).collect::<Vec<_>>(), "{ctx}: outputs lost or duplicated");
}

pub const SIZES: [usize; 6] = [1, 2, 3, 10, 65, 200];

/// Checks a call's outputs (each child's once) and its children's counters
/// (never polled after completion).
pub fn verify(got: Vec<u32>, n: usize, stats: &[Arc<Stats>], ctx: &str) {
    check_outputs(got, n, ctx);
    check(stats, ctx);
}
