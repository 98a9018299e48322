//! The blocking entry points, from a plain thread, a multi-thread runtime,
//! and a current-thread runtime (where they must refuse, not hang or panic).

mod common;

use std::time::Duration;

use common::after;
use concurry::{Error, ReturnWhen, gather, try_gather, wait};

#[test]
fn gather_and_wait_work_from_a_plain_thread() {
    let out = try_gather(vec![after(20, 1), after(5, 2)]).timeout(Duration::from_secs(5)).run().unwrap();
    assert_eq!(out, [1, 2]);
    let w = wait(vec![after(200, 'a'), after(1, 'b')]).return_when(ReturnWhen::FirstCompleted).run().unwrap();
    assert_eq!(w.done, [(1, 'b')]);
    let rest = try_gather(w.pending).run().unwrap();
    assert_eq!(rest, [(0, 'a')]);
}

#[test]
fn plain_threads_share_one_runtime_across_calls() {
    let ids: Vec<_> = (0..20)
        .map(|_| {
            let child = async { tokio::runtime::Handle::current().id().to_string() };
            try_gather([child]).run().unwrap()[0].clone()
        })
        .collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "one runtime for every call");
    assert_eq!(ids[0], concurry::shared_runtime().handle().id().to_string());
}

#[test]
fn sync_calls_from_sixteen_threads_at_once() {
    let threads: Vec<_> = (0..16u64)
        .map(|t| {
            std::thread::spawn(move || {
                let children: Vec<_> = (0..50u64).map(|i| after(i % 7, t * 100 + i)).collect();
                try_gather(children).run().unwrap()
            })
        })
        .collect();
    for (t, h) in threads.into_iter().enumerate() {
        let out = h.join().unwrap();
        assert_eq!(out, (0..50).map(|i| t as u64 * 100 + i).collect::<Vec<_>>());
    }
}

#[test]
fn sync_gather_of_spawned_tasks_from_plain_code() {
    let rt = concurry::shared_runtime();
    let tasks: Vec<_> = (0..10).map(|i| rt.spawn(async move { i * 2 })).collect();
    assert_eq!(try_gather(tasks).run().unwrap(), (0..10).map(|i| i * 2).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime_other_tasks_keep_running() {
    // The blocked worker hands its tasks to another; the spawned task still runs.
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        tx.send(5).unwrap();
    });
    let out = try_gather(vec![rx]).timeout(Duration::from_secs(5)).run().unwrap();
    assert_eq!(out, [5]);
    let w = wait(vec![after(10, 1)]).run().unwrap();
    assert_eq!(w.done, [(0, 1)]);
    let items: Vec<_> = try_gather(vec![after(150, 1), after(1, 2)]).iter().map(Result::unwrap).collect();
    assert_eq!(items, [(1, 2), (0, 1)]);
}

#[tokio::test(flavor = "current_thread")]
async fn on_a_current_thread_runtime_they_refuse_clearly() {
    let err = try_gather(vec![after(1, 1)]).run().unwrap_err();
    assert!(matches!(err, Error::Blocking(_)));
    let message = err.to_string();
    assert!(message.contains("try_gather() cannot block a current-thread Tokio runtime"), "{message}");
    assert!(message.contains("use async_try_gather(..).await"), "{message}");

    let err = wait(vec![after(1, 1)]).run().unwrap_err();
    assert!(err.to_string().contains("use async_wait(..).await"));

    let mut it = try_gather(vec![after(1, 1)]).iter();
    assert!(matches!(it.next(), Some(Err(Error::Blocking(_)))));
    assert!(it.next().is_none());
}

#[test]
fn blocking_timeout_is_an_error_with_the_partial_result() {
    let (err, had) = gather(vec![after(1, 'a'), after(10_000, 'b')])
        .timeout(Duration::from_millis(200))
        .keep_partial()
        .run()
        .unwrap()
        .into_interrupted()
        .expect("the call was stopped");
    assert!(err.to_string().starts_with("timed out after"), "{err}");
    let partial = {
        assert!(err.is_timeout(), "{err}");
        had
    };
    assert_eq!(partial.done, [(0, 'a')]);
}
