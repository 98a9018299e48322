//! `async_gather` and `gather`: shapes, errors, timeouts, cancellation.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{BoxFut, CountPolls, DropCounter, after, failed, yield_once};
use concurry::{async_gather, async_try_gather};
#[cfg(feature = "indexmap")]
use indexmap::IndexMap;
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::task::AbortOnDropHandle;

#[tokio::test(start_paused = true)]
async fn vec_outputs_keep_input_order_not_completion_order() {
    let children = vec![after(30, 'a'), after(10, 'b'), after(20, 'c')];
    let started = Instant::now();
    let out = async_try_gather(children).await.unwrap();
    assert_eq!(out, ['a', 'b', 'c']);
    // Concurrent, not sequential: the slowest child sets the pace.
    assert_eq!(started.elapsed(), Duration::from_millis(30));
}

#[tokio::test(start_paused = true)]
async fn arrays_give_arrays() {
    let out: [u32; 3] = async_try_gather([after(5, 1u32), after(1, 2), after(3, 3)]).await.unwrap();
    assert_eq!(out, [1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn maps_give_the_same_map_type_with_the_same_keys() {
    let hash = HashMap::from([("x", after(2, 1)), ("y", after(1, 2))]);
    let out: HashMap<&str, i32> = async_try_gather(hash).await.unwrap();
    assert_eq!(out, HashMap::from([("x", 1), ("y", 2)]));

    let btree = BTreeMap::from([(2, after(1, "two")), (1, after(2, "one"))]);
    let out: BTreeMap<i32, &str> = async_try_gather(btree).await.unwrap();
    assert_eq!(out.into_iter().collect::<Vec<_>>(), [(1, "one"), (2, "two")]);

    // IndexMap keeps insertion order, like a Python dict.
    #[cfg(feature = "indexmap")]
    {
        let mut index = IndexMap::new();
        index.insert("zeta", after(1, 26));
        index.insert("alpha", after(3, 1));
        index.insert("mu", after(2, 12));
        let out: IndexMap<&str, i32> = async_try_gather(index).await.unwrap();
        assert_eq!(out.into_iter().collect::<Vec<_>>(), [("zeta", 26), ("alpha", 1), ("mu", 12)]);
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct TaskId {
    category: &'static str,
    id: u32,
}

#[tokio::test(start_paused = true)]
async fn maps_accept_tuple_and_struct_keys() {
    let tuples = HashMap::from([(("user", 123), after(1, "a")), (("user", 456), after(2, "b"))]);
    let out = async_try_gather(tuples).await.unwrap();
    assert_eq!(out[&("user", 456)], "b");

    let structs = BTreeMap::from([
        (TaskId { category: "fetch", id: 1 }, after(2, 10)),
        (TaskId { category: "process", id: 1 }, after(1, 20)),
    ]);
    let out = async_try_gather(structs).await.unwrap();
    assert_eq!(out[&TaskId { category: "process", id: 1 }], 20);
}

#[tokio::test(start_paused = true)]
async fn tuples_give_typed_tuples() {
    let (n, s, v) = async_try_gather((after(3, 1u8), after(1, "two"), after(2, vec![3]))).await.unwrap();
    assert_eq!((n, s, v), (1, "two", vec![3]));

    let twelve = (
        after(1, 1u8),
        after(1, 2u16),
        after(1, 3u32),
        after(1, 4u64),
        after(1, 5i8),
        after(1, 6i16),
        after(1, 7i32),
        after(1, 8i64),
        after(1, 'i'),
        after(1, "j"),
        after(1, String::from("k")),
        after(1, true),
    );
    let out = async_try_gather(twelve).await.unwrap();
    assert_eq!(out.9, "j");
    assert!(out.11);
}

#[tokio::test(start_paused = true)]
async fn tuple_of_results_fails_fast_with_the_shared_error_type() {
    let t = (after(5, Ok::<u8, &str>(1)), after(1, Err::<String, &str>("no")));
    let err = async_try_gather(t).await.unwrap_err();
    assert_eq!(failed(err), Some((1, "no".to_string())));
}

#[tokio::test]
async fn empty_inputs_return_empty_outputs_at_once() {
    let v: Vec<BoxFut<u8>> = Vec::new();
    assert!(async_try_gather(v).await.unwrap().is_empty());
    let a: [BoxFut<u8>; 0] = [];
    assert_eq!(async_try_gather(a).await.unwrap().len(), 0);
    let m: HashMap<&str, BoxFut<u8>> = HashMap::new();
    assert!(async_try_gather(m).await.unwrap().is_empty());
    // A zero timeout is fine on an empty input too.
    let v: Vec<BoxFut<u8>> = Vec::new();
    assert!(async_try_gather(v).timeout(Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn return_exceptions_keeps_each_error_in_its_slot() {
    let children = vec![after(3, Ok(1)), after(1, Err("bad 1")), after(2, Ok(3)), after(4, Err("bad 3"))];
    let out = async_gather(children).await.unwrap();
    assert_eq!(out, [Ok(1), Err("bad 1"), Ok(3), Err("bad 3")]);
}

#[tokio::test(start_paused = true)]
async fn first_error_in_completion_order_returns_at_once_and_drops_the_rest() {
    let drops = DropCounter::default();
    let child = |ms: u64, out: Result<u8, String>| {
        let guard = drops.guard();
        Box::pin(async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_millis(ms)).await;
            out
        }) as BoxFut<Result<u8, String>>
    };
    let children =
        vec![child(1000, Ok(0)), child(50, Err("late".into())), child(10, Err("first".into())), child(5, Ok(3))];
    let started = Instant::now();
    let err = async_try_gather(children).await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_millis(10), "did not wait for the others");
    assert_eq!(err.to_string(), "child 2 failed");
    assert_eq!(failed(err), Some((2, "first".to_string())));
    assert_eq!(drops.count(), 4, "every child was dropped by the time the error came back");
}

#[tokio::test(start_paused = true)]
async fn fail_fast_aborts_tasks_held_through_abort_on_drop_handle() {
    let finished = Arc::new(AtomicUsize::new(0));
    let dropped = DropCounter::default();
    let mut children = Vec::new();
    for i in 0..3u64 {
        let finished = finished.clone();
        let guard = dropped.guard();
        let task = tokio::spawn(async move {
            let _guard = guard;
            tokio::time::sleep(Duration::from_millis(100 * (i + 1))).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok::<u64, &str>(i)
        });
        children.push(Box::pin(async move { AbortOnDropHandle::new(task).await.unwrap() }) as BoxFut<_>);
    }
    children.push(after(10, Err("stop")));
    assert!(async_try_gather(children).await.is_err());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0, "aborted tasks never finished");
    assert_eq!(dropped.count(), 3, "the tasks' futures were dropped by the abort");
}

#[tokio::test(start_paused = true)]
async fn fail_fast_detaches_plain_join_handles() {
    let finished = Arc::new(AtomicUsize::new(0));
    let mut children = Vec::new();
    for i in 0..3u64 {
        let finished = finished.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100 * (i + 1))).await;
            finished.fetch_add(1, Ordering::SeqCst);
            Ok::<u64, &str>(i)
        });
        children.push(Box::pin(async move { task.await.unwrap() }) as BoxFut<_>);
    }
    children.push(after(10, Err("stop")));
    assert!(async_try_gather(children).await.is_err());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 3, "detached tasks ran to the end");
}

#[tokio::test]
async fn a_panicking_task_is_an_error_value_not_a_crash() {
    let tasks =
        vec![tokio::spawn(async { 1 }), tokio::spawn(async { panic!("task blew up") }), tokio::spawn(async { 3 })];
    let out = async_gather(tasks).await.unwrap();
    assert_eq!(*out[0].as_ref().unwrap(), 1);
    assert!(out[1].as_ref().unwrap_err().is_panic());
    assert_eq!(*out[2].as_ref().unwrap(), 3);

    let tasks = vec![tokio::spawn(async { 1 }), tokio::spawn(async { panic!("task blew up") })];
    let (key, error) = async_try_gather(tasks).await.unwrap_err().into_failed().unwrap();
    assert_eq!(key, 1);
    assert!(error.downcast_ref::<tokio::task::JoinError>().unwrap().is_panic());
}

#[tokio::test]
async fn oneshot_receivers_are_children_too() {
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..5).map(|_| oneshot::channel::<u32>()).unzip();
    tokio::spawn(async move {
        for (i, tx) in txs.into_iter().enumerate().rev() {
            tx.send(i as u32 * 10).unwrap();
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(async_try_gather(rxs).await.unwrap(), [0, 10, 20, 30, 40]);
}

#[tokio::test(start_paused = true)]
async fn timeout_names_the_entry_point_and_hands_back_everything() {
    let children = vec![after(10, 'a'), after(5_000, 'b'), after(20, 'c'), after(9_000, 'd')];
    let (err, had) = async_gather(children)
        .timeout(Duration::from_millis(100))
        .keep_partial()
        .await
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    let message = err.to_string();
    assert!(message.starts_with("timed out after 100ms: 2 of 4 completed; still pending: "), "{message}");
    let timeout = err.into_timeout().unwrap();
    assert_eq!((timeout.entry(), timeout.completed(), timeout.total()), ("async_gather", 2, 4));
    let partial = had;
    assert_eq!(partial.done, [(0, 'a'), (2, 'c')]);
    assert_eq!(partial.pending.keys().collect::<Vec<_>>(), [1, 3]);
    // Nothing is lost: the pending children can still be gathered.
    let rest = async_try_gather(partial.pending).await.unwrap();
    assert_eq!(rest, [(1, 'b'), (3, 'd')]);
}

#[tokio::test(start_paused = true)]
async fn timeout_of_a_map_gives_keys() {
    let children = BTreeMap::from([("fast", after(1, 1)), ("slow", after(10_000, 2))]);
    let partial = async_try_gather(children)
        .timeout(Duration::from_millis(50))
        .keep_partial()
        .await
        .unwrap()
        .into_partial()
        .expect("it timed out");
    assert_eq!(partial.done, [("fast", 1)]);
    assert_eq!(partial.pending.keys().collect::<Vec<_>>(), ["slow"]);
}

#[tokio::test]
async fn zero_timeout_succeeds_when_every_child_is_already_complete() {
    let ready: Vec<_> = (0..300).map(std::future::ready).collect();
    assert_eq!(async_try_gather(ready).timeout(Duration::ZERO).await.unwrap().len(), 300);

    // Finished tasks too, more of them than one coop budget (128) allows per turn.
    let tasks: Vec<_> = (0..300).map(|i| tokio::spawn(async move { i })).collect();
    while !tasks.iter().all(|t| t.is_finished()) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(async_try_gather(tasks).timeout(Duration::ZERO).await.unwrap().len(), 300);
}

#[tokio::test(start_paused = true)]
async fn zero_timeout_fails_at_once_when_a_child_is_pending() {
    let err = async_try_gather(vec![after(0, 1), after(10, 2)]).timeout(Duration::ZERO).await.unwrap_err();
    assert!(err.is_timeout());
}

#[tokio::test]
async fn plain_futures_cost_no_timer_wake_ups() {
    // One child pending for 50 ms on a channel: the gather must be polled
    // once to start and once when the channel wakes it, never by a timer.
    let (tx, rx) = oneshot::channel::<u8>();
    let (fut, polls) = CountPolls::new(async_try_gather(vec![rx]).into_future());
    let sender = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tx.send(7).unwrap();
    });
    assert_eq!(fut.await.unwrap(), [7]);
    sender.await.unwrap();
    assert_eq!(polls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_wake_polls_only_the_child_that_woke() {
    // n children that each yield once: 2 polls each, 2n in all, whatever n.
    let n = 1000;
    let counters: Vec<_> = (0..n).map(|i| CountPolls::new(yield_once(i))).collect();
    let (children, polls): (Vec<_>, Vec<_>) = counters.into_iter().unzip();
    let out = async_try_gather(children).await.unwrap();
    assert_eq!(out, (0..n).collect::<Vec<_>>());
    let total: usize = polls.iter().map(|p| p.load(Ordering::SeqCst)).sum();
    assert_eq!(total, 2 * n);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_future_drops_every_child() {
    let drops = DropCounter::default();
    let children: Vec<_> = (0..5)
        .map(|i| {
            let guard = drops.guard();
            Box::pin(async move {
                let _guard = guard;
                tokio::time::sleep(Duration::from_secs(i + 1)).await;
                i
            }) as BoxFut<u64>
        })
        .collect();
    let gather = async_try_gather(children);
    let timed = tokio::time::timeout(Duration::from_millis(1500), gather.into_future()).await;
    assert!(timed.is_err());
    assert_eq!(drops.count(), 5);
}

use std::future::IntoFuture;

/// Children woken one at a time (the worst case for a shared waker, which
/// cannot say who woke) still cost O(1) polls each: a first poll, at most two
/// rescans, then polls on their own wake only.
#[tokio::test]
async fn children_woken_one_at_a_time_cost_a_bounded_number_of_polls() {
    let n = 500;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| oneshot::channel::<usize>()).unzip();
    let counters: Vec<_> = rxs.into_iter().map(CountPolls::new).collect();
    let (children, polls): (Vec<_>, Vec<_>) = counters.into_iter().unzip();
    tokio::spawn(async move {
        for (i, tx) in txs.into_iter().enumerate() {
            tx.send(i).unwrap();
            tokio::task::yield_now().await;
        }
    });
    let out = async_try_gather(children).await.unwrap();
    assert_eq!(out, (0..n).collect::<Vec<_>>());
    let total: usize = polls.iter().map(|p| p.load(Ordering::SeqCst)).sum();
    assert!(total <= 4 * n, "{total} polls for {n} children");
}

/// Dropping the call (here: a `select!` branch that lost) aborts tasks held
/// through `AbortOnDropHandle`, and every other child is dropped.
#[tokio::test(start_paused = true)]
async fn dropping_the_call_aborts_abort_on_drop_handles() {
    let finished = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..5)
        .map(|_| {
            let finished = finished.clone();
            AbortOnDropHandle::new(tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(10)).await;
                finished.fetch_add(1, Ordering::SeqCst);
            }))
        })
        .collect();
    tokio::select! {
        _ = async_try_gather(handles).into_future() => panic!("the tasks take 10 s"),
        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
    }
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert_eq!(finished.load(Ordering::SeqCst), 0);
}
