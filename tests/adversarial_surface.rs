//! Adversarial tests of the newest surface: `race` / `async_race`,
//! `task::{spawn, spawn_thread, spawn_process, flatten}`, `TaskError`,
//! `.names(..)`, `Partial` / `keep_partial` / `into_done`,
//! `Waited::into_parts`, and the errors' messages. Every call that could
//! hang runs under a watchdog.

mod adversarial;

use std::future::{Future, pending, ready};
use std::pin::Pin;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use adversarial::processes::{alive, read_pid, scratch, sh, sh_with_pid};
use adversarial::{rt_current, rt_multi, watchdog};
use concurry::task::{self, ExitFailure};
use concurry::{Error, Partial, async_gather, async_race, async_try_gather, gather, race, try_gather, wait};
use tokio_util::sync::CancellationToken;

type BoxFut<T> = Pin<Box<dyn Future<Output = T> + Send>>;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Collects the failed checks of a test with several, to report them all.
#[derive(Default)]
struct Checks(Vec<String>);
impl Checks {
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.0.push(what.into());
        }
    }
    fn finish(self) {
        assert!(self.0.is_empty(), "{} failed check(s):\n- {}", self.0.len(), self.0.join("\n- "));
    }
}

/// Waits (10 s at most) until `cond` holds.
fn eventually(what: &str, cond: impl Fn() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < until, "never: {what}");
        std::thread::sleep(ms(5));
    }
}

/// Counts drops.
#[derive(Clone, Default)]
struct Drops(Arc<AtomicUsize>);
struct Guard(Arc<AtomicUsize>);
impl Drop for Guard {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}
impl Drops {
    fn guard(&self) -> Guard {
        Guard(self.0.clone())
    }
    fn count(&self) -> usize {
        self.0.load(SeqCst)
    }
}

#[derive(Debug, PartialEq, thiserror::Error)]
#[error("replica {0} is draining")]
struct Draining(u32);

// ---------------------------------------------------------------------------
// race: zero and huge timeouts, tokens cancelled before the call
// ---------------------------------------------------------------------------

#[test]
fn a_zero_timeout_race_takes_a_child_that_is_ready_at_once() {
    watchdog(10, || {
        let kids: Vec<BoxFut<u8>> = vec![Box::pin(pending()), Box::pin(ready(3))];
        assert_eq!(race(kids).timeout(Duration::ZERO).run().unwrap(), 3);
        let out = rt_current().block_on(async {
            let kids: Vec<BoxFut<u8>> = vec![Box::pin(pending()), Box::pin(ready(4))];
            async_race(kids).timeout(Duration::ZERO).await
        });
        assert_eq!(out.unwrap(), 4);
    });
}

#[test]
fn a_zero_timeout_race_takes_a_finished_thread_and_a_process_that_cannot_start() {
    watchdog(10, || {
        let handle = std::thread::spawn(|| 9u8);
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        let first = race([concurry::probe::thread(handle)]).timeout(Duration::ZERO).run().unwrap();
        assert_eq!(first.unwrap(), 9);
        let first = race([task::spawn_process(Command::new("/no/such/program/adv22")), sh("sleep 30")])
            .timeout(Duration::ZERO)
            .run()
            .unwrap();
        assert!(first.unwrap_err().downcast_ref::<std::io::Error>().is_some());
    });
}

#[test]
fn a_zero_timeout_race_of_pending_work_times_out_and_names_it() {
    watchdog(10, || {
        let t = task::spawn_thread(|| {
            std::thread::sleep(ms(300));
            Ok::<u8, std::io::Error>(1)
        });
        let err = race([t]).names(["slow thread"]).timeout(Duration::ZERO).run().unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert_eq!(err.to_string(), "timed out after 0s: 0 of 1 completed; still pending: slow thread");
        let as_anyhow = anyhow::Error::from(err);
        assert_eq!(format!("{as_anyhow:#}"), "timed out after 0s: 0 of 1 completed; still pending: slow thread");
    });
}

#[test]
fn a_max_timeout_race_runs_to_its_winner() {
    watchdog(10, || {
        let sleeper = |d: u64| {
            task::spawn_thread(move || {
                std::thread::sleep(ms(d));
                Ok::<u64, std::io::Error>(d)
            })
        };
        assert_eq!(race([sleeper(2_000), sleeper(5)]).timeout(Duration::MAX).run().unwrap().unwrap(), 5);
        let out = rt_multi().block_on(async {
            let a = task::spawn(async { Ok::<u8, std::io::Error>(1) });
            async_race([a]).timeout(Duration::MAX).await
        });
        assert_eq!(out.unwrap().unwrap(), 1);
        // A process too, and a gather with the same timeout.
        let first = race([sh("exit 0")]).timeout(Duration::MAX).run().unwrap();
        assert!(first.unwrap().success());
        let all = try_gather([sh("true"), sh("true")]).timeout(Duration::MAX).run().unwrap();
        assert!(all.iter().all(std::process::ExitStatus::success));
    });
}

#[test]
fn a_token_cancelled_before_the_race_ends_it_unless_a_child_is_ready() {
    watchdog(10, || {
        let token = CancellationToken::new();
        token.cancel();
        let never = [pending::<u8>(), pending()];
        let err = race(never).names(["a", "b"]).cancel_on(token.clone()).run().unwrap_err();
        assert!(err.is_cancelled() && !err.is_timeout(), "{err:?}");
        assert!(err.to_string().starts_with("cancelled after "), "{err}");
        assert!(err.to_string().ends_with(": 0 of 2 completed; still pending: a, b"), "{err}");
        // A ready child is taken first: the token is a deadline at that instant.
        let kids: Vec<BoxFut<u8>> = vec![Box::pin(pending()), Box::pin(ready(2))];
        assert_eq!(race(kids).cancel_on(token.clone()).run().unwrap(), 2);
        // Over threads and processes that run on: cancelled at once.
        let started = Instant::now();
        let t = task::spawn_thread(|| {
            std::thread::sleep(ms(3_000));
            Ok::<u8, std::io::Error>(1)
        });
        let err = race([t]).cancel_on(token.clone()).run().unwrap_err();
        assert!(err.is_cancelled());
        let err = race([sh("sleep 30")]).cancel_on(token).run().unwrap_err();
        assert!(err.is_cancelled());
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    });
}

#[test]
fn a_token_cancelled_during_a_gather_of_processes_kills_them() {
    watchdog(20, || {
        let dir = scratch("cancel-processes");
        let pidfile = dir.join("pid");
        let token = CancellationToken::new();
        let trigger = token.clone();
        let pf = pidfile.clone();
        std::thread::spawn(move || {
            read_pid(&pf);
            trigger.cancel();
        });
        let err = gather([sh_with_pid(&pidfile, "exec sleep 30")]).cancel_on(token).run().unwrap_err();
        assert!(err.is_cancelled(), "{err:?}");
        assert!(!alive(read_pid(&pidfile)), "the cancelled process was left running");
    });
}

// ---------------------------------------------------------------------------
// race: failures, panics, processes that fail
// ---------------------------------------------------------------------------

#[test]
fn a_race_where_every_child_fails_gives_the_first_failure() {
    watchdog(10, || {
        let out = rt_current().block_on(async {
            let fail = |id: u32, d: u64| async move {
                tokio::time::sleep(ms(d)).await;
                Err::<u8, _>(Draining(id))
            };
            async_race([fail(1, 60), fail(2, 5), fail(3, 30)]).await
        });
        assert_eq!(out.unwrap(), Err(Draining(2)));
        let threads = [2u32, 1].map(|id| {
            task::spawn_thread(move || {
                std::thread::sleep(ms(u64::from(id) * 150));
                Err::<u8, _>(Draining(id))
            })
        });
        let first = race(threads).run().unwrap().unwrap_err();
        assert_eq!(first.downcast::<Draining>().unwrap(), Draining(1));
    });
}

#[test]
fn a_panicking_task_or_thread_wins_a_race_as_a_panic() {
    watchdog(10, || {
        let err = rt_multi().block_on(async {
            let boom = task::spawn(async {
                panic!("boom in task");
                #[allow(unreachable_code)]
                Ok::<u8, Draining>(0)
            });
            let slow = task::spawn(async {
                tokio::time::sleep(ms(5_000)).await;
                Ok::<u8, Draining>(1)
            });
            async_race([boom, slow]).await.unwrap().unwrap_err()
        });
        assert!(err.is_panic() && !err.is_failed() && !err.is_aborted(), "{err:?}");
        assert_eq!(err.to_string(), "task panicked: boom in task");
        assert!(err.downcast_ref::<Draining>().is_none());
        let err = err.downcast::<Draining>().unwrap_err();
        assert!(err.is_panic(), "a failed downcast gives the panic back");
        assert!(err.into_error().unwrap_err().is_panic());

        let boom = task::spawn_thread(|| -> Result<u8, Draining> { panic!("boom in thread") });
        let slow = task::spawn_thread(|| {
            std::thread::sleep(ms(1_000));
            Ok::<u8, Draining>(1)
        });
        let err = race([boom, slow]).run().unwrap().unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert!(err.to_string().contains("boom in thread"), "{err}");
        // A payload that is not a string.
        let odd = task::spawn_thread(|| -> Result<u8, Draining> { std::panic::panic_any(42u32) });
        let err = race([odd]).run().unwrap().unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "thread panicked: <non-string panic payload>");
    });
}

#[test]
fn a_process_that_cannot_start_exits_non_zero_or_is_killed_wins_as_an_err() {
    use std::os::unix::process::ExitStatusExt;
    watchdog(20, || {
        let first = race([task::spawn_process(Command::new("/no/such/program/adv22")), sh("sleep 30")]).run().unwrap();
        let err = first.unwrap_err();
        assert!(err.is_failed());
        assert_eq!(err.downcast_ref::<std::io::Error>().unwrap().kind(), std::io::ErrorKind::NotFound);

        let first = race([sh("exit 7"), sh("sleep 30")]).run().unwrap();
        let failure = first.unwrap_err().downcast::<ExitFailure>().unwrap();
        assert_eq!(failure.status().code(), Some(7));
        assert_eq!(failure.to_string(), "sh -c 'exit 7' exited with exit status: 7");

        let first = race([sh("kill -9 $$"), sh("sleep 30")]).run().unwrap();
        let failure = first.unwrap_err().downcast::<ExitFailure>().unwrap();
        assert_eq!(failure.status().signal(), Some(9));
        assert!(failure.to_string().contains("SIGKILL"), "{failure}");

        // Through try_gather, the failure is named and its source is the exit.
        let err = try_gather([sh("true"), sh("kill -TERM $$")]).names(["ok", "killed"]).run().unwrap_err();
        assert_eq!(err.failed_key().unwrap().name(), "killed");
        assert_eq!(err.child_error::<ExitFailure>().unwrap().status().signal(), Some(15));
    });
}

/// A process that cannot start names its command in its error (as a
/// non-zero exit does), so in a race or a gather of several commands the
/// missing one is known; the `io::Error` keeps the system's kind.
#[test]
fn a_process_that_cannot_start_is_named_in_its_error() {
    watchdog(10, || {
        let mut checks = Checks::default();
        let first = race([task::spawn_process(Command::new("/no/such/program/adv22"))]).run().unwrap();
        let err = first.unwrap_err();
        checks.check(
            err.to_string().contains("/no/such/program/adv22"),
            format!("race's Err reads {:?}", err.to_string()),
        );
        let err = try_gather([task::spawn_process(Command::new("/no/such/program/adv22"))]).run().unwrap_err();
        let text = format!("{:#}", anyhow::Error::from(err));
        checks.check(text.contains("/no/such/program/adv22"), format!("try_gather's {{:#}} reads {text:?}"));
        checks.finish();
    });
}

// ---------------------------------------------------------------------------
// race: the losers
// ---------------------------------------------------------------------------

#[test]
fn a_losing_process_is_killed_and_reaped() {
    watchdog(20, || {
        let dir = scratch("loser");
        let pidfile = dir.join("pid");
        let loser = sh_with_pid(&pidfile, "exec sleep 30");
        let p = pidfile.display();
        let winner = sh(&format!("while [ ! -s {p} ]; do sleep 0.01; done"));
        let first = race([loser, winner]).run().unwrap();
        assert!(first.unwrap().success());
        assert!(!alive(read_pid(&pidfile)), "the losing process still runs");

        // Async, in a tuple with a task, the same.
        let pidfile = dir.join("pid2");
        let loser = sh_with_pid(&pidfile, "exec sleep 30");
        let pf = pidfile.clone();
        let won = rt_multi().block_on(async move {
            let winner = task::spawn(async move {
                while std::fs::read_to_string(&pf).map_or(true, |t| t.trim().is_empty()) {
                    tokio::time::sleep(ms(5)).await;
                }
                Ok::<u8, std::io::Error>(1)
            });
            async_race((loser, winner)).await.unwrap()
        });
        assert!(matches!(won, concurry::shape::tuple::Tuple2Output::E1(Ok(1))));
        assert!(!alive(read_pid(&pidfile)), "the losing process still runs");
    });
}

#[test]
fn a_timed_out_gather_of_processes_kills_them_unless_kept() {
    watchdog(20, || {
        let dir = scratch("timeout");
        let pidfile = dir.join("pid");
        let proc_ = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let err = try_gather([proc_]).timeout(Duration::ZERO).run().unwrap_err();
        assert!(err.is_timeout());
        assert!(!alive(pid), "the timed-out process still runs");

        // Kept: alive in the partial result, killed when that is dropped.
        let pidfile = dir.join("pid2");
        let proc_ = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let got = try_gather(vec![proc_, sh("true")]).names(["sleeper", "quick"]).timeout(ms(100)).keep_partial().run();
        let (error, partial) = got.unwrap().into_interrupted().expect("the sleeper cannot finish");
        assert_eq!(error.interrupted().unwrap().pending_names()[0], "sleeper");
        assert!(alive(pid), "a kept process was killed");
        let children = partial.pending.into_children();
        let (_, sleeper) = children.into_iter().find(|(key, _)| *key == 0).expect("the sleeper is pending");
        assert!(alive(pid));
        // Raced again with a zero timeout, then dropped with the error.
        let err = race([sleeper]).timeout(Duration::ZERO).run().unwrap_err();
        assert!(err.is_timeout());
        assert!(!alive(pid), "the process was not killed once its handle was dropped");
    });
}

#[test]
fn waited_into_parts_keeps_the_other_processes_until_dropped() {
    watchdog(20, || {
        let dir = scratch("parts");
        let pidfile = dir.join("pid");
        let sleeper = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let (done, pending) = wait(vec![sleeper, sh("exit 3")]).first_completed().run().unwrap().into_parts();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].0, 1);
        assert_eq!(done[0].1.as_ref().unwrap_err().downcast_ref::<ExitFailure>().unwrap().status().code(), Some(3));
        assert_eq!(pending.keys().collect::<Vec<_>>(), [0]);
        assert!(alive(pid));
        drop(pending);
        assert!(!alive(pid), "dropping the pending set left the process running");
    });
}

#[test]
fn a_losing_task_is_aborted_on_every_runtime() {
    watchdog(20, || {
        for rt in [rt_current(), rt_multi()] {
            let drops = Drops::default();
            let d = drops.clone();
            let first = rt.block_on(async move {
                let g = d.guard();
                let loser = task::spawn(async move {
                    let _g = g;
                    tokio::time::sleep(ms(30_000)).await;
                    Ok::<u8, std::io::Error>(0)
                });
                let winner = task::spawn(async { Ok::<u8, std::io::Error>(1) });
                let first = async_race([loser, winner]).await;
                for _ in 0..100 {
                    if d.count() == 1 {
                        break;
                    }
                    tokio::time::sleep(ms(10)).await;
                }
                first
            });
            assert_eq!(first.unwrap().unwrap(), 1);
            eventually("the losing task is aborted", || drops.count() == 1);
        }
        // From blocking code, on the shared runtime.
        let drops = Drops::default();
        let g = drops.guard();
        let (loser, winner) = {
            let _enter = concurry::shared_runtime().enter();
            let loser = task::spawn(async move {
                let _g = g;
                std::future::pending::<Result<u8, std::io::Error>>().await
            });
            (loser, task::spawn(async { Ok::<u8, std::io::Error>(2) }))
        };
        assert_eq!(race([loser, winner]).run().unwrap().unwrap(), 2);
        eventually("the losing task is aborted", || drops.count() == 1);
    });
}

#[test]
fn a_losing_thread_runs_on_and_its_output_is_dropped_when_it_ends() {
    watchdog(20, || {
        let drops = Drops::default();
        let g = drops.guard();
        let (release, hold) = mpsc::channel::<()>();
        let loser = task::spawn_thread(move || {
            let _ = hold.recv();
            Ok::<Guard, std::io::Error>(g)
        });
        let winner = task::spawn_thread(|| Ok::<Guard, std::io::Error>(Guard(Arc::new(AtomicUsize::new(0)))));
        let started = Instant::now();
        let first = race([loser, winner]).run().unwrap();
        assert!(first.is_ok());
        assert!(started.elapsed() < Duration::from_secs(5), "the race waited for its loser");
        assert_eq!(drops.count(), 0, "the loser has not returned yet");
        release.send(()).unwrap();
        eventually("the detached loser's output is dropped", || drops.count() == 1);
    });
}

#[test]
fn a_plain_join_handle_that_loses_detaches_as_documented() {
    watchdog(20, || {
        let finished = Arc::new(AtomicUsize::new(0));
        let f = finished.clone();
        rt_multi().block_on(async move {
            let f2 = f.clone();
            let slow = task::flatten(tokio::spawn(async move {
                tokio::time::sleep(ms(100)).await;
                f2.fetch_add(1, SeqCst);
                Ok::<u8, std::io::Error>(0)
            }));
            let fast = task::flatten(tokio::spawn(async { Ok::<u8, std::io::Error>(1) }));
            assert_eq!(async_race([slow, fast]).await.unwrap().unwrap(), 1);
            for _ in 0..500 {
                if f.load(SeqCst) == 1 {
                    break;
                }
                tokio::time::sleep(ms(10)).await;
            }
        });
        assert_eq!(finished.load(SeqCst), 1, "a plain JoinHandle's task runs on");
    });
}

// ---------------------------------------------------------------------------
// race: where `.run()` may block
// ---------------------------------------------------------------------------

fn quick_race() -> Result<u8, Error> {
    let t = task::spawn_thread(|| {
        std::thread::sleep(ms(20));
        Ok::<u8, std::io::Error>(5)
    });
    race([t]).run().map(|r| r.unwrap())
}

#[test]
fn a_blocking_race_runs_from_a_plain_thread_spawn_blocking_a_worker_and_block_on() {
    watchdog(20, || {
        assert_eq!(quick_race().unwrap(), 5);
        let rt = rt_multi();
        assert_eq!(rt.block_on(async { tokio::task::spawn_blocking(quick_race).await.unwrap() }).unwrap(), 5);
        assert_eq!(rt.block_on(async { tokio::spawn(async { quick_race() }).await.unwrap() }).unwrap(), 5);
        assert_eq!(rt.block_on(async { quick_race() }).unwrap(), 5);
        // With the runtime's own tasks as children, from a worker.
        let out = rt.block_on(async {
            tokio::spawn(async {
                let a = task::spawn(async {
                    tokio::time::sleep(ms(10)).await;
                    Ok::<u8, std::io::Error>(6)
                });
                race([a]).run()
            })
            .await
            .unwrap()
        });
        assert_eq!(out.unwrap().unwrap(), 6);
        // A current-thread runtime's spawn_blocking, with that runtime's tasks.
        let cur = rt_current();
        let out = cur.block_on(async {
            let a = task::spawn(async {
                tokio::time::sleep(ms(10)).await;
                Ok::<u8, std::io::Error>(7)
            });
            tokio::task::spawn_blocking(move || race([a]).run()).await.unwrap()
        });
        assert_eq!(out.unwrap().unwrap(), 7);
    });
}

#[test]
fn a_blocking_race_on_a_current_thread_runtime_is_a_blocking_error_not_a_hang() {
    watchdog(10, || {
        let err = rt_current().block_on(async { race([pending::<u8>()]).run() }).unwrap_err();
        assert!(matches!(err, Error::Blocking(_)), "{err:?}");
        let local = tokio::task::LocalSet::new();
        let err = rt_current()
            .block_on(local.run_until(async { tokio::task::spawn_local(async { quick_race() }).await.unwrap() }))
            .unwrap_err();
        assert!(matches!(err, Error::Blocking(_)), "{err:?}");
    });
}

/// A race's errors name the race as the entry point the user called: a
/// blocking refusal advises `async_race(..).await`, and a timeout's
/// `Interrupted::entry()` is "race" / "async_race" (a race runs as a wait
/// underneath).
#[test]
fn a_races_errors_name_race_as_the_entry_point() {
    watchdog(10, || {
        let mut checks = Checks::default();
        let err = rt_current().block_on(async { race([pending::<u8>()]).run() }).unwrap_err();
        let text = err.to_string();
        checks.check(text.starts_with("race() cannot block"), format!("Blocking says: {text}"));
        checks.check(text.contains("async_race(..).await"), format!("Blocking advises: {text}"));
        let err = race([pending::<u8>()]).timeout(Duration::ZERO).run().unwrap_err();
        let entry = err.interrupted().unwrap().entry();
        checks.check(entry == "race", format!("a race's timeout has entry() == {entry:?}"));
        let err =
            rt_current().block_on(async { async_race([pending::<u8>()]).timeout(Duration::ZERO).await }).unwrap_err();
        let entry = err.interrupted().unwrap().entry();
        checks.check(entry == "async_race", format!("an async race's timeout has entry() == {entry:?}"));
        checks.finish();
    });
}

#[test]
fn a_blocking_race_in_a_drop_at_runtime_shutdown_returns() {
    struct RaceOnDrop(mpsc::Sender<Result<u8, String>>);
    impl Drop for RaceOnDrop {
        fn drop(&mut self) {
            let kids: Vec<BoxFut<u8>> = vec![Box::pin(pending()), Box::pin(async { 8 })];
            let plain = race(kids).timeout(Duration::from_secs(5)).run();
            let _ = self.0.send(plain.map_err(|e| e.to_string()));
            let _ = self.0.send(quick_race().map_err(|e| e.to_string()));
        }
    }
    for multi in [true, false] {
        let got = watchdog(20, move || {
            let (tx, rx) = mpsc::channel();
            let rt = if multi { rt_multi() } else { rt_current() };
            let (started_tx, started) = mpsc::channel();
            rt.spawn(async move {
                let _guard = RaceOnDrop(tx);
                let _ = started_tx.send(());
                pending::<()>().await
            });
            if !multi {
                rt.block_on(tokio::task::yield_now());
            }
            started.recv_timeout(Duration::from_secs(5)).unwrap();
            drop(rt);
            (rx.recv_timeout(Duration::from_secs(10)).unwrap(), rx.recv_timeout(Duration::from_secs(10)).unwrap())
        });
        assert_eq!(got, (Ok(8), Ok(5)), "multi-thread: {multi}");
    }
}

// ---------------------------------------------------------------------------
// TaskError
// ---------------------------------------------------------------------------

#[test]
fn task_errors_say_what_happened_for_tasks_threads_and_flattened_handles() {
    watchdog(10, || {
        let rt = rt_multi();
        rt.block_on(async {
            let own = task::spawn(async { Err::<u8, _>(Draining(3)) }).await.unwrap_err();
            assert!(own.is_failed() && !own.is_panic() && !own.is_aborted());
            assert_eq!(own.downcast_ref::<Draining>(), Some(&Draining(3)));
            assert!(own.downcast_ref::<std::io::Error>().is_none());
            let own = own.downcast::<std::io::Error>().unwrap_err();
            assert_eq!(own.to_string(), "replica 3 is draining", "a wrong downcast keeps the error");
            assert_eq!(own.downcast::<Draining>().unwrap(), Draining(3));

            let handle = tokio::spawn(pending::<Result<u8, Draining>>());
            handle.abort();
            let aborted = task::flatten(handle).await.unwrap_err();
            assert!(aborted.is_aborted() && !aborted.is_panic());
            assert_eq!(aborted.to_string(), "task was aborted before it finished");
            assert!(aborted.downcast_ref::<Draining>().is_none());
            assert!(aborted.into_error().unwrap_err().is_aborted());

            let panicked = task::flatten(tokio::spawn(async {
                panic!("flat boom");
                #[allow(unreachable_code)]
                Ok::<u8, Draining>(0)
            }))
            .await
            .unwrap_err();
            assert!(panicked.is_panic());
            assert_eq!(panicked.to_string(), "task panicked: flat boom");
            // A value that never fails flattens too.
            assert_eq!(task::flatten(tokio::spawn(async { 5u8 })).await.unwrap(), 5);
        });
        let thread = task::spawn_thread(|| Err::<u8, _>(Draining(4)));
        let err = try_gather([thread]).run().unwrap_err();
        assert_eq!(err.child_error::<Draining>(), Some(&Draining(4)));
        assert_eq!(format!("{:#}", anyhow::Error::from(err)), "child 0 failed: replica 4 is draining");
    });
}

#[test]
fn a_task_whose_runtime_shut_down_is_aborted() {
    watchdog(10, || {
        let rt = rt_current();
        let drops = Drops::default();
        let g = drops.guard();
        let t = {
            let _enter = rt.enter();
            task::spawn(async move {
                let _g = g;
                pending::<Result<u8, Draining>>().await
            })
        };
        drop(rt);
        assert_eq!(drops.count(), 1);
        let err = futures::executor::block_on(t).unwrap_err();
        assert!(err.is_aborted(), "{err:?}");
        // Raced after its runtime is gone: the abort is its output.
        let rt = rt_current();
        let t = {
            let _enter = rt.enter();
            task::spawn(pending::<Result<u8, Draining>>())
        };
        drop(rt);
        assert!(race([t]).run().unwrap().unwrap_err().is_aborted());
    });
}

/// A `TaskError` displays as the task's own error does, so its `source()`
/// is that error's source, and `{:#}` does not repeat the message. So
/// anyhow's `downcast_ref` and `chain()` do not reach the task's own type
/// after `?`: the typed route is `TaskError::downcast` before `?` (the
/// README's hedge). `Error::child_error` sees through a `TaskError` in a
/// child's chain (a child that did `task.await?` into `anyhow`).
#[test]
fn a_task_error_behind_question_mark_keeps_its_type_reachable() {
    watchdog(10, || {
        rt_current().block_on(async {
            async fn hedged() -> anyhow::Result<u8> {
                Ok(async_race([task::spawn(async { Err::<u8, _>(Draining(1)) })]).await??)
            }
            let err = hedged().await.unwrap_err();
            assert_eq!(format!("{err:#}"), "replica 1 is draining");

            async fn typed() -> Result<u8, Draining> {
                let first = async_race([task::spawn(async { Err::<u8, _>(Draining(3)) })]).await.expect("one replica");
                first.map_err(|e| e.downcast().expect("no panic"))
            }
            assert_eq!(typed().await.unwrap_err().0, 3);

            // A child's `anyhow::Error` keeps its typed root with the
            // `anyhow` feature (anyhow's own conversion to a boxed error
            // hides it).
            #[cfg(feature = "anyhow")]
            {
                async fn step() -> anyhow::Result<u8> {
                    Ok(task::spawn(async { Err::<u8, _>(Draining(2)) }).await?)
                }
                let err = async_try_gather([step()]).await.unwrap_err();
                assert_eq!(err.child_error::<Draining>().map(|d| d.0), Some(2), "{err:?}");
            }
        });
    });
}

// ---------------------------------------------------------------------------
// .names(..)
// ---------------------------------------------------------------------------

fn is_names_config(err: &Error) -> bool {
    matches!(err, Error::Config(c) if c.name() == "names")
}

#[test]
fn a_wrong_count_of_names_is_a_config_error_at_every_entry_point() {
    watchdog(10, || {
        let two = || vec![ready(1u8), ready(2)];
        assert!(is_names_config(&race(two()).names(["a"]).run().unwrap_err()));
        assert!(is_names_config(&race(two()).names(["a", "b", "c"]).run().unwrap_err()));
        assert!(is_names_config(&gather(two()).names(Vec::<String>::new()).run().unwrap_err()));
        let fallible = vec![ready(Ok::<u8, std::io::Error>(1)), ready(Ok(2))];
        assert!(is_names_config(&try_gather(fallible).names(["a"]).run().unwrap_err()));
        assert!(is_names_config(&wait(two()).names(["a"]).run().unwrap_err()));
        let items: Vec<_> = gather(two()).names(["a"]).iter().collect();
        assert_eq!(items.len(), 1, "one error, then the end");
        assert!(is_names_config(items[0].as_ref().unwrap_err()));
        let (awaited, streamed) = rt_current().block_on(async {
            use futures::StreamExt;
            let awaited = async_race(two()).names(["a"]).await.unwrap_err();
            let streamed: Vec<_> = async_gather(two()).names(["a", "b", "c"]).stream().collect().await;
            (awaited, streamed)
        });
        assert!(is_names_config(&awaited));
        assert_eq!(streamed.len(), 1);
        assert!(is_names_config(streamed[0].as_ref().unwrap_err()));
        // An empty race with no names is the "no children" error, not a names one.
        let err = race(Vec::<std::future::Ready<u8>>::new()).names(Vec::<&str>::new()).run().unwrap_err();
        assert!(matches!(&err, Error::Config(c) if c.name() == "race input"), "{err:?}");
    });
}

#[test]
fn names_on_maps_and_nested_inputs_are_refused_and_on_tuples_taken() {
    watchdog(10, || {
        let map = std::collections::BTreeMap::from([("eu", pending::<u8>()), ("us", pending())]);
        let err = race(map).names(["x", "y"]).run().unwrap_err();
        assert!(is_names_config(&err), "{err:?}");
        assert!(err.to_string().contains("a map's children are named by their keys"), "{err}");
        let nested = concurry::nested(vec![vec![ready(1u8)], vec![ready(2)]]);
        let err = gather(nested).names(["a", "b"]).run().unwrap_err();
        assert!(is_names_config(&err), "{err:?}");
        let err = try_gather((ready(Ok::<u8, &str>(1)), ready(Err::<u16, _>("no")))).names(["one", "two"]).run();
        assert_eq!(err.unwrap_err().to_string(), "two failed");
        let err = race((pending::<u8>(), pending::<&str>())).names(["num", "text"]).timeout(ms(1)).run().unwrap_err();
        assert!(err.to_string().ends_with("still pending: num, text"), "{err}");
    });
}

#[test]
fn duplicate_newline_and_non_ascii_names_neither_panic_nor_lose_the_index() {
    watchdog(10, || {
        let kids: Vec<BoxFut<Result<u8, &str>>> = vec![Box::pin(ready(Ok(1))), Box::pin(ready(Err("boom")))];
        let err = try_gather(kids).names(["dup", "dup"]).run().unwrap_err();
        let key = err.failed_key().unwrap();
        assert_eq!((key.index(), key.name()), (1, "dup"));
        let never = vec![pending::<u8>(); 3];
        let err = race(never).names(["naïve 名前", "two\nlines", "tab\there"]).timeout(Duration::ZERO).run();
        let err = err.unwrap_err();
        assert_eq!(err.interrupted().unwrap().pending_names(), ["naïve 名前", "two\nlines", "tab\there"]);
        assert!(err.to_string().contains("naïve 名前"), "{err}");
        let names: Vec<String> = (0..3).map(|i| "x".repeat(10_000 + i)).collect();
        let err = race(vec![pending::<u8>(); 3]).names(names).timeout(Duration::ZERO).run().unwrap_err();
        assert!(err.to_string().len() > 30_000);
    });
}

#[test]
fn ten_thousand_names_show_five_and_count_the_rest() {
    watchdog(20, || {
        let n = 10_000;
        let names: Vec<String> = (0..n).map(|i| format!("job-{i}")).collect();
        let mut kids: Vec<BoxFut<u32>> = (0..n).map(|_| Box::pin(pending()) as BoxFut<u32>).collect();
        kids[3] = Box::pin(ready(3));
        let err = gather(kids).names(names.clone()).timeout(Duration::ZERO).run().unwrap_err();
        assert_eq!(
            err.to_string(),
            "timed out after 0s: 1 of 10000 completed; still pending: job-0, job-1, job-2, job-4, job-5 and 9994 more"
        );
        let kids: Vec<BoxFut<u32>> = (0..n).map(|_| Box::pin(pending()) as BoxFut<u32>).collect();
        let err = race(kids).names(names).timeout(Duration::ZERO).run().unwrap_err();
        assert!(err.to_string().ends_with("job-4 and 9995 more"), "{err}");
    });
}

/// A blank name is refused, as a wrong count is: it would make a message
/// with no subject (" failed", "still pending: , b").
#[test]
fn an_empty_name_does_not_make_a_message_without_a_subject() {
    watchdog(10, || {
        let mut checks = Checks::default();
        let err = try_gather([ready(Err::<u8, _>("boom"))]).names([""]).run();
        let err = err.unwrap_err();
        let text = err.to_string();
        checks.check(!text.starts_with(' ') && text != "failed", format!("a failure reads {text:?}"));
        let err = race(vec![pending::<u8>(); 2]).names(["", "b"]).timeout(Duration::ZERO).run().unwrap_err();
        let text = err.to_string();
        checks.check(!text.contains("pending: , b"), format!("a timeout reads {text:?}"));
        checks.finish();
    });
}

/// The `Pending` set of a named call (from `into_parts`, or `keep_partial`)
/// keeps the names when waited on again ("still pending: orders, prices",
/// not positions), and naming it again is refused, saying so.
#[test]
fn a_pending_set_keeps_the_names_of_the_call_it_came_from() {
    watchdog(10, || {
        let calls: Vec<BoxFut<u8>> = vec![Box::pin(ready(1)), Box::pin(pending()), Box::pin(pending())];
        let (done, pending) =
            wait(calls).names(["user", "orders", "prices"]).first_completed().run().unwrap().into_parts();
        assert_eq!(done, [(0, 1)]);
        let err = race(pending).timeout(Duration::ZERO).run().unwrap_err();
        assert_eq!(err.interrupted().unwrap().pending_names(), ["orders", "prices"], "{err}");
    });
}

#[test]
fn a_pending_set_cannot_be_renamed_and_says_so() {
    watchdog(10, || {
        let calls: Vec<BoxFut<u8>> = vec![Box::pin(ready(1)), Box::pin(pending()), Box::pin(pending())];
        let (_, pending) = wait(calls).first_completed().run().unwrap().into_parts();
        let err = race(pending).names(["orders", "prices"]).run().unwrap_err();
        assert!(is_names_config(&err), "{err:?}");
        // An empty pending set races to the "no children" error, not a panic.
        let (_, empty) = wait(vec![ready(1u8)]).run().unwrap().into_parts();
        let err = race(empty).run().unwrap_err();
        assert!(matches!(&err, Error::Config(c) if c.name() == "race input"), "{err:?}");
    });
}

// ---------------------------------------------------------------------------
// Partial, keep_partial, into_done; stream and iter
// ---------------------------------------------------------------------------

#[test]
fn kept_tasks_stay_alive_and_into_done_aborts_them() {
    watchdog(20, || {
        let drops = Drops::default();
        let d = drops.clone();
        let done = rt_multi().block_on(async move {
            let token = CancellationToken::new();
            let (first_tx, first_rx) = tokio::sync::oneshot::channel::<()>();
            let mut first_tx = Some(first_tx);
            let tasks: Vec<_> = (0..3u32)
                .map(|i| {
                    let g = d.guard();
                    let tx = if i == 1 { first_tx.take() } else { None };
                    task::spawn(async move {
                        let _g = g;
                        if let Some(tx) = tx {
                            let _ = tx.send(());
                            return Ok::<u32, std::io::Error>(10);
                        }
                        pending().await
                    })
                })
                .collect();
            let trigger = token.clone();
            tokio::spawn(async move {
                let _ = first_rx.await;
                tokio::time::sleep(ms(20)).await;
                trigger.cancel();
            });
            let got = async_try_gather(tasks).names(["a", "b", "c"]).cancel_on(token).keep_partial().await.unwrap();
            let Partial::Interrupted { error, partial } = &got else { panic!("the token ended it") };
            assert!(error.is_cancelled(), "{error:?}");
            assert_eq!(error.interrupted().unwrap().pending_names(), ["a", "c"]);
            assert_eq!(partial.pending.len(), 2);
            tokio::time::sleep(ms(20)).await;
            assert_eq!(d.count(), 1, "only the finished task's guard is gone");
            got.into_done()
        });
        assert_eq!(done, [(1, 10)]);
        eventually("into_done dropped the pending tasks, which aborts them", || drops.count() == 3);
    });
}

#[test]
fn into_done_of_a_lazy_limited_gather_is_in_input_order() {
    watchdog(10, || {
        let token = CancellationToken::new();
        token.cancel();
        let kids = concurry::lazy((0..6u32).map(|i| -> BoxFut<u32> {
            if i % 2 == 0 { Box::pin(ready(i)) } else { Box::pin(pending()) }
        }));
        let done = gather(kids).limit(3).cancel_on(token).keep_partial().run().unwrap().into_done();
        // Under the limit, children 0..3 started: 0 and 2 are ready; then 4.
        assert!(done.windows(2).all(|w| w[0].0 < w[1].0), "{done:?}");
        assert!(done.iter().all(|(i, v)| i == &(*v as usize) && v % 2 == 0), "{done:?}");
        let all = gather(vec![ready(1u8), ready(2)]).keep_partial().run().unwrap().into_done();
        assert_eq!(all, [(0, 1), (1, 2)]);
    });
}

#[test]
fn streams_and_iterators_name_the_pending_children_on_timeout() {
    watchdog(10, || {
        let kids = || -> Vec<BoxFut<u8>> { vec![Box::pin(pending()), Box::pin(ready(1)), Box::pin(pending())] };
        let items: Vec<_> = gather(kids()).names(["x", "y", "z"]).timeout(Duration::ZERO).iter().collect();
        assert_eq!(items.len(), 2, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap(), &(1, 1));
        let err = items[1].as_ref().unwrap_err();
        assert!(err.is_timeout());
        assert_eq!(err.interrupted().unwrap().pending_names(), ["x", "z"]);
        let streamed = rt_current().block_on(async {
            use futures::StreamExt;
            async_gather(kids()).names(["x", "y", "z"]).timeout(Duration::ZERO).stream().collect::<Vec<_>>().await
        });
        assert_eq!(streamed.len(), 2);
        assert_eq!(streamed[1].as_ref().unwrap_err().interrupted().unwrap().pending_names(), ["x", "z"]);
        // The same timeout through `.await` and `.run()`.
        let awaited = rt_current()
            .block_on(async { async_gather(kids()).names(["x", "y", "z"]).timeout(Duration::ZERO).await })
            .unwrap_err();
        let ran = gather(kids()).names(["x", "y", "z"]).timeout(Duration::ZERO).run().unwrap_err();
        assert_eq!(awaited.to_string(), ran.to_string());
        assert_eq!(ran.to_string(), "timed out after 0s: 1 of 3 completed; still pending: x, z");
        // iter() on a current-thread runtime: one Blocking error, then the end.
        let items: Vec<_> = rt_current().block_on(async { gather(kids()).iter().collect::<Vec<_>>() });
        assert_eq!(items.len(), 1);
        assert!(matches!(items[0], Err(Error::Blocking(_))));
    });
}

#[test]
fn a_gather_of_processes_streams_failures_and_kills_the_rest_on_timeout() {
    watchdog(20, || {
        let dir = scratch("stream");
        let pidfile = dir.join("pid");
        let sleeper = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let token = CancellationToken::new();
        let mut items = gather(vec![sh("exit 2"), sleeper]).names(["bad", "sleeper"]).cancel_on(token.clone()).iter();
        let (key, first) = items.next().unwrap().unwrap();
        assert_eq!(key, 0);
        assert_eq!(first.unwrap_err().downcast_ref::<ExitFailure>().unwrap().status().code(), Some(2));
        token.cancel();
        let err = items.next().unwrap().unwrap_err();
        assert!(err.is_cancelled());
        assert_eq!(err.interrupted().unwrap().pending_names(), ["sleeper"]);
        assert!(items.next().is_none());
        drop(items);
        assert!(!alive(pid), "the timed-out process still runs");
    });
}

// ---------------------------------------------------------------------------
// Nested fail-fast calls: names and messages
// ---------------------------------------------------------------------------

#[test]
fn nested_failures_and_timeouts_read_as_paths() {
    watchdog(10, || {
        let inner = async_try_gather(vec![ready(Ok::<u8, &str>(1)), ready(Err("bad"))]).names(["x", "y"]);
        let err = try_gather((inner,)).names(["outer"]).run().unwrap_err();
        assert_eq!(err.to_string(), "outer/y failed");
        assert_eq!(format!("{:#}", anyhow::Error::from(err)), "outer/y failed: bad");
        // A nested race that times out: the outer call fails, naming it.
        let inner = async_race([pending::<u8>()]).names(["replica"]).timeout(Duration::ZERO);
        let err = try_gather((inner, ready(Ok::<u8, &str>(1)))).names(["hedge", "other"]).run().unwrap_err();
        assert_eq!(err.failed_key().unwrap().name(), "hedge");
        assert_eq!(
            format!("{:#}", anyhow::Error::from(err)),
            "hedge failed: timed out after 0s: 0 of 1 completed; still pending: replica"
        );
    });
}

// ---------------------------------------------------------------------------
// More races: outside Tokio, huge timeouts, many children
// ---------------------------------------------------------------------------

#[test]
fn an_async_race_polled_outside_tokio_checks_threads_and_its_deadline() {
    watchdog(10, || {
        let quick = task::spawn_thread(|| {
            std::thread::sleep(ms(20));
            Ok::<u8, std::io::Error>(1)
        });
        assert_eq!(futures::executor::block_on(async_race([quick])).unwrap().unwrap(), 1);
        let slow = task::spawn_thread(|| {
            std::thread::sleep(ms(3_000));
            Ok::<u8, std::io::Error>(1)
        });
        let started = Instant::now();
        let err = futures::executor::block_on(async_race([slow]).names(["slow"]).timeout(ms(50))).unwrap_err();
        assert!(err.is_timeout(), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
        assert_eq!(err.to_string(), "timed out after 50ms: 0 of 1 completed; still pending: slow");
    });
}

#[test]
fn huge_timeouts_that_fit_the_clock_neither_panic_nor_fire() {
    let huge = [
        Duration::from_secs(86_400 * 365 * 100),
        Duration::from_secs(u64::MAX / 4),
        Duration::from_secs(i64::MAX as u64),
        Duration::new(u64::MAX, 999_999_999),
    ];
    for timeout in huge {
        watchdog(10, move || {
            let t = task::spawn_thread(|| {
                std::thread::sleep(ms(10));
                Ok::<u8, std::io::Error>(1)
            });
            assert_eq!(race([t]).timeout(timeout).run().unwrap().unwrap(), 1, "{timeout:?}");
            let out = rt_current().block_on(async move {
                let kids: Vec<BoxFut<u8>> = vec![
                    Box::pin(pending()),
                    Box::pin(async {
                        tokio::time::sleep(ms(10)).await;
                        2
                    }),
                ];
                async_race(kids).timeout(timeout).await
            });
            assert_eq!(out.unwrap(), 2, "{timeout:?}");
            // Cancelled under a huge timeout: a cancellation, read as one.
            let token = CancellationToken::new();
            let trigger = token.clone();
            std::thread::spawn(move || {
                std::thread::sleep(ms(20));
                trigger.cancel();
            });
            let err = gather(vec![pending::<u8>()]).timeout(timeout).cancel_on(token).run().unwrap_err();
            assert!(err.is_cancelled(), "{timeout:?}: {err:?}");
            assert!(err.to_string().starts_with("cancelled after "), "{err}");
        });
    }
}

#[test]
fn a_race_of_tasks_all_complete_is_won_by_the_first_in_input_order() {
    watchdog(20, || {
        let n = 300;
        for rt in [rt_current(), rt_multi()] {
            let first = rt.block_on(async move {
                let done = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..n)
                    .map(|i| {
                        let done = done.clone();
                        task::spawn(async move {
                            done.fetch_add(1, SeqCst);
                            Ok::<usize, std::io::Error>(i)
                        })
                    })
                    .collect();
                while done.load(SeqCst) < n {
                    tokio::time::sleep(ms(1)).await;
                }
                tokio::time::sleep(ms(20)).await;
                async_race(tasks).await
            });
            assert_eq!(first.unwrap().unwrap(), 0);
        }
        let done = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = {
            let _enter = concurry::shared_runtime().enter();
            (0..n)
                .map(|i| {
                    let done = done.clone();
                    task::spawn(async move {
                        done.fetch_add(1, SeqCst);
                        Ok::<usize, std::io::Error>(i)
                    })
                })
                .collect()
        };
        eventually("every task ran", || done.load(SeqCst) == n);
        std::thread::sleep(ms(20));
        assert_eq!(race(tasks).run().unwrap().unwrap(), 0);
    });
}

#[test]
fn a_race_drops_every_loser_of_a_large_input() {
    watchdog(10, || {
        let drops = Drops::default();
        let n = 5_000;
        let kids: Vec<BoxFut<usize>> = (0..n)
            .map(|i| {
                let g = drops.guard();
                Box::pin(async move {
                    let _g = g;
                    if i == 4_321 { i } else { pending().await }
                }) as BoxFut<usize>
            })
            .collect();
        assert_eq!(race(kids).run().unwrap(), 4_321);
        assert_eq!(drops.count(), n, "every child is dropped by the time the race returns");
    });
}

#[test]
fn many_losing_processes_are_all_killed() {
    watchdog(20, || {
        let dir = scratch("many");
        let n = 12;
        let mut kids: Vec<task::Process> =
            (0..n).map(|i| sh_with_pid(&dir.join(format!("pid{i}")), "exec sleep 30")).collect();
        let pidfiles: Vec<String> = (0..n).map(|i| dir.join(format!("pid{i}")).display().to_string()).collect();
        let waits: String = pidfiles.iter().map(|p| format!("while [ ! -s {p} ]; do sleep 0.01; done; ")).collect();
        kids.push(sh(&waits));
        let started = Instant::now();
        let first = race(kids).run().unwrap();
        assert!(first.unwrap().success());
        for i in 0..n {
            let pid = read_pid(&dir.join(format!("pid{i}")));
            assert!(!alive(pid), "loser {i} (pid {pid}) still runs");
        }
        assert!(started.elapsed() < Duration::from_secs(15));
    });
}

#[test]
fn a_named_tuple_of_a_thread_a_process_and_a_task_times_out_and_stops_what_it_can() {
    watchdog(20, || {
        let dir = scratch("tuple");
        let pidfile = dir.join("pid");
        let process = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let drops = Drops::default();
        let g = drops.guard();
        let err = rt_multi().block_on(async move {
            let thread = task::spawn_thread(|| {
                std::thread::sleep(ms(500));
                Ok::<u8, std::io::Error>(1)
            });
            let task = task::spawn(async move {
                let _g = g;
                pending::<Result<u8, std::io::Error>>().await
            });
            async_race((thread, process, task)).names(["thread", "process", "task"]).timeout(ms(30)).await
        });
        let err = err.unwrap_err();
        assert_eq!(err.to_string(), "timed out after 30ms: 0 of 3 completed; still pending: thread, process, task");
        assert!(!alive(pid), "the process still runs");
        eventually("the task is aborted", || drops.count() == 1);
    });
}

#[test]
fn names_on_the_pending_set_of_a_lazy_limited_wait_are_refused_or_right() {
    watchdog(10, || {
        let kids = concurry::lazy((0..6u32).map(|i| -> BoxFut<u32> {
            if i == 0 { Box::pin(ready(0)) } else { Box::pin(pending()) }
        }));
        let (done, pending) = wait(kids).limit(2).first_completed().run().unwrap().into_parts();
        assert_eq!(done, [(0, 0)]);
        assert_eq!(pending.len(), 5);
        let names = ["one", "two", "three", "four", "five"];
        match race(pending).names(names).timeout(Duration::ZERO).run() {
            Err(err) if is_names_config(&err) => {}
            Err(err) => {
                let pending_names = err.interrupted().expect("a timeout").pending_names().to_vec();
                assert_eq!(pending_names, names, "names given to a pending set are put on the wrong children");
            }
            Ok(v) => panic!("nothing can complete: {v}"),
        }
    });
}

// ---------------------------------------------------------------------------
// Dropped mid-call; calls at thread exit
// ---------------------------------------------------------------------------

#[test]
fn a_race_or_an_iterator_dropped_mid_call_kills_its_processes() {
    watchdog(20, || {
        let dir = scratch("dropped");
        let pidfile = dir.join("pid");
        let process = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let out = rt_current().block_on(async move { tokio::time::timeout(ms(50), async_race([process])).await });
        assert!(out.is_err(), "the race cannot finish");
        assert!(!alive(pid), "the dropped race left its process running");

        let pidfile = dir.join("pid2");
        let process = sh_with_pid(&pidfile, "exec sleep 30");
        let pid = read_pid(&pidfile);
        let mut items = gather(vec![sh("true"), process]).iter();
        let (key, status) = items.next().unwrap().unwrap();
        assert_eq!(key, 0);
        assert!(status.unwrap().success());
        assert!(alive(pid));
        drop(items);
        assert!(!alive(pid), "the dropped iterator left its process running");
    });
}

#[test]
fn a_blocking_race_in_a_thread_locals_drop_at_thread_exit_returns() {
    struct AtExit(Option<mpsc::Sender<Result<u8, String>>>);
    impl Drop for AtExit {
        fn drop(&mut self) {
            if let Some(tx) = self.0.take() {
                let _ = tx.send(quick_race().map_err(|e| e.to_string()));
                let t = task::spawn_thread(|| {
                    std::thread::sleep(ms(3_000));
                    Ok::<u8, std::io::Error>(1)
                });
                let timed_out = race([t]).timeout(ms(30)).run().map(|r| r.unwrap_or(0)).map_err(|e| e.to_string());
                let _ = tx.send(timed_out);
            }
        }
    }
    thread_local! {
        static AT_EXIT: std::cell::RefCell<AtExit> = const { std::cell::RefCell::new(AtExit(None)) };
    }
    for drove_before in [false, true] {
        let got = watchdog(20, move || {
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                if drove_before {
                    quick_race().unwrap();
                }
                AT_EXIT.with(|a| a.borrow_mut().0 = Some(tx));
            });
            (rx.recv_timeout(Duration::from_secs(10)).unwrap(), rx.recv_timeout(Duration::from_secs(10)).unwrap())
        });
        assert_eq!(got.0, Ok(5), "drove before: {drove_before}");
        let timed_out = got.1.unwrap_err();
        assert!(timed_out.starts_with("timed out after 30ms"), "drove before: {drove_before}: {timed_out}");
    }
}
