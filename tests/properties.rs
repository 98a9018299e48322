//! Property tests: random children (delays, Ok / Err / panicking tasks),
//! timeouts, every `ReturnWhen`, iterator mode and dropping early. Every
//! child is accounted for exactly once, no child is polled after it
//! completed, and every count reported agrees.
//!
//! The cases come from a small seeded generator (SplitMix64), 1,000 seeds a
//! run, the same ones every run: a failure names its seed and its case, and
//! `CONCURRY_PROPERTY_SEED=<seed>` reruns that one. Cases that once failed
//! are kept below, in `REGRESSIONS`, and run first.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use concurry::{Error, Partial, Progress, ReturnWhen, async_gather, async_try_gather, async_wait};
use futures::StreamExt;

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    Err,
    /// A spawned task that panics: its `JoinError` becomes an `Err`.
    Panic,
}

#[derive(Debug, Clone)]
struct ChildSpec {
    delay_ms: u64,
    outcome: Outcome,
}

#[derive(Debug, Clone)]
enum Call {
    Gather { return_exceptions: bool },
    Wait(ReturnWhen),
    Stream { return_exceptions: bool, take: Option<usize> },
}

#[derive(Debug, Clone)]
struct Case {
    children: Vec<ChildSpec>,
    timeout_ms: Option<u64>,
    call: Call,
    /// Drop the call's future after this many polls, if it is still running.
    drop_after_polls: Option<usize>,
    /// `.limit(n)`, or none.
    limit: Option<usize>,
}

/// SplitMix64: a seeded stream of numbers, enough to make cases from.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// A number in `lo..hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
    /// `true` with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn maybe(&mut self, p: f64, lo: usize, hi: usize) -> Option<usize> {
        self.chance(p).then(|| self.range(lo as u64, hi as u64) as usize)
    }
}

/// The case of `seed`: up to 23 children (3 in 5 Ok, 1 in 5 Err, 1 in 5 a
/// panicking task) with delays below 40 ms, a timeout half the time, any
/// call, and sometimes a drop after a few polls and a limit.
fn case(seed: u64) -> Case {
    let mut g = Gen(seed);
    let children = (0..g.range(0, 24))
        .map(|_| ChildSpec {
            delay_ms: g.range(0, 40),
            outcome: match g.range(0, 5) {
                0..=2 => Outcome::Ok,
                3 => Outcome::Err,
                _ => Outcome::Panic,
            },
        })
        .collect();
    let timeout_ms = g.chance(0.5).then(|| g.range(0, 50));
    let call = match g.range(0, 3) {
        0 => Call::Gather { return_exceptions: g.chance(0.5) },
        1 => Call::Wait(
            [ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted, ReturnWhen::FirstException][g.range(0, 3) as usize],
        ),
        _ => Call::Stream { return_exceptions: g.chance(0.5), take: g.maybe(0.5, 0, 10) },
    };
    let drop_after_polls = g.maybe(0.2, 0, 6);
    let limit = g.maybe(0.4, 1, 5);
    Case { children, timeout_ms, call, drop_after_polls, limit }
}

/// Cases that failed once (shrunk by the property tester used then).
fn regressions() -> Vec<Case> {
    let one = |outcome, call| Case {
        children: vec![ChildSpec { delay_ms: 0, outcome }],
        timeout_ms: None,
        call,
        drop_after_polls: None,
        limit: None,
    };
    vec![
        one(Outcome::Ok, Call::Wait(ReturnWhen::AllCompleted)),
        one(Outcome::Err, Call::Stream { return_exceptions: true, take: None }),
    ]
}

/// Fails the case with a message, as `assert!` would, but as a value.
macro_rules! check {
    ($cond:expr) => {
        if !$cond {
            return Err(format!("check failed: {}", stringify!($cond)));
        }
    };
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!("check failed: {}: {}", stringify!($cond), format!($($msg)+)));
        }
    };
}

macro_rules! check_eq {
    ($a:expr, $b:expr) => {
        check_eq!($a, $b, "")
    };
    ($a:expr, $b:expr, $($msg:tt)+) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(format!("{} == {}: {a:?} != {b:?} {}", stringify!($a), stringify!($b), format!($($msg)+)));
        }
    }};
}

/// What the children report about themselves.
#[derive(Default)]
struct Ledger {
    completed: Mutex<BTreeSet<usize>>,
    polled_after_completion: AtomicUsize,
    dropped: AtomicUsize,
}

type Out = Result<u32, String>;

struct Tracked {
    index: usize,
    inner: Pin<Box<dyn Future<Output = Out> + Send>>,
    done: bool,
    ledger: Arc<Ledger>,
}

impl Future for Tracked {
    type Output = Out;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out> {
        if self.done {
            self.ledger.polled_after_completion.fetch_add(1, Ordering::SeqCst);
            return Poll::Pending;
        }
        let out = std::task::ready!(self.inner.as_mut().poll(cx));
        self.done = true;
        self.ledger.completed.lock().unwrap().insert(self.index);
        Poll::Ready(out)
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.ledger.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

fn children(specs: &[ChildSpec], ledger: &Arc<Ledger>) -> Vec<Tracked> {
    specs
        .iter()
        .enumerate()
        .map(|(index, spec)| {
            let delay = Duration::from_millis(spec.delay_ms);
            let inner: Pin<Box<dyn Future<Output = Out> + Send>> = match spec.outcome {
                Outcome::Ok => Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Ok(index as u32)
                }),
                Outcome::Err => Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Err(format!("child {index} failed"))
                }),
                Outcome::Panic => {
                    let task = tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        panic!("child {index} panicked");
                    });
                    Box::pin(async move { task.await.map_err(|e| e.to_string()) })
                }
            };
            Tracked { index, inner, done: false, ledger: ledger.clone() }
        })
        .collect()
}

/// Polls `fut` to the end, or drops it after `limit` polls.
async fn drive<F: Future + Unpin>(mut fut: F, limit: Option<usize>) -> Option<F::Output> {
    let mut polls = 0;
    std::future::poll_fn(|cx| {
        if limit.is_some_and(|l| polls >= l) {
            return Poll::Ready(None);
        }
        polls += 1;
        Pin::new(&mut fut).poll(cx).map(Some)
    })
    .await
}

/// What the call handed back: keys whose output or error came back, and keys
/// handed back as pending.
#[derive(Default, Debug)]
struct Returned {
    outputs: Vec<usize>,
    pending: Vec<usize>,
    timeout_counts: Option<(usize, usize)>,
}

impl Returned {
    /// Records a timeout: its counts, the outputs it handed back (added to
    /// those already yielded), and the keys still pending.
    fn timed_out<T>(&mut self, error: Error, partial: concurry::Waited<concurry::shape::Indices, Tracked, T>) {
        let t = error.into_timeout().expect("only a timeout stops these calls");
        self.timeout_counts = Some((t.completed(), t.total()));
        self.outputs.extend(partial.done.iter().map(|(k, _)| *k));
        self.pending = partial.pending.keys().collect();
    }

    /// Records a stream's timeout: the outputs were yielded already; the
    /// pending children stayed in the stream.
    fn stream_timed_out<F>(&mut self, error: Error, pending: Option<concurry::Pending<concurry::shape::Indices, F>>) {
        let t = error.into_timeout().expect("only a timeout stops these calls");
        self.timeout_counts = Some((t.completed(), t.total()));
        self.pending = pending.expect("kept, with keep_partial").keys().collect();
    }
}

fn run_case(case: &Case) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let ledger = Arc::new(Ledger::default());
    let n = case.children.len();
    let progress_calls = Arc::new(Mutex::new(Vec::new()));
    let returned = rt.block_on(async {
        let kids = children(&case.children, &ledger);
        let log = progress_calls.clone();
        let progress = Progress::callback(move |done, total, _| log.lock().unwrap().push((done, total)));
        let timeout = case.timeout_ms.map(Duration::from_millis).unwrap_or(Duration::from_secs(3600));
        let limit = case.limit.unwrap_or(usize::MAX);
        let mut r = Returned::default();
        match &case.call {
            Call::Gather { return_exceptions: true } => {
                let fut = std::future::IntoFuture::into_future(
                    async_gather(kids).timeout(timeout).keep_partial().progress(progress).limit(limit),
                );
                match drive(fut, case.drop_after_polls).await {
                    Some(Ok(Partial::Complete(out))) => r.outputs = (0..out.len()).collect(),
                    Some(Ok(Partial::Interrupted { error, partial })) => r.timed_out(error, partial),
                    Some(Err(other)) => panic!("unexpected {other:?}"),
                    None => {}
                }
            }
            Call::Gather { return_exceptions: false } => {
                let fut = std::future::IntoFuture::into_future(
                    async_try_gather(kids).timeout(timeout).keep_partial().progress(progress).limit(limit),
                );
                match drive(fut, case.drop_after_polls).await {
                    Some(Ok(Partial::Complete(out))) => r.outputs = (0..out.len()).collect(),
                    Some(Ok(Partial::Interrupted { error, partial })) => r.timed_out(error, partial),
                    Some(Err(Error::Failed { key, .. })) => r.outputs = vec![key.index()],
                    Some(Err(other)) => panic!("unexpected {other:?}"),
                    None => {}
                }
            }
            Call::Wait(when) => {
                let fut = std::future::IntoFuture::into_future(
                    async_wait(kids).return_when(*when).timeout(timeout).keep_partial().progress(progress).limit(limit),
                );
                match drive(fut, case.drop_after_polls).await {
                    Some(Ok(Partial::Complete(w))) => {
                        r.outputs = w.done.iter().map(|(k, _)| *k).collect();
                        r.pending = w.pending.keys().collect();
                        assert_eq!(w.pending.len(), r.pending.len());
                        // Taken apart, the set gives back exactly its pending children.
                        let taken: Vec<usize> = w.pending.into_children().into_iter().map(|(k, _)| k).collect();
                        assert_eq!(taken, r.pending);
                    }
                    Some(Ok(Partial::Interrupted { error, partial })) => r.timed_out(error, partial),
                    Some(Err(other)) => panic!("unexpected {other:?}"),
                    None => {}
                }
            }
            Call::Stream { return_exceptions, take } => {
                let limit = take.unwrap_or(usize::MAX).min(case.drop_after_polls.unwrap_or(usize::MAX));
                if *return_exceptions {
                    let mut s =
                        async_gather(kids).timeout(timeout).keep_partial().progress(progress).limit(limit).stream();
                    while r.outputs.len() < limit {
                        match s.next().await {
                            Some(Ok((k, _))) => r.outputs.push(k),
                            Some(Err(error @ Error::Timeout(_))) => r.stream_timed_out(error, s.take_pending()),
                            Some(Err(other)) => panic!("unexpected {other:?}"),
                            None => break,
                        }
                    }
                } else {
                    let mut s =
                        async_try_gather(kids).timeout(timeout).keep_partial().progress(progress).limit(limit).stream();
                    while r.outputs.len() < limit {
                        match s.next().await {
                            Some(Ok((k, _))) => r.outputs.push(k),
                            Some(Err(Error::Failed { key, .. })) => r.outputs.push(key.index()),
                            Some(Err(error @ Error::Timeout(_))) => r.stream_timed_out(error, s.take_pending()),
                            Some(Err(other)) => panic!("unexpected {other:?}"),
                            None => break,
                        }
                    }
                }
            }
        }
        r
    });
    drop(rt);

    let completed = ledger.completed.lock().unwrap().clone();
    // Each child: returned, handed back pending, or dropped; never two of these.
    let outputs: BTreeSet<usize> = returned.outputs.iter().copied().collect();
    check_eq!(outputs.len(), returned.outputs.len(), "an output came back twice");
    let pending: BTreeSet<usize> = returned.pending.iter().copied().collect();
    check!(outputs.is_disjoint(&pending), "a child both returned and pending");
    check!(outputs.is_subset(&completed), "an output that never completed");
    check!(pending.is_disjoint(&completed), "a completed child handed back as pending");
    check!(pending.iter().all(|&k| k < n));
    // Everything is dropped once the call and what it returned are gone.
    check_eq!(ledger.dropped.load(Ordering::SeqCst), n);
    check_eq!(ledger.polled_after_completion.load(Ordering::SeqCst), 0);
    // Counts agree.
    if let Some((done, total)) = returned.timeout_counts {
        check_eq!(total, n);
        check_eq!(done, completed.len());
    }
    let calls = progress_calls.lock().unwrap();
    if let Some(&(first, total)) = calls.first() {
        check_eq!(first, 0);
        check_eq!(total, n);
        check!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "progress went backwards: {:?}", calls);
        check!(calls.iter().all(|&(done, _)| done <= completed.len()));
    }
    Ok(())
}

#[test]
fn every_child_is_accounted_for_once() {
    for case in regressions() {
        if let Err(failure) = run_case(&case) {
            panic!("regression case failed: {failure}\n{case:#?}");
        }
    }
    let seeds: Vec<u64> = match std::env::var("CONCURRY_PROPERTY_SEED") {
        Ok(seed) => vec![seed.parse().expect("CONCURRY_PROPERTY_SEED is a number")],
        Err(_) => (0..1000).collect(),
    };
    for seed in seeds {
        let case = case(seed);
        if let Err(failure) = run_case(&case) {
            panic!("seed {seed} failed (rerun: CONCURRY_PROPERTY_SEED={seed}): {failure}\n{case:#?}");
        }
    }
}
