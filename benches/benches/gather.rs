//! Criterion benches: concurry against its Rust peers, in the same groups.
//!
//! `cargo bench -p concurry-bench`. For one table of every workload with the
//! targets, run `cargo run --release -p concurry-bench --bin compare -- --quick`.

use concurry_bench::peers;
use concurry_bench::small;

use std::future::IntoFuture;
use std::hint::black_box;
use std::time::Duration;

use concurry::progress::Bar;
use concurry::{ReturnWhen, async_gather, async_wait, gather, probe};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;
use indicatif::ProgressDrawTarget;
use peers::{OURS, PEERS, SPAWNED, run_contender, run_spawned, yield_once};

fn contenders() -> Vec<&'static str> {
    let mut all = vec![OURS];
    all.extend(PEERS);
    all
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn gather_inline(c: &mut Criterion) {
    let rt = current_thread();
    for (name, yielding) in [("gather_ready", false), ("gather_yield", true)] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10).measurement_time(Duration::from_secs(2)).warm_up_time(Duration::from_millis(300));
        for n in [1_000u64, 100_000, 1_000_000] {
            group.throughput(Throughput::Elements(n));
            for who in contenders() {
                group.bench_with_input(BenchmarkId::new(who, n), &n, |b, &n| {
                    b.iter(|| {
                        rt.block_on(async {
                            if yielding {
                                run_contender(who, (0..n).map(yield_once).collect()).await
                            } else {
                                run_contender(who, (0..n).map(std::future::ready).collect()).await
                            }
                        })
                    })
                });
            }
        }
        group.finish();
    }
}

fn gather_spawned(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let mut group = c.benchmark_group("gather_spawned_mt");
    group.sample_size(10).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_millis(300));
    for n in [10u64, 1_000, 100_000] {
        group.throughput(Throughput::Elements(n));
        for who in SPAWNED {
            group.bench_with_input(BenchmarkId::new(who, n), &n, |b, &n| {
                b.iter(|| rt.block_on(async { tokio::spawn(run_spawned(who.to_string(), n)).await.expect("task") }))
            });
        }
    }
    group.finish();
}

fn wait_and_iter(c: &mut Criterion) {
    let rt = current_thread();
    let n = 100_000u64;
    let mut group = c.benchmark_group("wait_first_completed");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function("drain_by_wait_first_completed", |b| {
        b.iter(|| {
            rt.block_on(async {
                let v: Vec<_> = (0..n).map(yield_once).collect();
                let mut pending =
                    async_wait(v).return_when(ReturnWhen::FirstCompleted).await.expect("no timeout").pending;
                while !pending.is_empty() {
                    pending = async_wait(pending).return_when(ReturnWhen::FirstCompleted).await.expect("ok").pending;
                }
            })
        })
    });
    group.bench_function("FuturesUnordered_next", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut set: futures::stream::FuturesUnordered<_> = (0..n).map(yield_once).collect();
                while let Some(x) = set.next().await {
                    black_box(x);
                }
            })
        })
    });
    group.finish();

    let mut group = c.benchmark_group("iterator_mode");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function("concurry_stream", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s = async_gather((0..n).map(yield_once).collect::<Vec<_>>()).stream();
                while let Some(x) = s.next().await {
                    black_box(x.expect("no failures"));
                }
            })
        })
    });
    group.bench_function("FuturesUnordered", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s: futures::stream::FuturesUnordered<_> = (0..n).map(yield_once).collect();
                while let Some(x) = s.next().await {
                    black_box(x);
                }
            })
        })
    });
    group.bench_function("futures_buffered", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut s: futures_buffered::FuturesUnorderedBounded<_> = (0..n).map(yield_once).collect();
                while let Some(x) = s.next().await {
                    black_box(x);
                }
            })
        })
    });
    group.finish();
}

fn sync_threads(c: &mut Criterion) {
    let mut group = c.benchmark_group("sync_gather_os_threads");
    group.sample_size(10);
    group.bench_function("concurry_gather_16_threads", |b| {
        b.iter(|| {
            let hs: Vec<_> = (0..16u64).map(|i| probe::thread(std::thread::spawn(move || i))).collect();
            gather(hs).run().expect("no panics")
        })
    });
    group.bench_function("join_each_16_threads", |b| {
        b.iter(|| {
            let hs: Vec<_> = (0..16u64).map(|i| std::thread::spawn(move || i)).collect();
            hs.into_iter().map(|h| h.join().expect("no panics")).collect::<Vec<_>>()
        })
    });
    group.finish();
}

fn progress_overhead(c: &mut Criterion) {
    let rt = current_thread();
    let n = 1_000_000u64;
    let mut group = c.benchmark_group("progress_overhead");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function("off", |b| {
        b.iter(|| rt.block_on(async { async_gather((0..n).map(std::future::ready).collect::<Vec<_>>()).await }))
    });
    group.bench_function("bar", |b| {
        b.iter(|| {
            rt.block_on(async {
                async_gather((0..n).map(std::future::ready).collect::<Vec<_>>())
                    .progress(Bar::default().draw_target(ProgressDrawTarget::hidden()))
                    .await
            })
        })
    });
    group.finish();
}

/// Small calls: 1,000 calls per iteration of a `Vec`, array or map of 1, 3
/// or 10 futures, ready or yielding once; and blocking calls of a `Vec`
/// from the bench's own thread against `futures::executor::block_on`.
fn small_calls(c: &mut Criterion) {
    use small::{SMALL_PEERS, array_calls, blocking_calls, map_calls, vec_calls};
    const CALLS: usize = 1_000;
    let rt = current_thread();
    let mut all = vec![OURS];
    all.extend(SMALL_PEERS);
    for yielding in [false, true] {
        let kind = if yielding { "yield" } else { "ready" };
        for shape in ["vec", "array", "map"] {
            let mut group = c.benchmark_group(format!("small_{shape}_{kind}"));
            group.sample_size(10).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(200));
            group.throughput(Throughput::Elements(CALLS as u64));
            for who in &all {
                for n in [1u64, 3, 10] {
                    group.bench_with_input(BenchmarkId::new(*who, n), &n, |b, &n| {
                        b.iter(|| {
                            rt.block_on(async {
                                match (shape, n, yielding) {
                                    ("vec", n, false) => vec_calls(who, n, CALLS, std::future::ready).await,
                                    ("vec", n, true) => vec_calls(who, n, CALLS, yield_once).await,
                                    ("map", n, false) => map_calls(who, n, CALLS, std::future::ready).await,
                                    ("map", n, true) => map_calls(who, n, CALLS, yield_once).await,
                                    (_, 1, false) => array_calls::<1, _>(who, CALLS, std::future::ready).await,
                                    (_, 3, false) => array_calls::<3, _>(who, CALLS, std::future::ready).await,
                                    (_, _, false) => array_calls::<10, _>(who, CALLS, std::future::ready).await,
                                    (_, 1, true) => array_calls::<1, _>(who, CALLS, yield_once).await,
                                    (_, 3, true) => array_calls::<3, _>(who, CALLS, yield_once).await,
                                    (_, _, true) => array_calls::<10, _>(who, CALLS, yield_once).await,
                                }
                            })
                        })
                    });
                }
            }
            group.finish();
        }
    }
    let mut group = c.benchmark_group("blocking_small");
    group.sample_size(10).measurement_time(Duration::from_secs(1)).warm_up_time(Duration::from_millis(200));
    group.throughput(Throughput::Elements(CALLS as u64));
    for who in [OURS, "block_on(join_all)"] {
        for n in [1u64, 3, 10] {
            group.bench_with_input(BenchmarkId::new(who, n), &n, |b, &n| {
                b.iter(|| blocking_calls(who, n, CALLS, yield_once))
            });
        }
    }
    group.finish();
}

/// A limit of 100 over 100,000 futures that yield once, made lazily: in
/// completion order against `buffer_unordered(100)`, in input order
/// against `buffered(100)`.
fn limit(c: &mut Criterion) {
    let rt = current_thread();
    let n = 100_000u64;
    let mut group = c.benchmark_group("limit_unordered_100");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function(OURS, |b| {
        b.iter(|| rt.block_on(async_gather(concurry::lazy((0..n).map(yield_once))).limit(100).stream().count()))
    });
    group.bench_function("buffer_unordered", |b| {
        b.iter(|| rt.block_on(futures::stream::iter((0..n).map(yield_once)).buffer_unordered(100).count()))
    });
    group.finish();
    let mut group = c.benchmark_group("limit_ordered_100");
    group.sample_size(10).throughput(Throughput::Elements(n));
    group.bench_function(OURS, |b| {
        b.iter(|| rt.block_on(async_gather(concurry::lazy((0..n).map(yield_once))).limit(100).into_future()))
    });
    group.bench_function("buffered", |b| {
        b.iter(|| rt.block_on(futures::stream::iter((0..n).map(yield_once)).buffered(100).collect::<Vec<_>>()))
    });
    group.finish();
}

#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(
        benches,
        gather_inline,
        gather_spawned,
        small_calls,
        wait_and_iter,
        sync_threads,
        progress_overhead,
        limit
    );
}
criterion_main!(group::benches);
