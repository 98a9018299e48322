//! Property tests: random children (delays, Ok / Err / panicking tasks),
//! timeouts, every `ReturnWhen`, iterator mode and dropping early. Every
//! child is accounted for exactly once, no child is polled after it
//! completed, and every count reported agrees.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use concurry::{Error, Partial, Progress, ReturnWhen, async_gather, async_try_gather, async_wait};
use futures::StreamExt;
use proptest::prelude::*;

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

fn case() -> impl Strategy<Value = Case> {
    let child = (0u64..40, prop_oneof![3 => Just(Outcome::Ok), 1 => Just(Outcome::Err), 1 => Just(Outcome::Panic)])
        .prop_map(|(delay_ms, outcome)| ChildSpec { delay_ms, outcome });
    let call = prop_oneof![
        any::<bool>().prop_map(|return_exceptions| Call::Gather { return_exceptions }),
        prop_oneof![Just(ReturnWhen::AllCompleted), Just(ReturnWhen::FirstCompleted), Just(ReturnWhen::FirstException)]
            .prop_map(Call::Wait),
        (any::<bool>(), proptest::option::of(0usize..10))
            .prop_map(|(return_exceptions, take)| Call::Stream { return_exceptions, take }),
    ];
    (
        proptest::collection::vec(child, 0..24),
        proptest::option::of(0u64..50),
        call,
        proptest::option::weighted(0.2, 0usize..6),
        proptest::option::weighted(0.4, 1usize..5),
    )
        .prop_map(|(children, timeout_ms, call, drop_after_polls, limit)| Case {
            children,
            timeout_ms,
            call,
            drop_after_polls,
            limit,
        })
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

fn run_case(case: &Case) -> Result<(), TestCaseError> {
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
    prop_assert_eq!(outputs.len(), returned.outputs.len(), "an output came back twice");
    let pending: BTreeSet<usize> = returned.pending.iter().copied().collect();
    prop_assert!(outputs.is_disjoint(&pending), "a child both returned and pending");
    prop_assert!(outputs.is_subset(&completed), "an output that never completed");
    prop_assert!(pending.is_disjoint(&completed), "a completed child handed back as pending");
    prop_assert!(pending.iter().all(|&k| k < n));
    // Everything is dropped once the call and what it returned are gone.
    prop_assert_eq!(ledger.dropped.load(Ordering::SeqCst), n);
    prop_assert_eq!(ledger.polled_after_completion.load(Ordering::SeqCst), 0);
    // Counts agree.
    if let Some((done, total)) = returned.timeout_counts {
        prop_assert_eq!(total, n);
        prop_assert_eq!(done, completed.len());
    }
    let calls = progress_calls.lock().unwrap();
    if let Some(&(first, total)) = calls.first() {
        prop_assert_eq!(first, 0);
        prop_assert_eq!(total, n);
        prop_assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0), "progress went backwards: {:?}", calls);
        prop_assert!(calls.iter().all(|&(done, _)| done <= completed.len()));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn every_child_is_accounted_for_once(case in case()) {
        run_case(&case)?;
    }
}
