//! `race` / `async_race`: the first output, the losers dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use concurry::{Error, async_race, race, task};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Counts the replicas that ran to their end.
async fn replica(id: u32, delay: u64, finished: Arc<AtomicUsize>) -> Result<u32, std::io::Error> {
    tokio::time::sleep(ms(delay)).await;
    finished.fetch_add(1, SeqCst);
    if id == 0 { Err(std::io::Error::other("replica 0 draining")) } else { Ok(id) }
}

#[tokio::test(start_paused = true)]
async fn the_first_to_complete_wins_and_the_losing_futures_stop() {
    let finished = Arc::new(AtomicUsize::new(0));
    let first = async_race([replica(1, 50, finished.clone()), replica(2, 10, finished.clone())]).await.unwrap();
    assert_eq!(first.unwrap(), 2);
    tokio::time::sleep(ms(1_000)).await;
    assert_eq!(finished.load(SeqCst), 1, "the loser was dropped");
}

#[tokio::test(start_paused = true)]
async fn a_first_err_wins_as_it_is() {
    let finished = Arc::new(AtomicUsize::new(0));
    let first = async_race([replica(0, 5, finished.clone()), replica(1, 10, finished.clone())]).await.unwrap();
    assert_eq!(first.unwrap_err().to_string(), "replica 0 draining");
}

#[tokio::test(start_paused = true)]
async fn losing_tasks_are_aborted() {
    let finished = Arc::new(AtomicUsize::new(0));
    let tasks = [task::spawn(replica(1, 50, finished.clone())), task::spawn(replica(2, 10, finished.clone()))];
    assert_eq!(async_race(tasks).await.unwrap().unwrap(), 2);
    tokio::time::sleep(ms(1_000)).await;
    assert_eq!(finished.load(SeqCst), 1, "the losing task was aborted");
}

#[tokio::test(start_paused = true)]
async fn a_tuple_races_children_of_different_types() {
    use concurry::shape::tuple::Tuple2Output;
    let slow = async {
        tokio::time::sleep(ms(30)).await;
        "slow"
    };
    let fast = async {
        tokio::time::sleep(ms(10)).await;
        7u8
    };
    assert!(matches!(async_race((slow, fast)).await.unwrap(), Tuple2Output::E1(7)));
}

#[tokio::test(start_paused = true)]
async fn a_map_races_its_values() {
    let mut replicas = std::collections::HashMap::new();
    replicas.insert("eu", Box::pin(tokio::time::sleep(ms(40))) as std::pin::Pin<Box<tokio::time::Sleep>>);
    replicas.insert("us", Box::pin(tokio::time::sleep(ms(10))));
    assert!(async_race(replicas).await.is_ok());
}

#[test]
fn an_empty_input_is_a_config_error_not_a_panic() {
    let err = race(Vec::<std::future::Ready<u8>>::new()).run().unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("at least one child"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_timeout_names_the_children_still_pending() {
    let never = [std::future::pending::<u8>(), std::future::pending()];
    let err = async_race(never).names(["primary", "replica"]).timeout(ms(200)).await.unwrap_err();
    assert!(err.is_timeout());
    assert_eq!(err.to_string(), "timed out after 200ms: 0 of 2 completed; still pending: primary, replica");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_token_ends_the_race() {
    let token = tokio_util::sync::CancellationToken::new();
    let trigger = token.clone();
    tokio::spawn(async move {
        tokio::time::sleep(ms(20)).await;
        trigger.cancel();
    });
    let err = async_race([std::future::pending::<u8>()]).cancel_on(token).await.unwrap_err();
    assert!(err.is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn an_option_set_after_the_race_began_ends_it_with_a_config_error() {
    let mut started = async_race([std::future::pending::<u8>()]);
    assert!(futures::poll!(&mut started).is_pending());
    let err = started.timeout(ms(5)).await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
}

#[test]
fn threads_and_processes_race_in_a_tuple() {
    let thread = task::spawn_thread(|| {
        std::thread::sleep(ms(2_000));
        Ok::<_, std::io::Error>(1)
    });
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "exit 0"]);
    let first = race((thread, task::spawn_process(command))).run().unwrap();
    assert!(matches!(first, concurry::shape::tuple::Tuple2Output::E1(Ok(status)) if status.success()));
}
