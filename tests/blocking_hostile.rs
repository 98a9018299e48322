//! Blocking calls always return: beside children that Tokio keeps ready,
//! from every kind of thread, with the shared runtime's workers kept busy,
//! and, in a `LocalSet`, without a panic.
//!
//! Every call runs on a thread of its own under a watchdog: a hang fails the
//! test instead of stalling the run.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::after;
use concurry::{Error, ReturnWhen, gather, probe, try_gather, wait};
use futures::FutureExt;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

type Child = Pin<Box<dyn Future<Output = u8> + Send>>;

/// Reads for ever from a source that is always ready: only Tokio's budget
/// ever makes its poll return.
fn reader() -> Child {
    Box::pin(async {
        let mut r = tokio::io::repeat(7);
        let mut buf = [0u8; 64];
        loop {
            r.read_exact(&mut buf).await.unwrap();
        }
    })
}

/// Spends the budget for ever, yielding only when Tokio makes it.
fn budget_spender() -> Child {
    Box::pin(async {
        loop {
            tokio::task::consume_budget().await;
        }
    })
}

/// Runs `f` on a thread of its own; fails the test if it does not return
/// within 20 s. Runtimes are made inside `f`, so that a hung one is left
/// behind with its thread rather than dropped (and waited for) here.
fn watchdog<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("watchdog: {what} never returned"))
}

const SHORT: Duration = Duration::from_millis(50);

/// Every blocking entry point, over a hostile child, with a timeout: each
/// must time out. Returns how long each took.
fn every_entry_point_times_out(hostile: fn() -> Child) -> Vec<(&'static str, Duration)> {
    let mut took = Vec::new();
    let t = Instant::now();
    let r = gather(vec![hostile()]).timeout(SHORT).run();
    assert!(r.as_ref().is_err_and(Error::is_timeout), "gather: {:?}", r.map(|_| ()));
    took.push(("gather.run", t.elapsed()));
    let t = Instant::now();
    let r = try_gather(vec![hostile()]).timeout(SHORT).run();
    assert!(r.as_ref().is_err_and(Error::is_timeout), "try_gather: {:?}", r.map(|_| ()));
    took.push(("try_gather.run", t.elapsed()));
    let t = Instant::now();
    let r = wait(vec![hostile()]).timeout(SHORT).run();
    assert!(r.as_ref().is_err_and(Error::is_timeout), "wait: {:?}", r.map(|_| ()));
    took.push(("wait.run", t.elapsed()));
    let t = Instant::now();
    let items: Vec<_> = try_gather(vec![hostile()]).timeout(SHORT).iter().collect();
    assert!(matches!(items.as_slice(), [Err(e)] if e.is_timeout()), "iter: {} items", items.len());
    took.push(("try_gather.iter", t.elapsed()));
    // Beside a finished thread, the return condition is met at once.
    let done = std::thread::spawn(|| 9u8);
    let r = wait(vec![Box::pin(probe::thread(done).map(Result::unwrap)) as Child, hostile()])
        .return_when(ReturnWhen::FirstCompleted)
        .timeout(Duration::from_secs(5))
        .run()
        .unwrap();
    assert_eq!(r.done, [(0, 9)]);
    // A token fired from another thread ends the call.
    let token = CancellationToken::new();
    let fire = token.clone();
    std::thread::spawn(move || {
        std::thread::sleep(SHORT);
        fire.cancel();
    });
    let r = gather(vec![hostile()]).cancel_on(token).run();
    assert!(r.as_ref().is_err_and(Error::is_cancelled), "cancel: {:?}", r.map(|_| ()));
    took
}

#[test]
fn from_a_plain_thread() {
    for hostile in [reader as fn() -> Child, budget_spender] {
        let took = watchdog("a call from a plain thread", move || every_entry_point_times_out(hostile));
        eprintln!("plain thread: {took:?}");
    }
}

#[test]
fn from_spawn_blocking_threads() {
    for hostile in [reader as fn() -> Child, budget_spender] {
        watchdog("a call from spawn_blocking", move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(rt.spawn_blocking(move || every_entry_point_times_out(hostile))).unwrap()
        });
    }
}

#[test]
fn from_a_multi_thread_worker() {
    for hostile in [reader as fn() -> Child, budget_spender] {
        watchdog("a call from a worker", move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(rt.spawn(async move { every_entry_point_times_out(hostile) })).unwrap()
        });
    }
}

#[test]
fn from_the_thread_inside_a_multi_thread_block_on() {
    for hostile in [reader as fn() -> Child, budget_spender] {
        watchdog("a call inside block_on", move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            rt.block_on(async move { every_entry_point_times_out(hostile) })
        });
    }
}

#[test]
fn nested_in_a_child_of_another_blocking_call() {
    watchdog("a nested call", || {
        let nested = async { every_entry_point_times_out(reader).len() };
        try_gather(vec![nested]).timeout(Duration::from_secs(10)).run().unwrap()
    });
}

/// Hundreds of ready spawned tasks from inside `block_on`: each poll gets
/// the budget lent again, so the call does not stall once it is spent.
#[test]
fn many_spawned_tasks_from_inside_block_on_complete() {
    let out = watchdog("300 tasks inside block_on", || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(async {
            let tasks: Vec<_> = (0..300).map(|i| tokio::spawn(async move { i })).collect();
            tokio::time::sleep(Duration::from_millis(20)).await;
            try_gather(tasks).run().unwrap()
        })
    });
    assert_eq!(out, (0..300).collect::<Vec<_>>());
}

// ---- the shared runtime's workers, all busy ----

/// The crate's own timers do not queue behind the user's tasks: with every
/// worker of the shared runtime spinning, a blocking timeout and a probe's
/// check still fire on time (they run on the crate's timer thread).
#[test]
fn a_busy_shared_runtime_does_not_delay_deadlines_or_checks() {
    let workers = 4;
    let spin = Duration::from_millis(1500);
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..workers {
        let started = started.clone();
        concurry::shared_runtime().spawn(async move {
            started.fetch_add(1, Ordering::SeqCst);
            let t = Instant::now();
            while t.elapsed() < spin {
                std::hint::spin_loop();
            }
        });
    }
    while started.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    let (late, noticed) = watchdog("calls beside a busy shared runtime", || {
        let t = Instant::now();
        let r = gather(vec![std::future::pending::<()>()]).timeout(SHORT).run();
        assert!(r.is_err_and(|e| e.is_timeout()));
        let late = t.elapsed() - SHORT;
        let done = std::thread::spawn(|| 1);
        std::thread::sleep(Duration::from_millis(5));
        let t = Instant::now();
        assert_eq!(try_gather([probe::thread(done)]).run().unwrap(), [1]);
        (late, t.elapsed())
    });
    eprintln!("busy shared runtime: timeout late by {late:?}; finished thread noticed after {noticed:?}");
    // Before the timer thread: 2.9 to 4.0 s late, and 1.9 s to notice.
    assert!(late < Duration::from_millis(500), "the deadline queued behind user tasks: {late:?} late");
    assert!(noticed < Duration::from_millis(500), "the check queued behind user tasks: {noticed:?}");
}

// ---- LocalSet: no panic, no deadlock ----

/// Counts panics through the panic hook, to show a path never panics (not
/// even a caught panic, which a crash reporter would still see).
fn count_panics() -> Arc<AtomicUsize> {
    static COUNT: Mutex<Option<Arc<AtomicUsize>>> = Mutex::new(None);
    let mut slot = COUNT.lock().unwrap();
    slot.get_or_insert_with(|| {
        let count = Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            seen.fetch_add(1, Ordering::SeqCst);
            default(info);
        }));
        count
    })
    .clone()
}

#[test]
fn in_a_local_set_nothing_panics_and_nothing_hangs() {
    let panics = count_panics();
    let before = panics.load(Ordering::SeqCst);
    watchdog("calls in a LocalSet", || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async {
            // `run_until`'s own future blocks in place: plain children work.
            assert_eq!(try_gather(vec![after(5, 1), after(1, 2)]).run().unwrap(), [1, 2]);
            assert_eq!(wait(vec![async { 3 }]).run().unwrap().done, [(0, 3)]);
            // A blocking call in a child of one blocking in place: in place
            // too (leaving through `block_in_place` would panic here).
            let nested = async { try_gather(vec![async { 8 }]).run().unwrap()[0] };
            assert_eq!(try_gather(vec![nested]).run().unwrap(), [8]);
            // A child waiting on the LocalSet's own task ends by the timeout,
            // not a hang.
            let local_task = tokio::task::spawn_local(async { 4 });
            let r = try_gather(vec![local_task]).timeout(SHORT).run();
            assert!(r.is_err_and(|e| e.is_timeout()));
            // A task of the LocalSet is refused: blocking it would stall the
            // others.
            let refused = tokio::task::spawn_local(async { try_gather(vec![async { 5 }]).run() }).await.unwrap();
            assert!(matches!(refused, Err(Error::Blocking(_))), "{refused:?}");
            let refused = tokio::task::spawn_local(async { wait(vec![async { 5 }]).run().map(|_| ()) }).await.unwrap();
            assert!(matches!(refused, Err(Error::Blocking(_))));
        });
        // On a current-thread runtime, inside a LocalSet: refused too.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let refused = tokio::task::LocalSet::new().block_on(&rt, async { try_gather(vec![async { 6 }]).run() });
        assert!(matches!(refused, Err(Error::Blocking(_))));
    });
    assert_eq!(panics.load(Ordering::SeqCst), before, "a blocking call in a LocalSet went through a panic");
}

/// A crate built with `panic = "abort"` runs the LocalSet cases: it must
/// exit cleanly (a caught panic would abort it).
#[test]
fn in_a_local_set_under_panic_abort() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/panic_abort/Cargo.toml");
    let target = concat!(env!("CARGO_MANIFEST_DIR"), "/target/panic_abort");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path", manifest, "--target-dir", target])
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\nstdout: {stdout}\nstderr: {stderr}", out.status);
    assert!(stdout.contains("all refused or returned"), "{stdout}");
}
