//! `async_wait` and `wait`: return conditions, keys, pending sets, timeouts.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{BoxFut, DropCounter, after};
use concurry::{ReturnWhen, async_try_gather, async_wait};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn all_completed_returns_every_output_with_its_index_in_completion_order() {
    let w = async_wait(vec![after(30, 'a'), after(10, 'b'), after(20, 'c')]).await.unwrap();
    assert_eq!(w.done, [(1, 'b'), (2, 'c'), (0, 'a')]);
    assert!(w.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn first_completed_returns_the_fastest_and_hands_back_the_rest() {
    let sources = vec![after(300, "api1"), after(100, "api2 (faster!)"), after(200, "cache")];
    let started = Instant::now();
    let w = async_wait(sources).return_when(ReturnWhen::FirstCompleted).timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(100));
    assert_eq!(w.done, [(1, "api2 (faster!)")]);
    assert_eq!(w.pending.keys().collect::<Vec<_>>(), [0, 2]);

    // The pending set is waited on again as it is.
    let next = async_wait(w.pending).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    assert_eq!(next.done, [(2, "cache")]);
    let last = async_try_gather(next.pending).await.unwrap();
    assert_eq!(last, [(0, "api1")]);
}

#[tokio::test(start_paused = true)]
async fn first_completed_returns_every_child_already_complete_at_the_start() {
    let tasks: Vec<_> = (0..10u64).map(|i| tokio::spawn(async move { i })).collect();
    tokio::time::sleep(Duration::from_millis(1)).await; // let the first six finish
    let mut children: Vec<BoxFut<Result<u64, tokio::task::JoinError>>> = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if i < 6 {
            children.push(Box::pin(t));
        } else {
            children.push(Box::pin(async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                t.await
            }));
        }
    }
    let w = async_wait(children).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    let keys: Vec<_> = w.done.iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [0, 1, 2, 3, 4, 5]);
    assert_eq!(w.pending.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn first_exception_returns_on_the_first_err() {
    let children = vec![after(10, Ok(1)), after(20, Err("broke")), after(1000, Ok(3))];
    let started = Instant::now();
    let w = async_wait(children).return_when(ReturnWhen::FirstException).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(20));
    assert_eq!(w.done, [(0, Ok(1)), (1, Err("broke"))]);
    assert_eq!(w.pending.keys().collect::<Vec<_>>(), [2]);
}

#[tokio::test(start_paused = true)]
async fn first_exception_counts_a_panicked_task() {
    let tasks = vec![
        tokio::spawn(async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            0
        }),
        tokio::spawn(async { panic!("task panicked") }),
    ];
    let w = async_wait(tasks).return_when(ReturnWhen::FirstException).await.unwrap();
    assert_eq!(w.done.len(), 1);
    assert_eq!(w.done[0].0, 1);
    assert!(w.done[0].1.as_ref().unwrap_err().is_panic());
}

/// Regression: the Python original's FIRST_EXCEPTION never returns when no
/// child fails. Ours returns once every child has completed.
#[tokio::test(start_paused = true)]
async fn first_exception_returns_when_all_complete_if_nothing_fails() {
    let children = vec![after(10, Ok::<u8, &str>(1)), after(20, Ok(2))];
    let w = async_wait(children).return_when(ReturnWhen::FirstException).await.unwrap();
    assert_eq!(w.done.len(), 2);
    assert!(w.pending.is_empty());
}

#[tokio::test(start_paused = true)]
async fn maps_keep_their_keys() {
    let tasks = HashMap::from([("database", after(30, 1)), ("cache", after(10, 2)), ("search", after(20, 3))]);
    let w = async_wait(tasks).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    assert_eq!(w.done, [("cache", 2)]);
    let mut pending: Vec<_> = w.pending.keys().collect();
    pending.sort();
    assert_eq!(pending, ["database", "search"]);
}

#[tokio::test(start_paused = true)]
async fn timeout_hands_back_the_waited_value() {
    let children = vec![after(10, 1), after(10_000, 2)];
    let (err, had) = async_wait(children)
        .timeout(Duration::from_millis(50))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    assert_eq!(err.to_string(), "timed out after 50ms: 1 of 2 completed; still pending: 1");
    let w = {
        assert!(err.is_timeout(), "{err}");
        had
    };
    assert_eq!(w.done, [(0, 1)]);
    assert_eq!(w.pending.keys().collect::<Vec<_>>(), [1]);
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_pending_set_drops_its_children() {
    let drops = DropCounter::default();
    let children: Vec<BoxFut<u8>> = (0..4)
        .map(|i| {
            let guard = drops.guard();
            Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_millis(10 + 1000 * i)).await;
                i as u8
            }) as BoxFut<u8>
        })
        .collect();
    let w = async_wait(children).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    assert_eq!(drops.count(), 1, "only the completed child is gone");
    w.pending.cancel();
    assert_eq!(drops.count(), 4);
}

#[tokio::test]
async fn empty_input_returns_at_once() {
    let none: Vec<BoxFut<u8>> = Vec::new();
    for when in [ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted, ReturnWhen::FirstException] {
        let none: Vec<BoxFut<u8>> = Vec::new();
        let w = async_wait(none).return_when(when).await.unwrap();
        assert!(w.done.is_empty() && w.pending.is_empty());
    }
    assert!(async_wait(none).timeout(Duration::ZERO).await.is_ok());
}

#[test]
fn return_when_parses_the_spec_strings_case_insensitively() {
    assert_eq!("all_completed".parse::<ReturnWhen>().unwrap(), ReturnWhen::AllCompleted);
    assert_eq!("First_Completed".parse::<ReturnWhen>().unwrap(), ReturnWhen::FirstCompleted);
    assert_eq!("FIRST_EXCEPTION".parse::<ReturnWhen>().unwrap(), ReturnWhen::FirstException);
    let err = "first".parse::<ReturnWhen>().unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid return condition \"first\": valid values are: all_completed, first_completed, first_exception"
    );
    for r in [ReturnWhen::AllCompleted, ReturnWhen::FirstCompleted, ReturnWhen::FirstException] {
        assert_eq!(r.to_string().parse::<ReturnWhen>().unwrap(), r);
    }
}

/// More finished tasks than Tokio's cooperative budget lets one turn poll
/// (about 128): `FirstCompleted` still returns every one already complete,
/// across the turns the budget forces.
#[tokio::test]
async fn first_completed_returns_all_finished_tasks_beyond_one_budget() {
    let tasks: Vec<_> = (0..300u32).map(|i| tokio::spawn(async move { i })).collect();
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let w = async_wait(tasks).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    assert_eq!(w.done.len(), 300);
    assert!(w.pending.is_empty());
}
