//! Adversarial tests of the two handles that wake the call themselves:
//! `task::spawn_process` (woken by `SIGCHLD`, src/exits.rs; killed and
//! reaped when dropped, src/probe.rs) and `task::spawn_thread` (a
//! `catch_unwind` thread answering over a oneshot, src/task.rs).
//!
//! Every call runs under a watchdog and, where it matters, with a polling
//! schedule of an hour, so that only a wake can end it. A defect keeps a
//! minimal test that failed before its fix.
#![cfg(unix)]

mod adversarial;

use std::future::Future;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Mutex, mpsc};
use std::task::Context;
use std::time::{Duration, Instant};

use adversarial::processes::{alive, read_pid, scratch, sh, sh_with_pid};
use adversarial::{rt_current, rt_multi, watchdog};
use concurry::task::{self, ExitFailure, TaskError};
use concurry::{async_gather, async_race, async_try_gather, async_wait, gather, race, try_gather};
use futures::StreamExt;

const HOUR: Duration = Duration::from_secs(3_600);
const DEADLINE: Duration = Duration::from_secs(15);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A process's exit code, whether it succeeded or not.
fn code(out: &Result<ExitStatus, TaskError>) -> Option<i32> {
    match out {
        Ok(status) => status.code(),
        Err(e) => e.downcast_ref::<ExitFailure>().unwrap_or_else(|| panic!("not an exit failure: {e}")).status().code(),
    }
}

/// `n` processes, the `i`th exiting with `i % 7` (after `pause`, if any).
fn coded(n: usize, pause: &str) -> Vec<task::Process> {
    (0..n).map(|i| sh(&format!("{pause} exit {}", i % 7))).collect()
}

fn check_codes(outs: &[Result<ExitStatus, TaskError>], ctx: &str) {
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(code(out), Some((i % 7) as i32), "{ctx}: process {i} has the wrong status");
    }
}

/// A sleeping process and its pid.
fn sleeper(dir: &Path, name: &str) -> (task::Process, u32) {
    let pidfile = dir.join(name);
    let p = sh_with_pid(&pidfile, "exec sleep 30");
    (p, read_pid(&pidfile))
}

/// Waits (5 s at most) for `pid` to be killed and reaped.
fn reaped(pid: u32, what: &str) {
    let until = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        assert!(Instant::now() < until, "{what}: process {pid} still runs, or is a zombie");
        std::thread::sleep(ms(10));
    }
}

// ---- many processes, every entry point ----

/// 200 processes with their own exit codes, in every entry point, with an
/// hour's schedule: each wakes the call, and each status is its own.
#[test]
fn two_hundred_processes_wake_every_entry_point_with_their_own_status() {
    watchdog(60, || {
        let outs = gather(coded(200, "")).polling(HOUR).timeout(DEADLINE).run().unwrap();
        check_codes(&outs, ".run()");

        let mut outs: Vec<_> =
            gather(coded(60, "")).polling(HOUR).timeout(DEADLINE).iter().map(|r| r.unwrap()).collect();
        outs.sort_by_key(|(k, _)| *k);
        check_codes(&outs.into_iter().map(|(_, o)| o).collect::<Vec<_>>(), ".iter()");

        for rt in [rt_current(), rt_multi()] {
            rt.block_on(async {
                let outs = async_gather(coded(200, "")).polling(HOUR).timeout(DEADLINE).await.unwrap();
                check_codes(&outs, ".await");
                let mut outs: Vec<_> = async_gather(coded(60, ""))
                    .polling(HOUR)
                    .timeout(DEADLINE)
                    .stream()
                    .map(|r| r.unwrap())
                    .collect()
                    .await;
                outs.sort_by_key(|(k, _)| *k);
                check_codes(&outs.into_iter().map(|(_, o)| o).collect::<Vec<_>>(), ".stream()");
            });
        }
    });
}

/// 100 processes that end in the same instant (their `SIGCHLD`s coalesce),
/// and 50 that ended before the call first polled them.
#[test]
fn processes_exiting_together_or_before_the_first_poll_all_wake() {
    watchdog(30, || {
        let outs = gather(coded(100, "sleep 0.3;")).polling(HOUR).timeout(DEADLINE).run().unwrap();
        check_codes(&outs, "together, .run()");
        let rt = rt_multi();
        let outs = rt.block_on(async_gather(coded(100, "sleep 0.3;")).polling(HOUR).timeout(DEADLINE)).unwrap();
        check_codes(&outs, "together, .await");

        let early = coded(50, "");
        std::thread::sleep(ms(300));
        let outs = gather(early).polling(HOUR).timeout(DEADLINE).run().unwrap();
        check_codes(&outs, "ended before the first poll");
        let early = coded(20, "");
        std::thread::sleep(ms(300));
        let outs = rt_current().block_on(async_gather(early).polling(HOUR).timeout(DEADLINE)).unwrap();
        check_codes(&outs, "ended before the first poll, .await");
    });
}

/// One process awaited on its own (no gather, so no schedule at all) from
/// every kind of caller.
#[test]
fn a_process_awaited_alone_wakes_every_kind_of_caller() {
    watchdog(30, || {
        let p = || sh("sleep 0.1; exit 3");
        let three = |out: Result<ExitStatus, TaskError>, ctx: &str| assert_eq!(code(&out), Some(3), "{ctx}");
        three(rt_current().block_on(p()), "current-thread block_on");
        three(rt_multi().block_on(p()), "multi-thread block_on");
        let rt = rt_multi();
        three(rt.block_on(rt.spawn(p())).unwrap(), "tokio::spawn on a multi-thread runtime");
        three(futures::executor::block_on(p()), "futures::executor::block_on, no runtime");
        three(
            std::thread::spawn(move || futures::executor::block_on(p())).join().unwrap(),
            "futures::executor::block_on on a fresh thread",
        );
        let out =
            std::thread::spawn(move || race([p()]).polling(HOUR).timeout(DEADLINE).run().unwrap()).join().unwrap();
        three(out, ".run() from a plain thread");
        let out =
            rt.block_on(rt.spawn_blocking(move || race([p()]).polling(HOUR).timeout(DEADLINE).run().unwrap())).unwrap();
        three(out, ".run() in spawn_blocking");
        // Twenty plain threads, each with its own blocking call, at once.
        let handles: Vec<_> = (0..20)
            .map(|_| std::thread::spawn(move || gather(coded(10, "sleep 0.05;")).polling(HOUR).timeout(DEADLINE).run()))
            .collect();
        for h in handles {
            check_codes(&h.join().unwrap().unwrap(), "twenty blocking callers at once");
        }
    });
}

// ---- other users of SIGCHLD in the same program ----

/// `tokio::process` children and `Command::output()` run beside ours:
/// neither side loses an exit, and every status is its own.
#[test]
fn tokio_process_and_std_output_beside_ours_lose_no_exit() {
    watchdog(40, || {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = stop.clone();
        // std's own children, reaped by `output()`, in a loop beside.
        let std_side = std::thread::spawn(move || {
            let mut n = 0;
            while !s.load(SeqCst) {
                let out = Command::new("sh").args(["-c", "echo hi; exit 9"]).output().unwrap();
                assert_eq!((out.status.code(), out.stdout.as_slice()), (Some(9), &b"hi\n"[..]));
                n += 1;
            }
            n
        });
        let rt = rt_multi();
        rt.block_on(async {
            for round in 0..3 {
                let theirs: Vec<_> = (0..30)
                    .map(|i| {
                        tokio::spawn(async move {
                            let status = tokio::process::Command::new("sh")
                                .args(["-c", &format!("sleep 0.0{}; exit {}", i % 5, 10 + i % 5)])
                                .status()
                                .await
                                .unwrap();
                            assert_eq!(status.code(), Some(10 + i % 5), "tokio's child {i}");
                        })
                    })
                    .collect();
                let ours = async_gather(coded(30, "sleep 0.02;")).polling(HOUR).timeout(DEADLINE);
                let (ours, theirs) = tokio::join!(ours, futures::future::join_all(theirs));
                check_codes(&ours.unwrap(), &format!("ours beside tokio's, round {round}"));
                for t in theirs {
                    t.unwrap();
                }
            }
        });
        // And tokio's children awaited by the blocking entry point's caller.
        let theirs = rt.spawn(async {
            tokio::process::Command::new("sh").args(["-c", "sleep 0.1; exit 21"]).status().await.unwrap()
        });
        let ours = gather(coded(30, "sleep 0.1;")).polling(HOUR).timeout(DEADLINE).run().unwrap();
        check_codes(&ours, "ours, blocking, beside tokio's");
        assert_eq!(rt.block_on(theirs).unwrap().code(), Some(21));
        stop.store(true, SeqCst);
        assert!(std_side.join().unwrap() > 0);
    });
}

// ---- wakes: spurious, replaced, across runtimes ----

/// A waker that counts its wakes.
struct Count(AtomicUsize);
impl futures::task::ArcWake for Count {
    fn wake_by_ref(arc: &Arc<Self>) {
        arc.0.fetch_add(1, SeqCst);
    }
}

/// A process polled by hand: spurious polls answer `Pending`; the waker of
/// the latest poll, not an earlier one, is woken at the exit; it is then
/// moved to another thread and finished by a runtime there.
#[test]
fn a_process_polled_spuriously_with_changing_wakers_is_woken_through_the_latest() {
    watchdog(20, || {
        let mut p = Box::pin(sh("sleep 0.3; exit 6"));
        let old = Arc::new(Count(AtomicUsize::new(0)));
        let new = Arc::new(Count(AtomicUsize::new(0)));
        let old_waker = futures::task::waker(old.clone());
        for _ in 0..50 {
            assert!(p.as_mut().poll(&mut Context::from_waker(&old_waker)).is_pending(), "spurious poll");
        }
        let new_waker = futures::task::waker(new.clone());
        assert!(p.as_mut().poll(&mut Context::from_waker(&new_waker)).is_pending());
        let until = Instant::now() + Duration::from_secs(10);
        while new.0.load(SeqCst) == 0 {
            assert!(Instant::now() < until, "the latest waker was never woken by the exit");
            std::thread::sleep(ms(5));
        }
        let out = std::thread::spawn(move || rt_multi().block_on(p)).join().unwrap();
        assert_eq!(code(&out), Some(6));
    });
}

/// A pending process handed back by `first_completed` on one runtime is
/// waited on again on another runtime, then on a plain thread: each wait
/// is woken by its exit.
#[test]
fn a_pending_process_moved_between_runtimes_still_wakes_each_wait() {
    watchdog(30, || {
        let a = rt_current();
        let (done, pending) = a
            .block_on(
                async_wait(vec![sh("sleep 0.4; exit 4"), sh("exit 0"), sh("sleep 0.8; exit 5")])
                    .first_completed()
                    .polling(HOUR)
                    .timeout(DEADLINE),
            )
            .unwrap()
            .into_parts();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, 1);
        // Another runtime, on another thread: the next one.
        let (done, pending) = std::thread::spawn(move || {
            rt_multi()
                .block_on(async_wait(pending).first_completed().polling(HOUR).timeout(DEADLINE))
                .unwrap()
                .into_parts()
        })
        .join()
        .unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].0, code(&done[0].1)), (0, Some(4)));
        // A blocking call on this thread: the last.
        let mut rest = pending.into_children();
        let (key, last) = rest.pop().unwrap();
        assert_eq!(key, 2);
        let out = race([last]).polling(HOUR).timeout(DEADLINE).run().unwrap();
        assert_eq!(code(&out), Some(5));
        drop(a);
    });
}

// ---- losers, timeouts, drops: killed and reaped ----

/// Losers of a race and of a failed `try_gather`, and a timed-out call's
/// processes, are killed and reaped, in every entry point.
#[test]
fn losers_and_timed_out_processes_are_killed_and_reaped_in_every_entry_point() {
    watchdog(60, || {
        let dir = scratch("losers");
        // race, .run()
        let (s, pid) = sleeper(&dir, "a");
        let first = race([s, sh("exit 2")]).polling(HOUR).timeout(DEADLINE).run().unwrap();
        assert_eq!(code(&first), Some(2));
        reaped(pid, "race .run() loser");
        // try_gather, .run()
        let (s, pid) = sleeper(&dir, "b");
        let err = try_gather([s, sh("sleep 0.05; exit 3")]).polling(HOUR).timeout(DEADLINE).run().unwrap_err();
        assert_eq!(err.child_error::<ExitFailure>().unwrap().status().code(), Some(3));
        reaped(pid, "try_gather .run() loser");
        // timeout, .run()
        let (s, pid) = sleeper(&dir, "c");
        let err = gather([s, sh("exit 0")]).polling(HOUR).timeout(ms(100)).run().unwrap_err();
        assert!(err.is_timeout());
        reaped(pid, "timed out .run()");
        // try_gather, .iter(): the failure, then the iterator dropped.
        let (s, pid) = sleeper(&dir, "d");
        let items: Vec<_> = try_gather([s, sh("exit 3")]).polling(HOUR).timeout(DEADLINE).iter().collect();
        assert!(items.iter().any(Result::is_err), "the failure is an item");
        reaped(pid, "try_gather .iter() loser");
        // .iter() dropped after its first item.
        let (s, pid) = sleeper(&dir, "e");
        let mut it = gather([s, sh("exit 0")]).polling(HOUR).timeout(DEADLINE).iter();
        assert_eq!(it.next().unwrap().unwrap().0, 1);
        drop(it);
        reaped(pid, ".iter() dropped midway");

        for rt in [rt_current(), rt_multi()] {
            rt.block_on(async {
                let (s, pid) = sleeper(&dir, "f");
                let first = async_race([s, sh("exit 2")]).polling(HOUR).timeout(DEADLINE).await.unwrap();
                assert_eq!(code(&first), Some(2));
                reaped(pid, "async_race loser");
                let (s, pid) = sleeper(&dir, "g");
                let err = async_try_gather([s, sh("exit 3")]).polling(HOUR).timeout(DEADLINE).await.unwrap_err();
                assert!(err.child_error::<ExitFailure>().is_some());
                reaped(pid, "async_try_gather loser");
                let (s, pid) = sleeper(&dir, "h");
                let err = async_gather([s, sh("exit 0")]).polling(HOUR).timeout(ms(100)).await.unwrap_err();
                assert!(err.is_timeout());
                reaped(pid, "timed out .await");
                let (s, pid) = sleeper(&dir, "i");
                let mut stream = Box::pin(async_gather([s, sh("exit 0")]).polling(HOUR).timeout(DEADLINE).stream());
                assert_eq!(stream.next().await.unwrap().unwrap().0, 1);
                drop(stream);
                reaped(pid, ".stream() dropped midway");
                let (s, pid) = sleeper(&dir, "j");
                let items: Vec<_> =
                    async_try_gather([s, sh("exit 3")]).polling(HOUR).timeout(DEADLINE).stream().collect().await;
                assert!(items.iter().any(Result::is_err));
                reaped(pid, "try_gather .stream() loser");
                // The whole call's future dropped mid-way (a select! losing).
                let (s, pid) = sleeper(&dir, "k");
                tokio::select! {
                    _ = async_gather([s]).polling(HOUR) => panic!("a 30 s sleeper finished"),
                    () = tokio::time::sleep(ms(50)) => {}
                }
                reaped(pid, "the call's future dropped");
            });
        }
        let _ = std::fs::remove_dir_all(dir);
    });
}

/// A process awaited in a task when its runtime shuts down, and one
/// dropped on a `spawn_blocking` thread, are killed and reaped.
#[test]
fn a_process_dropped_at_runtime_shutdown_is_killed_and_reaped() {
    watchdog(30, || {
        let dir = scratch("shutdown");
        for (i, rt) in [rt_current(), rt_multi()].into_iter().enumerate() {
            let (s, pid) = sleeper(&dir, &format!("a{i}"));
            let (s2, pid2) = sleeper(&dir, &format!("b{i}"));
            let started = Arc::new(AtomicUsize::new(0));
            let st = started.clone();
            rt.spawn(async move {
                st.fetch_add(1, SeqCst);
                let _ = async_gather([s]).polling(HOUR).await;
            });
            let st = started.clone();
            rt.spawn(async move {
                st.fetch_add(1, SeqCst);
                let _ = s2.await;
            });
            rt.block_on(async {
                while started.load(SeqCst) < 2 {
                    tokio::time::sleep(ms(5)).await;
                }
            });
            drop(rt);
            reaped(pid, "gathered in a task at shutdown");
            reaped(pid2, "awaited in a task at shutdown");
        }
        let rt = rt_multi();
        let (s, pid) = sleeper(&dir, "c");
        rt.block_on(rt.spawn_blocking(move || drop(s))).unwrap();
        reaped(pid, "dropped in spawn_blocking");
        // Shut down in the background: the drop may happen on another thread.
        let (s, pid) = sleeper(&dir, "d");
        rt.spawn(async move {
            let _ = s.await;
        });
        std::thread::sleep(ms(50));
        rt.shutdown_background();
        reaped(pid, "shut down in the background");
        let _ = std::fs::remove_dir_all(dir);
    });
}

// ---- a piped stdin ----

/// `cat` with a piped stdin ends at once under `Command::status()` or a
/// `Child::wait()`, which close the child's stdin before waiting; so does
/// it under `spawn_process`, which closes it at spawn (nothing could write
/// to it), in every entry point.
#[test]
fn a_process_with_a_piped_stdin_ends_as_under_command_status() {
    watchdog(30, || {
        let cat = || {
            let mut c = Command::new("cat");
            c.stdin(Stdio::piped()).stdout(Stdio::null());
            c
        };
        // What std does with the same command: it ends at once.
        assert!(cat().status().unwrap().success());
        assert!(cat().spawn().unwrap().wait().unwrap().success());
        let two = Duration::from_secs(2);
        let mut failures = Vec::new();
        let out = race([task::spawn_process(cat())]).timeout(two).run();
        failures.extend(out.err().map(|e| format!(".run(): {e}")));
        let out: Vec<_> = try_gather([task::spawn_process(cat())]).timeout(two).iter().collect();
        failures.extend(out.into_iter().filter_map(Result::err).map(|e| format!(".iter(): {e}")));
        rt_current().block_on(async {
            let out = async_race([task::spawn_process(cat())]).timeout(two).await;
            failures.extend(out.err().map(|e| format!(".await: {e}")));
            let out: Vec<_> = async_try_gather([task::spawn_process(cat())]).timeout(two).stream().collect().await;
            failures.extend(out.into_iter().filter_map(Result::err).map(|e| format!(".stream(): {e}")));
        });
        assert!(failures.is_empty(), "{failures:#?}");
    });
}

// ---- one bad waker must not end every process's wakes ----

/// A waker whose `wake` panics.
struct Panicky;
impl futures::task::ArcWake for Panicky {
    fn wake_by_ref(_: &Arc<Self>) {
        panic!("a waker that panics");
    }
}

/// The `SIGCHLD` listener is the one task that wakes every process: a
/// waker that panics there (some executor's bug, anywhere in the program)
/// must not end it, or every later call over a running process would hang
/// (here: meet a 5 s timeout). Run in a child test process, since a broken
/// listener would break every other test of the program.
#[test]
fn a_panicking_waker_does_not_stop_later_exits_from_waking() {
    const INNER: &str = "CONCURRY_ADV_EXITS_INNER";
    if std::env::var_os(INNER).is_none() {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "a_panicking_waker_does_not_stop_later_exits_from_waking", "--include-ignored"])
            .args(["--nocapture", "--test-threads=1"])
            .env(INNER, "1")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "the child test failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    watchdog(30, || {
        // A process whose watch holds a panicking waker when it exits.
        let mut bad = Box::pin(sh("sleep 0.1"));
        let waker = futures::task::waker(Arc::new(Panicky));
        assert!(bad.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        std::thread::sleep(ms(500));
        // Later calls, over processes still running when first polled.
        let blocking = gather(vec![sh("sleep 0.2; exit 0")]).timeout(Duration::from_secs(5)).run();
        let awaited =
            rt_current().block_on(async_gather(vec![sh("sleep 0.2; exit 0")]).timeout(Duration::from_secs(5)));
        drop(bad);
        assert!(blocking.is_ok() && awaited.is_ok(), ".run(): {blocking:?}\n.await: {awaited:?}");
    });
}

// ---- spawn_thread ----

/// Panics with payloads that are not strings, one whose own `Drop`
/// panics included, fail the thread's handle (not hang it, not abort).
#[test]
fn a_thread_panicking_with_odd_payloads_fails_its_handle() {
    struct LoudPayload;
    impl Drop for LoudPayload {
        fn drop(&mut self) {
            panic!("the payload's drop panics");
        }
    }
    watchdog(20, || {
        let n = task::spawn_thread(|| -> Result<u8, String> { std::panic::panic_any(42u32) });
        let err = futures::executor::block_on(n).unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "thread panicked: <non-string panic payload>");
        let t = task::spawn_thread(|| -> Result<u8, String> { std::panic::panic_any(LoudPayload) });
        let err = try_gather([t]).polling(HOUR).timeout(DEADLINE).run().unwrap_err();
        assert!(err.child_error::<TaskError>().unwrap().is_panic(), "{err}");
        let boxed = task::spawn_thread(|| -> Result<u8, String> {
            std::panic::panic_any(Box::new(String::from("boxed")) as Box<dyn std::any::Any + Send>)
        });
        let err = rt_current().block_on(boxed).unwrap_err();
        assert!(err.is_panic());
    });
}

/// Counts the drops of an output, and the thread each happened on.
#[derive(Debug)]
struct Tracked {
    drops: Arc<Mutex<Vec<std::thread::ThreadId>>>,
    loud: bool,
}
impl Drop for Tracked {
    fn drop(&mut self) {
        self.drops.lock().unwrap().push(std::thread::current().id());
        if self.loud {
            panic!("the output's drop panics");
        }
    }
}

/// An output whose `Drop` panics reaches the caller (who drops it); with
/// its handle gone first, it is dropped (and panics) on its own thread,
/// which disturbs nobody.
#[test]
fn a_thread_output_whose_drop_panics_is_dropped_once_where_documented() {
    watchdog(20, || {
        let drops = Arc::new(Mutex::new(Vec::new()));
        let d = drops.clone();
        let t = task::spawn_thread(move || Ok::<_, String>(Tracked { drops: d, loud: true }));
        let out = try_gather([t]).polling(HOUR).timeout(DEADLINE).run().unwrap();
        std::mem::forget(out); // dropping it would panic here, as asked
        assert!(drops.lock().unwrap().is_empty());

        let (go, wait) = mpsc::channel::<()>();
        let (id_tx, id_rx) = mpsc::channel();
        let d = drops.clone();
        let t = task::spawn_thread(move || {
            id_tx.send(std::thread::current().id()).unwrap();
            wait.recv().unwrap();
            Ok::<_, String>(Tracked { drops: d, loud: true })
        });
        let id = id_rx.recv().unwrap();
        drop(t);
        go.send(()).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while drops.lock().unwrap().is_empty() {
            assert!(Instant::now() < until, "the orphaned output was never dropped");
            std::thread::sleep(ms(5));
        }
        assert_eq!(*drops.lock().unwrap(), [id], "dropped once, on its own thread");
        // Threads after it still answer.
        let out = try_gather((0..10).map(|i| task::spawn_thread(move || Ok::<_, String>(i))).collect::<Vec<_>>())
            .polling(HOUR)
            .timeout(DEADLINE)
            .run()
            .unwrap();
        assert_eq!(out, (0..10).collect::<Vec<_>>());
    });
}

/// A thousand threads released at once, in every entry point, with an
/// hour's schedule; then a call dropped mid-way: every output dropped
/// exactly once, none leaked.
#[test]
fn a_thousand_threads_wake_every_entry_point_and_leak_nothing() {
    watchdog(60, || {
        let many = |n: usize| {
            let gate = Arc::new(Barrier::new(n));
            (0..n)
                .map(|i| {
                    let gate = gate.clone();
                    task::spawn_thread(move || {
                        gate.wait();
                        Ok::<_, String>(i)
                    })
                })
                .collect::<Vec<_>>()
        };
        let sum: usize = (0..1000).sum();
        let out = try_gather(many(1000)).polling(HOUR).timeout(DEADLINE).run().unwrap();
        assert_eq!(out.iter().sum::<usize>(), sum, ".run()");
        let out: usize =
            try_gather(many(300)).polling(HOUR).timeout(DEADLINE).iter().map(|r| r.unwrap().1).sum::<usize>();
        assert_eq!(out, (0..300).sum::<usize>(), ".iter()");
        for rt in [rt_current(), rt_multi()] {
            rt.block_on(async {
                let out = async_try_gather(many(1000)).polling(HOUR).timeout(DEADLINE).await.unwrap();
                assert_eq!(out.iter().sum::<usize>(), sum, ".await");
                let out: usize = async_try_gather(many(300))
                    .polling(HOUR)
                    .timeout(DEADLINE)
                    .stream()
                    .map(|r| r.unwrap().1)
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .sum();
                assert_eq!(out, (0..300).sum::<usize>(), ".stream()");
            });
        }

        // A call dropped mid-way (timed out): its threads run on, each
        // output dropped once.
        let drops = Arc::new(Mutex::new(Vec::new()));
        let (go, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let threads: Vec<_> = (0..200)
            .map(|i| {
                let (d, wait) = (drops.clone(), wait.clone());
                task::spawn_thread(move || {
                    if i % 2 == 0 {
                        let _ = wait.lock().unwrap().recv();
                    }
                    Ok::<_, String>(Tracked { drops: d, loud: false })
                })
            })
            .collect();
        let err = try_gather(threads).polling(HOUR).timeout(ms(200)).run().unwrap_err();
        assert!(err.is_timeout());
        drop(go);
        let until = Instant::now() + Duration::from_secs(10);
        while drops.lock().unwrap().len() < 200 {
            assert!(Instant::now() < until, "outputs leaked: {} of 200 dropped", drops.lock().unwrap().len());
            std::thread::sleep(ms(5));
        }
        std::thread::sleep(ms(50));
        assert_eq!(drops.lock().unwrap().len(), 200, "an output dropped twice");
    });
}

/// A panic among threads fails a fail-fast call at once, woken by the
/// panicking thread, in every entry point.
#[test]
fn a_panicking_thread_fails_fast_in_every_entry_point() {
    let threads = || -> Vec<task::Thread<u8>> {
        let mut v: Vec<_> = (0..5)
            .map(|_| {
                task::spawn_thread(|| {
                    std::thread::sleep(Duration::from_secs(1));
                    Ok::<u8, String>(0)
                })
            })
            .collect();
        v.push(task::spawn_thread(|| -> Result<u8, String> { std::panic::panic_any(7i64) }));
        v
    };
    let is_panic = |e: &concurry::Error| e.child_error::<TaskError>().is_some_and(TaskError::is_panic);
    watchdog(30, move || {
        let err = try_gather(threads()).polling(HOUR).timeout(DEADLINE).run().unwrap_err();
        assert!(is_panic(&err), ".run(): {err}");
        let items: Vec<_> = try_gather(threads()).polling(HOUR).timeout(DEADLINE).iter().collect();
        assert!(items.iter().any(|r| r.as_ref().is_err_and(is_panic)), ".iter()");
        rt_current().block_on(async {
            let err = async_try_gather(threads()).polling(HOUR).timeout(DEADLINE).await.unwrap_err();
            assert!(is_panic(&err), ".await: {err}");
            let items: Vec<_> = async_try_gather(threads()).polling(HOUR).timeout(DEADLINE).stream().collect().await;
            assert!(items.iter().any(|r| r.as_ref().is_err_and(is_panic)), ".stream()");
        });
    });
}

/// A `Thread` polled by hand: spurious polls answer `Pending`, the latest
/// waker is woken, and a different runtime can finish it.
#[test]
fn a_thread_polled_spuriously_then_moved_is_woken_through_the_latest_waker() {
    watchdog(20, || {
        let (go, wait) = mpsc::channel::<()>();
        let mut t = Box::pin(task::spawn_thread(move || {
            wait.recv().unwrap();
            Ok::<u8, String>(9)
        }));
        let old = Arc::new(Count(AtomicUsize::new(0)));
        let new = Arc::new(Count(AtomicUsize::new(0)));
        let old_waker = futures::task::waker(old.clone());
        for _ in 0..20 {
            assert!(t.as_mut().poll(&mut Context::from_waker(&old_waker)).is_pending());
        }
        let new_waker = futures::task::waker(new.clone());
        assert!(t.as_mut().poll(&mut Context::from_waker(&new_waker)).is_pending());
        go.send(()).unwrap();
        let until = Instant::now() + Duration::from_secs(10);
        while new.0.load(SeqCst) == 0 {
            assert!(Instant::now() < until, "the latest waker was never woken");
            std::thread::sleep(ms(5));
        }
        let out = std::thread::spawn(move || rt_multi().block_on(t)).join().unwrap();
        assert_eq!(out.unwrap(), 9);
    });
}
