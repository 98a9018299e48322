//! Side-by-side timings of concurry and the Rust peers, with the targets.
//!
//! `cargo run --release -p concurry-bench --bin compare -- --quick` (under 90 s on two
//! cores); without `--quick` it runs 11 rounds rather than 5, and more wake
//! latency samples. Every figure comes from this one process: each round
//! runs ours and every peer once, interleaved, and the table shows the median
//! of the rounds in ns per future.
//!
//! Prints one `TARGET <name> <measured> <limit> <ok|FAIL>` line per target,
//! and last `worst ratio vs fastest peer: X.XX`. `--small` runs only the
//! small calls (1 to 10 futures per call).

use std::alloc::System;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use concurry::progress::Bar;
use concurry::{ReturnWhen, async_gather, async_try_gather, async_wait};
use futures::StreamExt;
use indicatif::ProgressDrawTarget;
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use tokio::runtime::Runtime;

// ---- a counting allocator, for bytes per pending future ----

#[global_allocator]
static ALLOC: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn live_bytes() -> isize {
    let s = ALLOC.stats();
    s.bytes_allocated as isize - s.bytes_deallocated as isize + s.bytes_reallocated
}

use concurry_bench::measure;
use concurry_bench::peers;

use measure::{cpu_ns, median};

use concurry_bench::small;

use peers::{OURS, PEERS, ring, run_contender, run_spawned, two_wakes, yield_once};

async fn run_ready(who: &str, n: u64) -> usize {
    let v: Vec<_> = (0..n).map(std::future::ready).collect();
    run_contender(who, v).await
}

async fn run_yield(who: &str, n: u64) -> usize {
    let v: Vec<_> = (0..n).map(yield_once).collect();
    run_contender(who, v).await
}

struct Report {
    targets: Vec<(String, f64, f64)>,
    worst_vs_peer: f64,
}

impl Report {
    fn target(&mut self, name: impl Into<String>, measured: f64, limit: f64) {
        self.targets.push((name.into(), measured, limit));
    }

    fn print(&self) {
        println!();
        for (name, measured, limit) in &self.targets {
            let ok = if *measured <= *limit { "ok" } else { "FAIL" };
            println!("TARGET {name} {measured:.2} {limit:.2} {ok}");
        }
        println!("worst ratio vs fastest peer: {:.2}", self.worst_vs_peer);
    }
}

/// Times `ours` and each peer over `rounds` interleaved rounds; prints a row.
fn compare(
    rt: &Runtime,
    label: &str,
    n: u64,
    rounds: usize,
    contenders: &[&str],
    run: impl Fn(&str, u64) -> Pin<Box<dyn Future<Output = usize> + '_>>,
) -> Vec<(String, f64)> {
    compare_reps(rt, label, n, 1, rounds, contenders, run)
}

/// As [`compare`], where one sample runs `reps` calls of `n` futures (`run`
/// returns the outputs of all of them).
fn compare_reps(
    rt: &Runtime,
    label: &str,
    n: u64,
    reps: u64,
    rounds: usize,
    contenders: &[&str],
    run: impl Fn(&str, u64) -> Pin<Box<dyn Future<Output = usize> + '_>>,
) -> Vec<(String, f64)> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        // Rotate the order each round, so no contender always goes first.
        for k in 0..contenders.len() {
            let c = (k + round) % contenders.len();
            let who = contenders[c];
            let started = Instant::now();
            let got = rt.block_on(run(who, n));
            let ns = started.elapsed().as_nanos() as f64 / (n * reps) as f64;
            assert_eq!(got as u64, n * reps, "{who} returned everything");
            samples[c].push(ns);
        }
    }
    let medians: Vec<(String, f64)> =
        contenders.iter().zip(samples).map(|(who, s)| (who.to_string(), median(s))).collect();
    print!("{label:<22} {n:>8}");
    for (_, m) in &medians {
        print!(" {m:>11.1}");
    }
    println!();
    medians
}

/// Times `calls` small calls of each contender over interleaved rounds;
/// prints a row of ns per call. `run` returns the outputs counted.
fn compare_calls(
    label: &str,
    calls: usize,
    per_call: usize,
    rounds: usize,
    contenders: &[&str],
    run: impl Fn(&str) -> usize,
) -> Vec<(String, f64)> {
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); contenders.len()];
    for round in 0..rounds {
        for k in 0..contenders.len() {
            let c = (k + round) % contenders.len();
            let started = Instant::now();
            let got = run(contenders[c]);
            samples[c].push(started.elapsed().as_nanos() as f64 / calls as f64);
            assert_eq!(got, calls * per_call, "{} returned everything", contenders[c]);
        }
    }
    let medians: Vec<(String, f64)> =
        contenders.iter().zip(samples).map(|(who, s)| (who.to_string(), median(s))).collect();
    print!("{label:<26}");
    for (_, m) in &medians {
        print!(" {m:>11.1}");
    }
    println!();
    medians
}

/// Bytes allocated by one call (not live at the end: allocated in all).
fn bytes_of_call(rt: &Runtime, run: impl Future<Output = usize>) -> f64 {
    let before = ALLOC.stats().bytes_allocated;
    let got = rt.block_on(run);
    assert!(got > 0);
    (ALLOC.stats().bytes_allocated - before) as f64
}

fn ratio_vs_fastest_peer(medians: &[(String, f64)]) -> f64 {
    let ours = medians.iter().find(|(w, _)| w == OURS).map(|(_, m)| *m).expect("ours");
    let best = medians.iter().filter(|(w, _)| w != OURS).map(|(_, m)| *m).fold(f64::INFINITY, f64::min);
    ours / best
}

/// One idle-CPU run (see `main`): prints the CPU milliseconds it used.
fn idle_child(ours: bool) {
    let mt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let cpu_before = cpu_ns();
    mt.block_on(async move {
        let tasks: Vec<_> = (0..10_000)
            .map(|_| {
                tokio::spawn(async move {
                    let sleep = tokio::time::sleep(Duration::from_secs(1));
                    if ours {
                        async_gather([sleep]).await.expect("no failures");
                    } else {
                        sleep.await;
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
    });
    println!("{:.3}", (cpu_ns() - cpu_before) as f64 / 1e6);
}

/// The fixed cost of one call: `Vec`s, arrays and maps of 1, 3 and 10
/// futures, ready or yielding once; blocking calls from a plain thread;
/// spawned tasks at 10; bytes allocated per call.
fn small_calls(st: &Runtime, mt: &Runtime, rounds: usize, report: &mut Report) {
    use small::{SMALL_PEERS, array_calls, blocking_calls, map_calls, vec_calls};
    let calls = 20_000usize;
    let mut all = vec![OURS];
    all.extend(SMALL_PEERS);
    println!("\nsmall calls: ns per call, {calls} calls per sample (current-thread runtime)");
    print!("{:<26}", "workload");
    for who in &all {
        print!(" {:>11}", &who[..who.len().min(11)]);
    }
    println!();
    for yielding in [false, true] {
        let kind = if yielding { "yield" } else { "ready" };
        macro_rules! row {
            ($shape:literal, $n:literal, $call:expr) => {{
                let m = compare_calls(&format!("small_{}_{}_{}", $shape, kind, $n), calls, $n, rounds, &all, $call);
                report.target(format!("small_{}_{}_{}", $shape, kind, $n), ratio_vs_fastest_peer(&m), 1.00);
            }};
        }
        macro_rules! each_n {
            ($n:literal) => {{
                if yielding {
                    row!("vec", $n, |w| st.block_on(vec_calls(w, $n, calls, yield_once)));
                    row!("array", $n, |w| st.block_on(array_calls::<$n, _>(w, calls, yield_once)));
                    row!("map", $n, |w| st.block_on(map_calls(w, $n, calls, yield_once)));
                } else {
                    row!("vec", $n, |w| st.block_on(vec_calls(w, $n, calls, std::future::ready)));
                    row!("array", $n, |w| st.block_on(array_calls::<$n, _>(w, calls, std::future::ready)));
                    row!("map", $n, |w| st.block_on(map_calls(w, $n, calls, std::future::ready)));
                }
            }};
        }
        each_n!(1);
        each_n!(3);
        each_n!(10);
    }

    // Blocking calls from a plain thread (this one: no runtime entered).
    let blocking = [OURS, "block_on(join_all)"];
    println!("\nblocking calls from a plain thread, futures that yield once: ns per call");
    for n in [1u64, 3, 10] {
        let m = compare_calls(&format!("blocking_yield_{n}"), calls, n as usize, rounds, &blocking, |w| {
            blocking_calls(w, n, calls, yield_once)
        });
        report.target(format!("blocking_small_{n}"), m[0].1 / m[1].1, 1.50);
    }

    // Ten spawned tasks per call, multi-thread runtime, from inside a task.
    let spawned = peers::SPAWNED;
    println!("\n10 spawned tasks per call, multi-thread runtime (2 workers): ns per call, spawning included");
    let tasks_calls = 2_000usize;
    let m = compare_calls("gather_spawned_mt_10", tasks_calls, 10, rounds, &spawned, |w| {
        let w = w.to_string();
        mt.block_on(async move {
            tokio::spawn(async move {
                let mut total = 0;
                for _ in 0..tasks_calls {
                    total += run_spawned(w.clone(), 10).await;
                }
                total
            })
            .await
            .expect("bench task")
        })
    });
    report.target("gather_spawned_mt_10", ratio_vs_fastest_peer(&m), 1.00);

    // Bytes allocated by one small call, ours against join_all.
    println!("\nbytes allocated by one call of n futures that yield once:");
    for n in [1u64, 3, 10] {
        let ours = bytes_of_call(st, vec_calls(OURS, n, 1, yield_once));
        let theirs = bytes_of_call(st, vec_calls("join_all", n, 1, yield_once));
        println!("  n = {n:>2}: concurry {ours:.0}, join_all {theirs:.0}");
        report.target(format!("small_call_bytes_{n}"), ours / theirs, 1.00);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--idle-child") {
        idle_child(args.get(i + 1).is_some_and(|m| m == "ours"));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let clock = Instant::now();
    let lap = |what: &str| eprintln!("[{:>5.1} s] {what} done", clock.elapsed().as_secs_f64());
    let rounds = if quick { 5 } else { 11 };
    let mut report = Report { targets: Vec::new(), worst_vs_peer: 0.0 };
    let st = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");

    println!("ns per future, median of {rounds} interleaved rounds (current-thread runtime unless noted)");
    let mut all = vec![OURS];
    all.extend(PEERS);
    print!("{:<22} {:>8}", "workload", "N");
    for who in &all {
        print!(" {:>11}", &who[..who.len().min(11)]);
    }
    println!();

    if args.iter().any(|a| a == "--small") {
        // Only the small calls, for quick turns while tuning them.
        small_calls(&st, &mt, rounds, &mut report);
        report.print();
        return;
    }
    let sizes: &[u64] = &[1_000, 100_000, 1_000_000];
    for &n in sizes {
        let rounds_n = if n >= 1_000_000 { rounds.min(5) } else { rounds };
        let m = compare(&st, "gather_ready", n, rounds_n, &all, |w, n| Box::pin(run_ready(w, n)));
        let r = ratio_vs_fastest_peer(&m);
        report.worst_vs_peer = report.worst_vs_peer.max(r);
        report.target(format!("gather_ready_{n}"), r, 1.00);
    }
    for &n in sizes {
        let rounds_n = if n >= 1_000_000 { rounds.min(5) } else { rounds };
        let m = compare(&st, "gather_yield", n, rounds_n, &all, |w, n| Box::pin(run_yield(w, n)));
        let r = ratio_vs_fastest_peer(&m);
        report.worst_vs_peer = report.worst_vs_peer.max(r);
        report.target(format!("gather_yield_{n}"), r, 1.00);
    }

    lap("inline workloads");
    small_calls(&st, &mt, rounds, &mut report);
    lap("small calls");
    // A concurrency limit of 100 over 100,000 futures that yield once, made
    // lazily from an iterator: completion order vs `buffer_unordered(100)`,
    // input order vs `buffered(100)`.
    // Futures that each need two wakes from another task (two doorbells
    // rung in turn), all at once and 100 at a time.
    println!("\nfutures woken twice by another task: ns per future");
    let two: Vec<&str> = all.iter().copied().filter(|w| *w != "sequential").collect();
    for n in [10_000u64, 100_000] {
        let m = compare(&st, "gather_two_wakes", n, rounds, &two, |who, n| {
            Box::pin(async move {
                let (futs, waiting) = two_wakes(n);
                let ringer = tokio::spawn(ring(waiting, 2 * n));
                let got = run_contender(who, futs).await;
                ringer.await.expect("the ringer");
                got
            })
        });
        let r = ratio_vs_fastest_peer(&m);
        report.worst_vs_peer = report.worst_vs_peer.max(r);
        report.target(format!("gather_two_wakes_{n}"), r, 1.00);
    }
    let n = 100_000u64;
    let m = compare(&st, "limit_two_wakes", n, rounds, &[OURS, "buffer_unordered"], |who, n| {
        Box::pin(async move {
            let (futs, waiting) = two_wakes(n);
            let ringer = tokio::spawn(ring(waiting, 2 * n));
            let got = if who == OURS {
                async_gather(concurry::lazy(futs)).limit(100).stream().count().await
            } else {
                futures::stream::iter(futs).buffer_unordered(100).count().await
            };
            ringer.await.expect("the ringer");
            got
        })
    });
    report.target("limit_two_wakes_100", ratio_vs_fastest_peer(&m), 1.00);
    lap("two wakes");

    println!("\nlimit 100, futures that yield once, made lazily: ns per future");
    let n = 100_000u64;
    let m = compare(&st, "limit_unordered", n, rounds, &[OURS, "buffer_unordered"], |who, n| {
        Box::pin(async move {
            let futs = (0..n).map(yield_once);
            if who == OURS {
                async_gather(concurry::lazy(futs)).limit(100).stream().count().await
            } else {
                futures::stream::iter(futs).buffer_unordered(100).count().await
            }
        })
    });
    report.target("limit_unordered_100", m[0].1 / m[1].1, 1.00);
    let m = compare(&st, "limit_ordered", n, rounds, &[OURS, "buffered"], |who, n| {
        Box::pin(async move {
            let futs = (0..n).map(yield_once);
            if who == OURS {
                async_gather(concurry::lazy(futs)).limit(100).await.expect("no timeout").len()
            } else {
                futures::stream::iter(futs).buffered(100).collect::<Vec<_>>().await.len()
            }
        })
    });
    report.target("limit_ordered_100", m[0].1 / m[1].1, 1.00);
    lap("limit");
    // Spawned tasks on a multi-thread runtime, from inside a task as a service would.
    println!("\nspawned tasks, multi-thread runtime (2 workers): ns per task, spawn included");
    let spawned = peers::SPAWNED;
    print!("{:<22} {:>8}", "workload", "N");
    for who in &spawned {
        print!(" {:>11}", &who[..who.len().min(11)]);
    }
    println!();
    for n in [1_000u64, 100_000] {
        // At 1,000 one call is over in about a millisecond, about the
        // runtime's own wake-up jitter: time 100 calls per sample.
        let calls = (100_000 / n).max(1);
        let m = compare_reps(&mt, "gather_spawned_mt", n, calls, rounds.min(5), &spawned, |who, n| {
            let who = who.to_string();
            Box::pin(async move {
                tokio::spawn(async move {
                    let mut total = 0;
                    for _ in 0..calls {
                        total += run_spawned(who.clone(), n).await;
                    }
                    total
                })
                .await
                .expect("bench task")
            })
        });
        report.target(format!("gather_spawned_mt_{n}"), ratio_vs_fastest_peer(&m), 1.00);
    }

    lap("spawned tasks");
    // Draining by repeated wait(FirstCompleted) vs one iterator-mode pass.
    let n = 100_000u64;
    let mut drain = Vec::new();
    let mut pass = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        st.block_on(async {
            let v: Vec<_> = (0..n).map(yield_once).collect();
            let mut pending = async_wait(v).return_when(ReturnWhen::FirstCompleted).await.expect("no timeout").pending;
            while !pending.is_empty() {
                pending =
                    async_wait(pending).return_when(ReturnWhen::FirstCompleted).await.expect("no timeout").pending;
            }
        });
        drain.push(started.elapsed().as_nanos() as f64);
        let started = Instant::now();
        st.block_on(async {
            let v: Vec<_> = (0..n).map(yield_once).collect();
            let mut s = async_gather(v).stream();
            while let Some(item) = s.next().await {
                item.expect("no failures");
            }
        });
        pass.push(started.elapsed().as_nanos() as f64);
    }
    let ratio = median(drain.clone()) / median(pass.clone());
    println!(
        "\ndrain by wait(FirstCompleted), 100k: {:.1} ns/future; one stream pass {:.1} ns/future",
        median(drain) / n as f64,
        median(pass) / n as f64
    );
    report.target("drain_first_completed", ratio, 2.0);

    lap("drain");
    // Wake latency: oneshot sent from another thread; plain and ours
    // alternate sample by sample, so drift on the machine hits both alike.
    let sample = |ours: bool| -> f64 {
        let (tx, rx) = tokio::sync::oneshot::channel::<Instant>();
        let woke = mt.block_on(async move {
            let sender = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_micros(200));
                let _ = tx.send(Instant::now());
            });
            let sent = if ours { async_try_gather([rx]).await.expect("sent")[0] } else { rx.await.expect("sent") };
            let woke = sent.elapsed();
            sender.join().expect("sender");
            woke
        });
        woke.as_nanos() as f64
    };
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..if quick { 300 } else { 1000 } {
        plain.push(sample(false));
        ours.push(sample(true));
    }
    let (plain, ours) = (median(plain), median(ours));
    println!("wake latency (median): plain .await {:.1} µs, async_gather {:.1} µs", plain / 1e3, ours / 1e3);
    report.target("wake_latency_us", (ours - plain) / 1e3, 10.0);

    lap("wake latency");
    // Deadline precision on a multi-thread runtime: how late a timeout fires.
    let mut late = Vec::new();
    for _ in 0..if quick { 40 } else { 200 } {
        let over = mt.block_on(async {
            let started = Instant::now();
            let err = async_gather([std::future::pending::<u8>()]).timeout(Duration::from_millis(20)).await;
            assert!(err.is_err());
            started.elapsed().saturating_sub(Duration::from_millis(20))
        });
        late.push(over.as_secs_f64() * 1e3);
    }
    let (med, worst) = (median(late.clone()), late.iter().copied().fold(0.0, f64::max));
    println!("timeout of 20 ms fired late by: median {med:.2} ms, worst {worst:.2} ms");
    report.target("deadline_overshoot_ms", med, 2.0);

    lap("deadline");
    // Idle CPU: 10,000 concurrent calls each waiting 1 s on a future with no
    // progress. Each run is a fresh child process, as a service would be, so
    // that the heap left by the big workloads above does not weigh on it.
    let idle = |mode: &str| -> f64 {
        let me = std::env::current_exe().expect("own path");
        let out = std::process::Command::new(me).args(["--idle-child", mode]).output().expect("child run");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("the child prints its CPU ms")
    };
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        plain.push(idle("plain"));
        ours.push(idle("ours"));
    }
    let (plain, ours) = (median(plain), median(ours));
    println!(
        "idle CPU over 1 s, 10k calls (median of 3 processes each): plain {plain:.1} ms, async_gather {ours:.1} ms"
    );
    report.target("idle_cpu_ms", ours - plain, 10.0);

    lap("idle CPU");
    // Bytes allocated per pending future (counting allocator).
    let n = 10_000usize;
    let bytes = |ours: bool| -> f64 {
        st.block_on(async move {
            let v: Vec<_> = (0..n).map(|_| std::future::pending::<u64>()).collect();
            let before = live_bytes();
            let live = if ours {
                let mut f = std::pin::pin!(async_gather(v).into_future());
                let _ = futures::poll!(f.as_mut());
                live_bytes()
            } else {
                let mut f = std::pin::pin!(futures_buffered::join_all(v));
                let _ = futures::poll!(f.as_mut());
                live_bytes()
            };
            // The input Vec is consumed (freed) by both; count what remains.
            (live - before) as f64 / n as f64 + (n * std::mem::size_of::<std::future::Pending<u64>>()) as f64 / n as f64
        })
    };
    let (theirs, ours) = (bytes(false), bytes(true));
    println!("bytes per pending future: futures_buffered {theirs:.1}, concurry {ours:.1}");
    report.target("memory_per_future", ours / theirs, 1.0);

    lap("memory");
    // Progress on vs off, 1M ready futures.
    let n = 1_000_000u64;
    let mut on = Vec::new();
    let mut off = Vec::new();
    for _ in 0..rounds.min(5) {
        for progress in [false, true] {
            let started = Instant::now();
            st.block_on(async {
                let v: Vec<_> = (0..n).map(std::future::ready).collect();
                let g = async_gather(v);
                let out = if progress {
                    g.progress(Bar::default().draw_target(ProgressDrawTarget::hidden())).await
                } else {
                    g.await
                };
                assert_eq!(out.expect("no failures").len(), n as usize);
            });
            let t = started.elapsed().as_nanos() as f64;
            if progress { on.push(t) } else { off.push(t) }
        }
    }
    let ratio = median(on) / median(off);
    println!("progress on/off over 1M ready futures: {ratio:.3}");
    report.target("progress_overhead", ratio, 1.10);
    lap("progress");

    report.print();
}
