//! A Tokio service handler, written with concurry and, beside it, with plain
//! tokio/futures. No server is needed: the downstream calls are simulated.
//!
//! - `profile`: fan out to three typed downstream calls, named, with a
//!   deadline; a failure maps to an HTTP status by its error type
//!   (`downcast_ref`), a timeout by one `downcast_ref::<concurry::Error>()`
//!   (the same for tuples, `Vec`s and maps); the log line names the child
//!   that failed or is still pending.
//! - `profile_partial`: the same fan-out, answering with whatever arrived
//!   when the deadline passes, and the names of the calls still pending.
//! - `hedged`: race two replicas (`async_race`) with the service's own
//!   error type; the loser is aborted.
//!
//! Run: `cargo run --example service`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use concurry::{Partial, async_gather, async_race, async_try_gather, task};

const DEADLINE: Duration = Duration::from_millis(200);

// ---- The downstream calls: three services, three error types. ----

#[derive(Debug, thiserror::Error)]
#[error("orders service down")]
struct OrdersDown;

#[derive(Debug, Clone, Copy)]
enum Orders {
    Up,
    Down,
    Slow,
}

async fn user(id: u32) -> Result<String, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(format!("user-{id}"))
}

async fn orders(state: Orders) -> Result<Vec<u32>, OrdersDown> {
    match state {
        Orders::Up => Ok(vec![7, 9]),
        Orders::Down => Err(OrdersDown),
        Orders::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(vec![])
        }
    }
}

async fn prices(id: u32) -> anyhow::Result<f64> {
    tokio::time::sleep(Duration::from_millis(30)).await;
    Ok(f64::from(id) * 1.5)
}

/// The replicas' own error type: nothing to convert from `JoinError`.
#[derive(Debug, thiserror::Error)]
#[error("replica is draining")]
struct Draining;

/// How long a replica takes, and how many replicas stopped running.
async fn replica(ms: u64, stopped: Arc<AtomicUsize>) -> Result<u64, Draining> {
    struct Stopped(Arc<AtomicUsize>);
    impl Drop for Stopped {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let _stopped = Stopped(stopped);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(ms)
}

#[derive(Debug, PartialEq)]
struct Profile {
    user: String,
    orders: Vec<u32>,
    total: f64,
}

/// What arrived by the deadline, and which calls were still pending.
#[derive(Debug, PartialEq)]
struct PartialProfile {
    user: Option<String>,
    orders: Option<Vec<u32>>,
    total: Option<f64>,
    pending: Vec<String>,
}

/// The handler's error-to-status map: by the child's error type, and 504 for
/// our deadline.
fn status(err: &anyhow::Error) -> u16 {
    let timed_out = err.downcast_ref::<concurry::Error>().is_some_and(concurry::Error::is_timeout);
    if err.root_cause().downcast_ref::<OrdersDown>().is_some() {
        503
    } else if timed_out || err.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
        504
    } else {
        500
    }
}

// ---- With concurry. ----

async fn profile(id: u32, state: Orders) -> anyhow::Result<Profile> {
    let (user, orders, total) = async_try_gather((user(id), orders(state), prices(id)))
        .names(["user", "orders", "prices"])
        .timeout(DEADLINE)
        .await?;
    Ok(Profile { user, orders, total })
}

async fn profile_partial(id: u32, state: Orders) -> PartialProfile {
    let call = async_gather((user(id), orders(state), prices(id))).names(["user", "orders", "prices"]);
    let ((user, orders, total), pending) = match call.timeout(DEADLINE).keep_partial().await {
        Ok(Partial::Complete((u, o, t))) => ((Some(u), Some(o), Some(t)), vec![]),
        Ok(Partial::Interrupted { partial, .. }) => {
            let (slots, pending) = partial.into_slots();
            (slots, pending.names().collect())
        }
        Err(_) => Default::default(),
    };
    let (user, orders, total) = (user.and_then(Result::ok), orders.and_then(Result::ok), total.and_then(Result::ok));
    PartialProfile { user, orders, total, pending }
}

async fn hedged(stopped: &Arc<AtomicUsize>) -> anyhow::Result<u64> {
    let replicas = [task::spawn(replica(10, stopped.clone())), task::spawn(replica(5_000, stopped.clone()))];
    // The first to complete, under the deadline; the other task is aborted.
    Ok(async_race(replicas).timeout(DEADLINE).await??)
}

// ---- The same three with plain tokio/futures. ----

async fn profile_plain(id: u32, state: Orders) -> anyhow::Result<Profile> {
    let (user, orders, total) = tokio::time::timeout(DEADLINE, async {
        tokio::try_join!(
            async { user(id).await.map_err(anyhow::Error::from) },
            async { orders(state).await.map_err(anyhow::Error::from) },
            prices(id),
        )
    })
    .await??;
    Ok(Profile { user, orders, total })
}

async fn profile_partial_plain(id: u32, state: Orders) -> PartialProfile {
    let (mut u, mut o, mut t) = (None, None, None);
    let (uf, of, tf) = (user(id), orders(state), prices(id));
    let deadline = tokio::time::sleep(DEADLINE);
    tokio::pin!(uf, of, tf, deadline);
    while u.is_none() || o.is_none() || t.is_none() {
        tokio::select! {
            r = &mut uf, if u.is_none() => u = Some(r),
            r = &mut of, if o.is_none() => o = Some(r),
            r = &mut tf, if t.is_none() => t = Some(r),
            _ = &mut deadline => break,
        }
    }
    let still = [("user", u.is_none()), ("orders", o.is_none()), ("prices", t.is_none())];
    let pending = still.into_iter().filter(|(_, p)| *p).map(|(name, _)| name.to_string()).collect();
    let (user, orders, total) = (u.and_then(Result::ok), o.and_then(Result::ok), t.and_then(Result::ok));
    PartialProfile { user, orders, total, pending }
}

async fn hedged_plain(stopped: &Arc<AtomicUsize>) -> anyhow::Result<u64> {
    // A `JoinSet` aborts the loser when dropped (plain `tokio::spawn`
    // handles would leave it running); it does not say which replica won.
    let mut set = tokio::task::JoinSet::new();
    set.spawn(replica(10, stopped.clone()));
    set.spawn(replica(5_000, stopped.clone()));
    let first = tokio::time::timeout(DEADLINE, set.join_next()).await?;
    Ok(first.expect("two replicas")??)
}

#[tokio::main]
async fn main() {
    for state in [Orders::Up, Orders::Down, Orders::Slow] {
        let ours = profile(1, state).await;
        let plain = profile_plain(1, state).await;
        let show = |r: &anyhow::Result<Profile>| match r {
            Ok(p) => format!("200 {p:?}"),
            Err(e) => format!("{} {e:#}", status(e)),
        };
        println!("orders {state:?}:\n  concurry: {}\n  plain:    {}", show(&ours), show(&plain));
        // The log line says which call, as the on-call engineer asks.
        match (state, &ours) {
            (Orders::Down, Err(e)) => assert_eq!(format!("{e:#}"), "orders failed: orders service down"),
            (Orders::Slow, Err(e)) => {
                assert_eq!(e.to_string(), "timed out after 200ms: 2 of 3 completed; still pending: orders")
            }
            _ => {}
        }
        assert_eq!(ours.as_ref().map_err(status), plain.as_ref().map_err(status));

        let partial = profile_partial(1, state).await;
        println!("  partial:  {partial:?}");
        let expected_pending: &[&str] = if matches!(state, Orders::Slow) { &["orders"] } else { &[] };
        assert_eq!(partial.pending, expected_pending);
        assert_eq!(partial, profile_partial_plain(1, state).await);
    }

    let stopped = Arc::new(AtomicUsize::new(0));
    let winner = hedged(&stopped).await.expect("a replica answers");
    tokio::time::sleep(Duration::from_millis(10)).await;
    println!("hedged: {winner} ms replica won; replicas stopped: {}", stopped.load(Ordering::SeqCst));
    assert_eq!(stopped.load(Ordering::SeqCst), 2, "the loser was cancelled");

    let stopped = Arc::new(AtomicUsize::new(0));
    assert_eq!(hedged_plain(&stopped).await.expect("a replica answers"), winner);
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(stopped.load(Ordering::SeqCst), 2);
}
