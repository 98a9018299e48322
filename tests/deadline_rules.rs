//! One rule for every way a call can be cut short, in every entry point:
//! what is complete is taken first, the return condition is checked before
//! the deadline, and a token that fires is a deadline that passes at that
//! instant. And a builder whose call has begun cannot be reconfigured
//! silently.

mod common;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use common::after;
use concurry::{Error, ReturnWhen, async_gather, async_try_gather, async_wait, gather, nested, try_gather, wait};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

type Child = Pin<Box<dyn Future<Output = u8> + Send>>;

async fn watchdog<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), fut).await.expect("watchdog: the call hung")
}

fn cancelled() -> CancellationToken {
    let token = CancellationToken::new();
    token.cancel();
    token
}

// ---- a zero timeout over finished tasks, read as a stream ----

/// Fault: read from a task after 128 items had spent its budget, the stream
/// timed out at `127 of 300` though all 300 had finished before the call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_timeout_stream_over_finished_tasks_yields_them_all() {
    for _ in 0..5 {
        let tasks: Vec<_> = (0..300).map(|i| tokio::spawn(async move { i })).collect();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let stream = async_try_gather(tasks).timeout(Duration::ZERO).stream();
        tokio::time::sleep(Duration::from_millis(3)).await;
        let items: Vec<_> = watchdog(stream.collect::<Vec<_>>()).await;
        let failed: Vec<_> = items.iter().filter_map(|i| i.as_ref().err()).map(ToString::to_string).collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(items.len(), 300);
    }
    // The other forms, for the same input.
    let tasks: Vec<_> = (0..300).map(|i| tokio::spawn(async move { i })).collect();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(watchdog(async_try_gather(tasks).timeout(Duration::ZERO)).await.unwrap().len(), 300);
    let out = tokio::task::spawn_blocking(|| {
        let tasks: Vec<_> = (0..300).map(|i| concurry::shared_runtime().spawn(async move { i })).collect();
        std::thread::sleep(Duration::from_millis(10));
        let iter = try_gather(tasks).timeout(Duration::ZERO).iter().filter(Result::is_ok).count();
        let tasks: Vec<_> = (0..300).map(|i| concurry::shared_runtime().spawn(async move { i })).collect();
        std::thread::sleep(Duration::from_millis(10));
        (iter, try_gather(tasks).timeout(Duration::ZERO).run().unwrap().len())
    });
    assert_eq!(watchdog(out).await.unwrap(), (300, 300));
}

// ---- a fired token is a deadline that passed at that instant ----

/// Fault: a child complete, then the token cancelled before the next poll:
/// `FirstCompleted` failed with `Cancelled, 0 of 2`, where a zero timeout
/// returned the child.
#[tokio::test]
async fn a_cancelled_token_checks_the_return_condition_first_as_a_timeout_does() {
    let children = || vec![Box::pin(async { 1u8 }) as Child, Box::pin(std::future::pending())];
    let by_token = async_wait(children()).first_completed().cancel_on(cancelled()).await.unwrap();
    let by_deadline = async_wait(children()).first_completed().timeout(Duration::ZERO).await.unwrap();
    assert_eq!((by_token.done, by_deadline.done), (vec![(0, 1)], vec![(0, 1)]));
    let blocking = tokio::task::spawn_blocking(move || {
        wait(children()).return_when(ReturnWhen::FirstCompleted).cancel_on(cancelled()).run().unwrap()
    });
    let w = watchdog(blocking).await.unwrap();
    assert_eq!((w.done, w.pending.len()), (vec![(0, 1)], 1));
    // What cannot complete still ends as `Cancelled`, with the counts.
    let err = async_wait(children()).cancel_on(cancelled()).await.unwrap_err();
    assert!(err.is_cancelled(), "{err}");
    assert!(err.to_string().contains("1 of 2"), "{err}");
}

/// Fault: an empty input with a cancelled token failed (`0 of 0`), where a
/// zero timeout gave `Ok([])`; the same for children that are all ready.
#[tokio::test]
async fn a_cancelled_token_over_ready_or_no_children_succeeds_in_every_entry_point() {
    let none: Vec<Child> = Vec::new();
    assert!(async_gather(none).cancel_on(cancelled()).await.unwrap().is_empty());
    let ready = || vec![Box::pin(async { 1u8 }) as Child, Box::pin(async { 2 })];
    assert_eq!(async_gather(ready()).cancel_on(cancelled()).await.unwrap(), [1, 2]);
    assert_eq!(async_wait(ready()).cancel_on(cancelled()).await.unwrap().done.len(), 2);
    let streamed: Vec<_> = async_gather(ready()).cancel_on(cancelled()).stream().collect().await;
    assert!(streamed.iter().all(Result::is_ok) && streamed.len() == 2, "{streamed:?}");
    let blocking = tokio::task::spawn_blocking(move || {
        let none: Vec<Child> = Vec::new();
        assert!(gather(none).cancel_on(cancelled()).run().unwrap().is_empty());
        assert_eq!(try_gather(vec![async { Ok::<_, String>(3) }]).cancel_on(cancelled()).run().unwrap(), [3]);
        assert_eq!(wait(ready()).cancel_on(cancelled()).run().unwrap().done.len(), 2);
        let items: Vec<_> = gather(ready()).cancel_on(cancelled()).iter().collect();
        assert!(items.iter().all(Result::is_ok) && items.len() == 2);
    });
    watchdog(blocking).await.unwrap();
}

/// The same rule holds for a token that fires mid-call, in each form.
#[tokio::test(start_paused = true)]
async fn a_token_fired_mid_call_ends_it_with_what_completed() {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        fire.cancel();
    });
    let children = vec![after(1, 1u8), after(100, 2)];
    let items: Vec<_> = async_gather(children).cancel_on(token).stream().collect().await;
    assert!(matches!(items.as_slice(), [Ok((0, 1)), Err(e)] if e.is_cancelled()), "{items:?}");
}

// ---- a builder that has begun cannot be reconfigured silently ----

fn poll_once<F: Future + Unpin>(fut: &mut F) {
    let waker = std::task::Waker::noop();
    let _ = Pin::new(fut).poll(&mut std::task::Context::from_waker(waker));
}

/// Fault: `.timeout(..)` set after the first poll was silently ignored, and
/// `.stream()` after it gave an empty stream (dropping the children).
#[tokio::test(start_paused = true)]
async fn options_after_the_first_poll_end_the_call_with_an_error_naming_them() {
    let mut g = async_gather(vec![std::future::pending::<u8>()]);
    poll_once(&mut g);
    let err = watchdog(g.timeout(Duration::from_millis(10))).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "timeout"), "{err}");
    assert!(err.to_string().contains("set after the call began"), "{err}");

    let mut g = async_try_gather(vec![std::future::pending::<Result<u8, String>>()]);
    poll_once(&mut g);
    let items: Vec<_> = watchdog(g.stream().collect()).await;
    assert!(matches!(items.as_slice(), [Err(Error::Config(c))] if c.name() == "stream"), "{items:?}");

    let mut g = async_gather(vec![std::future::pending::<u8>()]);
    poll_once(&mut g);
    let err = watchdog(g.keep_partial()).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "keep_partial"), "{err}");

    let mut w = async_wait(vec![std::future::pending::<u8>()]);
    poll_once(&mut w);
    let err = watchdog(w.first_completed()).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "first_completed"), "{err}");

    let mut w = async_wait(vec![std::future::pending::<u8>()]);
    poll_once(&mut w);
    let err = watchdog(w.cancel_on(cancelled())).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "cancel"), "{err}");

    // Polled and then awaited with no change: the call goes on.
    let mut g = async_gather(vec![after(5, 7u8)]);
    poll_once(&mut g);
    assert_eq!(g.await.unwrap(), [7]);
}

// ---- paths as people write them ----

#[tokio::test(start_paused = true)]
async fn nested_keys_read_as_paths_in_messages() {
    let input = BTreeMap::from([("users", vec![after(1, Ok(1)), after(2, Err("gone"))])]);
    let err = async_try_gather(nested(input)).await.unwrap_err();
    assert_eq!(err.to_string(), r#"child "users"/1 failed"#);
}

// ---- from the adversarial review of the new error surface ----

/// `.names(..)` on a map named children by the map's own order (the wrong
/// child in the message, at random for a `HashMap`); on a `Pending` set
/// from an earlier call, by positions that were not this call's. Both are
/// refused now; a map names its children by its keys.
#[tokio::test(start_paused = true)]
async fn names_are_refused_where_positions_are_not_the_input_order() {
    let calls = BTreeMap::from([("users", after(1, Ok::<u8, &str>(1))), ("orders", after(1, Err("503")))]);
    let err = async_try_gather(calls).names(["users", "orders"]).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "names"), "{err}");
    let calls = BTreeMap::from([("users", after(1, Ok::<u8, &str>(1))), ("orders", after(1, Err("503")))]);
    assert_eq!(async_try_gather(calls).await.unwrap_err().to_string(), "orders failed");
    let w = async_wait(vec![after(1, 0u8), after(1_000, 1), after(1_000, 2)]).first_completed().await.unwrap();
    let err = async_gather(w.pending).names(["b", "c"]).await.unwrap_err();
    assert!(matches!(&err, Error::Config(c) if c.name() == "names"), "{err}");
}

/// The blocking iterator kept no way to reach the pending children after a
/// timeout with `.keep_partial()` (the stream had one).
#[test]
fn the_blocking_iterator_hands_back_its_pending_children() {
    let never = vec![std::future::pending::<u8>(), std::future::pending()];
    let mut iter = gather(never).timeout(Duration::from_millis(5)).keep_partial().iter();
    assert!(iter.next().unwrap().unwrap_err().is_timeout());
    assert_eq!(iter.take_pending().unwrap().len(), 2);
}
