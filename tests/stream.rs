//! Iterator mode (`.stream()` / `.iter()`) and nested inputs.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::{BoxFut, DropCounter, after, failed};
use concurry::shape::nested::{Path, Segment};
use concurry::{Error, async_gather, async_try_gather, nested, try_gather};
use futures::StreamExt;
#[cfg(feature = "indexmap")]
use indexmap::IndexMap;

fn guarded(drops: &DropCounter, ms: u64, out: Result<u32, String>) -> BoxFut<Result<u32, String>> {
    let guard = drops.guard();
    Box::pin(async move {
        let _guard = guard;
        tokio::time::sleep(Duration::from_millis(ms)).await;
        out
    })
}

#[tokio::test(start_paused = true)]
async fn stream_yields_key_and_output_in_completion_order() {
    let items: Vec<_> = async_try_gather(vec![after(30, 'a'), after(10, 'b'), after(20, 'c')])
        .stream()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(items, [(1, 'b'), (2, 'c'), (0, 'a')]);

    let map = BTreeMap::from([("x", after(20, 1)), ("y", after(10, 2))]);
    let items: Vec<_> = async_try_gather(map).stream().map(Result::unwrap).collect().await;
    assert_eq!(items, [("y", 2), ("x", 1)]);
}

#[test]
fn iter_is_the_blocking_form_of_the_same_items() {
    let map = HashMap::from([(("user", 1), after(200, 'p')), (("user", 2), after(5, 'q'))]);
    let items: Vec<_> = try_gather(map).iter().map(Result::unwrap).collect();
    assert_eq!(items, [(("user", 2), 'q'), (("user", 1), 'p')]);
}

#[tokio::test(start_paused = true)]
async fn with_return_exceptions_errors_are_ordinary_items() {
    let children = vec![after(10, Err("bad")), after(20, Ok(2)), after(30, Err("worse"))];
    let items: Vec<_> = async_gather(children).stream().map(Result::unwrap).collect().await;
    assert_eq!(items, [(0, Err("bad")), (1, Ok(2)), (2, Err("worse"))]);
}

#[tokio::test(start_paused = true)]
async fn without_it_the_stream_ends_at_the_first_error_and_drops_the_rest() {
    let drops = DropCounter::default();
    let children = vec![
        guarded(&drops, 10, Ok(1)),
        guarded(&drops, 20, Err("broken".into())),
        guarded(&drops, 30, Ok(3)),
        guarded(&drops, 40, Ok(4)),
    ];
    let mut stream = async_try_gather(children).stream();
    assert_eq!(stream.next().await.unwrap().unwrap(), (0, 1));
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(failed(err), Some((1, "broken".to_string())));
    assert_eq!(drops.count(), 4, "the rest went when the error was yielded");
    assert!(stream.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn timeout_yields_what_completed_in_time_then_the_error() {
    let children = vec![after(10, 'a'), after(10_000, 'b'), after(20, 'c')];
    let mut stream = async_gather(children).timeout(Duration::from_millis(100)).keep_partial().stream();
    assert_eq!(stream.next().await.unwrap().unwrap(), (0, 'a'));
    assert_eq!(stream.next().await.unwrap().unwrap(), (2, 'c'));
    let err = stream.next().await.unwrap().unwrap_err();
    assert_eq!(err.to_string(), "timed out after 100ms: 2 of 3 completed; still pending: 1");
    assert!(err.is_timeout(), "{err}");
    // The completed outputs were yielded already; the pending child stayed.
    assert_eq!(stream.take_pending().unwrap().keys().collect::<Vec<_>>(), [1]);
    assert!(stream.next().await.is_none());
}

/// The clock starts at the call to `.stream()`, not at the first poll.
#[tokio::test(start_paused = true)]
async fn the_clock_starts_at_the_call() {
    let mut stream = async_try_gather(vec![after(60, 1)]).timeout(Duration::from_millis(100)).stream();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = tokio::time::Instant::now();
    // The child only starts now (60 ms to go) but the deadline is 50 ms away.
    assert!(stream.next().await.unwrap().unwrap_err().is_timeout());
    assert_eq!(started.elapsed(), Duration::from_millis(50));
}

/// Regression: the original fails with a zero timeout in iterator mode even
/// when everything is already done. Ours yields everything.
#[tokio::test]
async fn zero_timeout_yields_everything_already_complete() {
    let ready: Vec<_> = (0..10).map(std::future::ready).collect();
    let items: Vec<_> = async_try_gather(ready).timeout(Duration::ZERO).stream().collect().await;
    assert_eq!(items.len(), 10);
    assert!(items.iter().all(Result::is_ok));
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_cancels_the_rest() {
    let drops = DropCounter::default();
    let children: Vec<_> = (0..10).map(|i| guarded(&drops, 10 * (i + 1), Ok(i as u32))).collect();
    let mut stream = async_try_gather(children).stream();
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(first, (0, 0));
    assert_eq!(drops.count(), 1);
    drop(stream);
    assert_eq!(drops.count(), 10);
}

#[test]
fn breaking_out_of_a_for_loop_cancels_the_rest() {
    // Three quick children, seven that would take a minute: the loop ends
    // after the third item, and the seven are dropped at once (were they
    // waited for, this test would take a minute).
    let drops = DropCounter::default();
    let children: Vec<_> =
        (0..10u64).map(|i| guarded(&drops, if i < 3 { 5 * (i + 1) } else { 60_000 }, Ok(i as u32))).collect();
    let mut seen = Vec::new();
    for item in try_gather(children).iter() {
        let (index, _) = item.unwrap();
        seen.push(index);
        if seen.len() == 3 {
            break;
        }
    }
    assert_eq!(seen, [0, 1, 2]);
    assert_eq!(drops.count(), 10);
}

#[tokio::test(start_paused = true)]
async fn nested_vecs_and_maps_keep_their_shape() {
    // Vec<Vec<F>>, two levels.
    let out = async_try_gather(nested(vec![vec![after(3, 1), after(1, 2)], vec![], vec![after(2, 3)]])).await.unwrap();
    assert_eq!(out, [vec![1, 2], vec![], vec![3]]);

    // A map of Vecs.
    let input = HashMap::from([("evens", vec![after(2, 0), after(1, 2)]), ("odds", vec![after(1, 1)])]);
    let out = async_try_gather(nested(input)).await.unwrap();
    assert_eq!(out["evens"], [0, 2]);
    assert_eq!(out["odds"], [1]);

    // A Vec of maps of Vecs: three levels.
    #[cfg(feature = "indexmap")]
    {
        let mut first = IndexMap::new();
        first.insert("b", vec![after(1, 'x')]);
        first.insert("a", vec![after(2, 'y'), after(3, 'z')]);
        let out = async_try_gather(nested(vec![first, IndexMap::new()])).await.unwrap();
        assert_eq!(out[0].keys().copied().collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(out[0]["a"], ['y', 'z']);
        assert!(out[1].is_empty());
    }
}

/// Regression: the original silently ignores `recurse` for a single list or
/// dict. Ours takes a flat input through `nested` too.
#[tokio::test(start_paused = true)]
async fn nested_works_on_a_flat_input() {
    let out = async_try_gather(nested(vec![after(2, 1), after(1, 2)])).await.unwrap();
    assert_eq!(out, [1, 2]);
    let out = async_try_gather(nested(BTreeMap::from([(1, after(1, 'a'))]))).await.unwrap();
    assert_eq!(out[&1], 'a');
}

#[tokio::test(start_paused = true)]
async fn nested_iterator_mode_yields_paths() {
    let input = vec![BTreeMap::from([("a", vec![after(3, 1)]), ("b", vec![after(1, 2), after(2, 3)])])];
    let items: Vec<(Path, i32)> = async_try_gather(nested(input)).stream().map(Result::unwrap).collect().await;
    let paths: Vec<String> = items.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(paths, ["0/b/0", "0/b/1", "0/a/0"]);
    assert_eq!(items[0].0.segments(), [Segment::Index(0), Segment::Key("b".into()), Segment::Index(0)]);
}

#[tokio::test(start_paused = true)]
async fn nested_failures_name_the_path() {
    let input = vec![vec![after(1, Ok(1))], vec![after(2, Err("deep"))]];
    let err = async_try_gather(nested(input)).await.unwrap_err();
    assert_eq!(err.to_string(), "child 1/0 failed");
    assert!(matches!(err, Error::Failed { .. }));
}
