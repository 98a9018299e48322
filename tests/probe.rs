//! Handles that cannot wake anyone: threads, processes, ready values, batch
//! backends; and the polling settings that pace them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use concurry::polling::{Exponential, Fixed};
use concurry::probe::{Batch, BatchProbe, Probe, probe, process, thread};
use concurry::{PollingAlgorithm, ReturnWhen, async_try_gather, config, gather, try_gather, wait};

fn sixteen_threads() -> Vec<concurry::probe::Probed<concurry::probe::ThreadProbe<u64>>> {
    (0..16u64)
        .map(|i| {
            thread(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(16 - i));
                i * i
            }))
        })
        .collect()
}

/// The spec's main use from plain `fn main`: no async anywhere.
#[test]
fn gather_over_sixteen_os_threads_from_plain_code() {
    let out = try_gather(sixteen_threads()).run().unwrap();
    assert_eq!(out, (0..16u64).map(|i| i * i).collect::<Vec<_>>());
}

#[tokio::test]
async fn async_gather_over_sixteen_os_threads() {
    let out = async_try_gather(sixteen_threads()).await.unwrap();
    assert_eq!(out, (0..16u64).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn a_panicked_thread_is_an_error_value() {
    let ok = thread(std::thread::spawn(|| 1u8));
    let bad = thread(std::thread::spawn(|| -> u8 { panic!("thread blew up") }));
    let out = gather(vec![ok, bad]).run().unwrap();
    assert_eq!(out[0], Ok(1));
    let err = out[1].as_ref().unwrap_err();
    assert_eq!(err.message(), Some("thread blew up"));
    assert_eq!(err.to_string(), "thread panicked: thread blew up");

    let ok = thread(std::thread::spawn(|| 1u8));
    let bad = thread(std::thread::spawn(|| -> u8 { panic!("thread blew up") }));
    let (key, _) = try_gather(vec![ok, bad]).run().unwrap_err().into_failed().unwrap();
    assert_eq!(key, 1);
}

/// Regression: a `Pending` set handed back by `wait` lost its parked probes
/// (they were parked with the finished engine), so gathering it hung.
/// Parked probes now stay with the set.
#[test]
fn wait_first_completed_over_threads() {
    let gate = Arc::new(Barrier::new(2));
    let g = gate.clone();
    let slow = thread(std::thread::spawn(move || {
        g.wait();
        "slow"
    }));
    let fast = thread(std::thread::spawn(|| "fast"));
    let w = wait(vec![slow, fast]).return_when(ReturnWhen::FirstCompleted).run().unwrap();
    assert_eq!(w.done, [(1, Ok("fast"))]);
    gate.wait();
    let rest = try_gather(w.pending).run().unwrap();
    assert_eq!(rest, [(0, "slow")]);
}

#[test]
fn child_processes_give_their_exit_status() {
    let ok = std::process::Command::new("sh").args(["-c", "sleep 0.05; exit 0"]).spawn().unwrap();
    let bad = std::process::Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
    let out = try_gather(vec![process(ok), process(bad)]).run().unwrap();
    assert!(out[0].success());
    assert_eq!(out[1].code(), Some(3));
}

#[test]
fn ready_values_are_the_sync_mode() {
    let out = try_gather((0..5).map(std::future::ready).collect::<Vec<_>>()).run().unwrap();
    assert_eq!(out, [0, 1, 2, 3, 4]);
}

/// Finishes handles in waves: at backend call k, jobs below 100 * k are done.
struct Waves {
    calls: AtomicUsize,
    sizes: Mutex<Vec<usize>>,
}

impl BatchProbe for Waves {
    type Id = usize;
    type Output = usize;
    type Failure = String;
    type Error = std::io::Error;
    fn name(&self) -> String {
        "waves".into()
    }
    fn min_interval(&self) -> Duration {
        Duration::ZERO
    }
    async fn check(&self, ids: Vec<usize>) -> std::io::Result<Vec<(usize, Result<usize, String>)>> {
        let k = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        self.sizes.lock().unwrap().push(ids.len());
        Ok(ids.iter().enumerate().filter(|&(_, id)| *id < 100 * k).map(|(pos, id)| (pos, Ok(id * 3))).collect())
    }
}

/// The spec's Ray optimisation: one backend call per check covers all 1,000
/// pending handles. Ten waves of completions need exactly ten calls.
#[test]
fn batch_probe_makes_one_call_per_check_for_a_thousand_handles() {
    let batch = Batch::new(Waves { calls: AtomicUsize::new(0), sizes: Mutex::new(Vec::new()) });
    let handles: Vec<_> = (0..1000).map(|id| batch.handle(id)).collect();
    let out = try_gather(handles).polling(Fixed::new(Duration::from_millis(1)).unwrap()).run().unwrap();
    assert_eq!(out, (0..1000).map(|id| id * 3).collect::<Vec<_>>());
    assert_eq!(batch.backend().calls.load(Ordering::SeqCst), 10);
    // Each call asked about every handle still pending, once.
    assert_eq!(*batch.backend().sizes.lock().unwrap(), (0..10).map(|k| 1000 - 100 * k).collect::<Vec<_>>());
}

#[tokio::test]
async fn batch_probe_under_async_gather() {
    let batch = Batch::new(Waves { calls: AtomicUsize::new(0), sizes: Mutex::new(Vec::new()) });
    let handles: Vec<_> = (0..1000).map(|id| batch.handle(id)).collect();
    let out = async_try_gather(handles).await.unwrap();
    assert_eq!(out.len(), 1000);
    assert_eq!(batch.backend().calls.load(Ordering::SeqCst), 10);
}

struct CountChecks {
    checks: Arc<AtomicUsize>,
    finish_after: usize,
}

impl Probe for CountChecks {
    type Output = usize;
    fn try_finish(&mut self) -> Option<usize> {
        let n = self.checks.fetch_add(1, Ordering::SeqCst) + 1;
        (n >= self.finish_after).then_some(n)
    }
}

/// The per-call schedule beats the global default; with paused time the
/// intervals are exact, so the elapsed time tells which schedule ran.
#[tokio::test(start_paused = true)]
async fn per_call_polling_beats_the_global_default() {
    let checks = Arc::new(AtomicUsize::new(0));
    let started = tokio::time::Instant::now();
    let child = probe(CountChecks { checks: checks.clone(), finish_after: 4 });
    // Exponential: 1 + 2 + 4 ms between the four checks.
    async_try_gather([child]).polling(Exponential::default()).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(7));
    assert_eq!(checks.load(Ordering::SeqCst), 4);

    let started = tokio::time::Instant::now();
    let child = probe(CountChecks { checks: Arc::new(AtomicUsize::new(0)), finish_after: 4 });
    async_try_gather([child]).polling(PollingAlgorithm::Fixed).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(30));
}

/// Run-time defaults are read at call time. This test owns the global
/// config: it is the only test in this binary that changes it.
#[tokio::test(start_paused = true)]
async fn changed_defaults_apply_to_later_calls_and_bad_values_are_refused() {
    let child = || probe(CountChecks { checks: Arc::new(AtomicUsize::new(0)), finish_after: 3 });
    config::update(|d| d.async_gather_poll_interval = Duration::from_millis(5)).unwrap();
    let started = tokio::time::Instant::now();
    async_try_gather([child()]).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(10));

    let err = config::update(|d| d.async_gather_poll_interval = Duration::ZERO).unwrap_err();
    assert_eq!(err.to_string(), "invalid async_gather_poll_interval = 0ns: must be greater than zero");
    assert_eq!(config::defaults().async_gather_poll_interval, Duration::from_millis(5), "nothing changed");

    // Changed from another thread, seen here.
    std::thread::spawn(|| config::update(|d| d.async_gather_poll_interval = Duration::from_millis(2)).unwrap())
        .join()
        .unwrap();
    let started = tokio::time::Instant::now();
    async_try_gather([child()]).await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_millis(4));
    config::reset();
}

#[test]
fn polling_names_parse_and_bad_ones_list_the_valid_values() {
    assert_eq!("EXPONENTIAL".parse::<PollingAlgorithm>().unwrap(), PollingAlgorithm::Exponential);
    let err = "sometimes".parse::<PollingAlgorithm>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid polling algorithm \"sometimes\": valid values are: fixed, adaptive, exponential, progressive"
    );
}

/// Whether process `pid` exists at all, running or a zombie (Linux).
#[cfg(target_os = "linux")]
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Runs `f` on a thread of its own and fails the test if it takes more than
/// 20 s (the `sleep 30` children would otherwise hold a hung test).
fn within_20s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(f()));
    rx.recv_timeout(Duration::from_secs(20)).expect("the call hung")
}

fn sleep_30() -> std::process::Child {
    std::process::Command::new("sleep").arg("30").spawn().unwrap()
}

// Defect 10: after a timeout, the pending `Probed<ProcessProbe>` gave no way
// back to its `Child`, and dropping it left `sleep 30` running. With
// `kill_on_drop` it is killed and reaped (no zombie) when dropped.
#[cfg(target_os = "linux")]
#[test]
fn a_dropped_process_probe_kills_its_process_with_kill_on_drop() {
    let child = sleep_30();
    let pid = child.id();
    let (err, had) = within_20s(move || {
        try_gather([process(child).kill_on_drop(true)])
            .timeout(Duration::from_millis(50))
            .keep_partial()
            .run()
            .unwrap()
            .into_interrupted()
            .expect("the call was stopped")
    });
    let partial = {
        assert!(err.is_timeout(), "{err}");
        had
    };
    assert_eq!(partial.pending.len(), 1);
    assert!(exists(pid), "a timeout does not kill");
    drop(partial);
    assert!(!exists(pid), "killed and reaped on drop");
}

// Defect 10: fail-fast drops the other children at once; a process among
// them was left running. And a dropped call (a `select!` that lost) too.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_failed_or_dropped_call_kills_its_process_with_kill_on_drop() {
    type Status = std::io::Result<std::process::ExitStatus>;
    let child = sleep_30();
    let pid = child.id();
    let children: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = Status> + Send>>> = vec![
        Box::pin(process(child).kill_on_drop(true)),
        Box::pin(async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Err(std::io::Error::other("boom"))
        }),
    ];
    let call = tokio::time::timeout(Duration::from_secs(20), async_try_gather(children));
    let err = call.await.expect("the call hung").unwrap_err();
    assert_eq!(err.into_failed().unwrap().0, 1);
    assert!(!exists(pid), "killed and reaped with the failed call");

    let child = sleep_30();
    let pid = child.id();
    let call = async_try_gather([process(child).kill_on_drop(true)]);
    tokio::select! {
        _ = call => panic!("sleep 30 finished first"),
        () = tokio::time::sleep(Duration::from_millis(20)) => {}
    }
    assert!(!exists(pid), "killed and reaped with the dropped call");
}

// Defect 10: the `Child` comes back from a timeout's pending children, to be
// killed (or waited on) by the caller; without `kill_on_drop`, dropping the
// probe leaves the process alone, as dropping a `Child` does.
#[test]
fn into_inner_gives_the_child_back() {
    let child = sleep_30();
    let pid = child.id();
    let (err, had) = within_20s(move || {
        try_gather([process(child)])
            .timeout(Duration::from_millis(50))
            .keep_partial()
            .run()
            .unwrap()
            .into_interrupted()
            .expect("the call was stopped")
    });
    let partial = {
        assert!(err.is_timeout(), "{err}");
        had
    };
    let mut children = partial.pending.into_children();
    let (_key, probe) = children.pop().unwrap();
    assert_eq!(probe.get_ref().get_ref().id(), pid);
    let mut child = probe.into_inner().into_inner();
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap();
    let status = within_20s(move || child.wait().unwrap());
    assert!(!status.success());

    // Not asked to: dropped, the probe leaves its process running. (Killed
    // by pid here; its zombie goes with this test process.)
    let probe = process(sleep_30());
    let pid = probe.get_ref().get_ref().id().to_string();
    drop(probe);
    let alive = || std::process::Command::new("kill").args(["-0", &pid]).status().unwrap().success();
    assert!(alive());
    assert!(std::process::Command::new("kill").args(["-9", &pid]).status().unwrap().success());
}
