//! Regression tests for the faults of the Python original, each showing that
//! we do not have it; plus panics, runtimes and `!Send` children.

mod common;

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{BoxFut, DropCounter, after};
use concurry::polling::Exponential;
use concurry::probe::probe;
use concurry::{PollingAlgorithm, ReturnWhen, async_gather, async_try_gather, async_wait};

/// Original fault: a timeout overshoots by up to one polling interval. Ours
/// has its own deadline timer: even with 500 ms between checks of a probe,
/// a 50 ms timeout fires at 50 ms.
#[tokio::test(start_paused = true)]
async fn timeout_does_not_wait_for_the_next_check() {
    let slow = Exponential::new(Duration::from_millis(500), Duration::from_secs(5), 2.0).unwrap();
    let started = tokio::time::Instant::now();
    let err =
        async_try_gather([probe(common::Never)]).polling(slow).timeout(Duration::from_millis(50)).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(50));
    assert_eq!(err.into_timeout().unwrap().elapsed(), Duration::from_millis(50));
}

/// Original fault: a cancelled child escapes `return_exceptions`. Ours: an
/// aborted task is an error value in its slot like any other.
#[tokio::test]
async fn a_cancelled_task_is_a_value_under_gather() {
    let slow = tokio::spawn(async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        1
    });
    slow.abort();
    let tasks = vec![tokio::spawn(async { 0 }), slow];
    let out = async_gather(tasks).await.unwrap();
    assert_eq!(*out[0].as_ref().unwrap(), 0);
    assert!(out[1].as_ref().unwrap_err().is_cancelled());
}

/// Original fault: on a timeout, tasks the caller owns are cancelled, and
/// the error then counts them as "completed". Ours cancels nothing on a
/// timeout (the pending children come back to the caller) and counts only
/// children that really completed.
#[tokio::test(start_paused = true)]
async fn timeout_neither_cancels_nor_miscounts() {
    let finished = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..4u64)
        .map(|i| {
            let finished = finished.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(if i == 0 { 10 } else { 1000 })).await;
                finished.fetch_add(1, Ordering::SeqCst);
                i
            })
        })
        .collect();
    let (err, had) = async_wait(tasks)
        .timeout(Duration::from_millis(100))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let timeout = err.into_timeout().unwrap();
    assert_eq!((timeout.completed(), timeout.total()), (1, 4));
    let waited = had;
    assert_eq!(waited.pending.len(), 3);
    // The caller still owns the three tasks, which run to the end.
    let rest = async_try_gather(waited.pending).await.unwrap();
    assert_eq!(rest, [(1, 1), (2, 2), (3, 3)]);
    assert_eq!(finished.load(Ordering::SeqCst), 4);
}

/// Original fault: a bad polling name is accepted silently when the input is
/// empty. Ours parses names on their own, before any input is seen: a bad
/// name is an error whatever follows.
#[test]
fn a_bad_polling_name_is_refused_even_for_an_empty_input() {
    let empty: Vec<std::future::Ready<u8>> = Vec::new();
    let result = "sometimes".parse::<PollingAlgorithm>().map(|alg| concurry::try_gather(empty).polling(alg).run());
    let err = result.expect_err("refused");
    assert!(err.to_string().contains("valid values are: fixed, adaptive, exponential, progressive"));
}

/// A panic inside an inline child (not a spawned task) unwinds out of the
/// poll that ran it, as in `join_all`; the other children are dropped with
/// the call. (A panic in a spawned task or thread is an error value instead:
/// see gather.rs and probe.rs.)
#[test]
fn a_panic_in_an_inline_child_propagates_and_drops_the_rest() {
    let drops = DropCounter::default();
    let mut children: Vec<BoxFut<u8>> = (0..3u8)
        .map(|i| {
            let guard = drops.guard();
            Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_secs(5)).await;
                i
            }) as BoxFut<u8>
        })
        .collect();
    children.push(Box::pin(async {
        tokio::time::sleep(Duration::from_millis(1)).await;
        panic!("inline child panicked")
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| concurry::try_gather(children).run()));
    let payload = outcome.unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inline child panicked"));
    assert_eq!(drops.count(), 3);
}

/// `!Send` children in a `LocalSet`: every async entry point works.
#[tokio::test(flavor = "current_thread")]
async fn local_set_with_non_send_children() {
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async {
            let shared = Rc::new(5);
            let children: Vec<_> = (0..3)
                .map(|i| {
                    let shared = shared.clone();
                    tokio::task::spawn_local(async move { *shared + i })
                })
                .collect();
            assert_eq!(async_try_gather(children).await.unwrap(), [5, 6, 7]);

            let shared = Rc::new(1);
            let inline: Vec<_> = (0..3)
                .map(|i| {
                    let shared = shared.clone();
                    async move {
                        tokio::task::yield_now().await;
                        *shared + i
                    }
                })
                .collect();
            let w = async_wait(inline).return_when(ReturnWhen::AllCompleted).await.unwrap();
            assert_eq!(w.done.len(), 3);
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_async_entry_point_on_a_multi_thread_runtime() {
    use futures::StreamExt;
    let out = async_try_gather(vec![after(5, 1), after(1, 2)]).await.unwrap();
    assert_eq!(out, [1, 2]);
    let w = async_wait(vec![after(300, 1), after(1, 2)]).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    assert_eq!(w.done.len(), 1);
    let n = async_try_gather(vec![after(3, 1), after(1, 2)]).stream().count().await;
    assert_eq!(n, 2);
}

/// The futures are `Send` when their children are, so they can be spawned.
#[test]
fn futures_and_streams_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let children = vec![after(1, 1u8)];
    let fut = std::future::IntoFuture::into_future(async_try_gather(children));
    assert_send(&fut);
    let stream = async_try_gather(vec![after(1, 1u8)]).stream();
    assert_send(&stream);
    let wait = std::future::IntoFuture::into_future(async_wait(vec![after(1, 1u8)]));
    assert_send(&wait);
    let err = async_try_gather(vec![after(1, Err::<u8, String>("e".into()))]);
    assert_send(&err);
    fn assert_error<E: std::error::Error + Send + Sync + 'static>() {}
    assert_error::<concurry::Error>();
}

/// `Debug` works for every public type without `T: Debug`, but `Waited`,
/// which shows the outputs it holds.
#[test]
fn debug_needs_no_debug_outputs() {
    struct Opaque;
    concurry::never_fails!(Opaque);
    let children = vec![std::future::ready(Opaque)];
    let g = async_try_gather(children).timeout(Duration::from_secs(1));
    let shown = format!("{g:?}");
    assert!(shown.contains("Gather") && shown.contains("timeout"), "{shown}");
    let fut = std::future::IntoFuture::into_future(async_wait(vec![std::future::ready(Opaque)]));
    assert!(format!("{fut:?}").contains("async_wait"));
    let w = concurry::wait(vec![std::future::ready(Opaque)]).run().unwrap();
    assert_eq!(format!("{:?}", w.pending), "Pending { keys: [] }");
    let w = concurry::wait(vec![std::future::ready(7)]).run().unwrap();
    assert_eq!(format!("{w:?}"), "Waited { done: [(0, 7)], pending: Pending { keys: [] } }");
}
