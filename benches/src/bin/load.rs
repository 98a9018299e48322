//! Load: one gather over 1,000,000 futures, and 10,000 concurrent
//! `async_gather` calls on one runtime. Both must finish with bounded memory
//! and no stall; this prints the time and the peak RSS of each.
//!
//! Run with `cargo run --release -p concurry-bench --bin load` (Linux: reads VmHWM from
//! /proc/self/status). Each load runs in a fresh child process of this
//! example, so that one peak does not hide the other.

use std::time::{Duration, Instant};

use concurry::async_gather;

use concurry_bench::measure;

fn peak_rss_mib() -> f64 {
    measure::peak_rss_kib() as f64 / 1024.0
}

fn one_million() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let started = Instant::now();
    let out = rt.block_on(async {
        let children: Vec<_> = (0..1_000_000u64)
            .map(|i| async move {
                if i % 2 == 0 {
                    tokio::task::yield_now().await;
                }
                i
            })
            .collect();
        async_gather(children).timeout(Duration::from_secs(300)).await.expect("all complete")
    });
    assert_eq!(out.len(), 1_000_000);
    assert!(out.iter().enumerate().all(|(i, &v)| v == i as u64));
    println!("1 gather x 1,000,000 futures: {:.2?}, peak RSS {:.1} MiB", started.elapsed(), peak_rss_mib());
}

fn ten_thousand_calls() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let started = Instant::now();
    let total = rt.block_on(async {
        let calls: Vec<_> = (0..10_000u64)
            .map(|c| {
                tokio::spawn(async move {
                    let children: Vec<_> = (0..10u64)
                        .map(|i| async move {
                            tokio::time::sleep(Duration::from_millis((c + i) % 50)).await;
                            c * 10 + i
                        })
                        .collect();
                    async_gather(children).timeout(Duration::from_secs(60)).await.expect("all complete").len()
                })
            })
            .collect();
        let mut total = 0;
        for call in calls {
            total += call.await.expect("no panic");
        }
        total
    });
    assert_eq!(total, 100_000);
    println!(
        "10,000 concurrent async_gather calls x 10 futures: {:.2?}, peak RSS {:.1} MiB",
        started.elapsed(),
        peak_rss_mib()
    );
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("million") => one_million(),
        Some("calls") => ten_thousand_calls(),
        _ => {
            let me = std::env::current_exe().expect("own path");
            for load in ["million", "calls"] {
                let status = std::process::Command::new(&me).arg(load).status().expect("child run");
                assert!(status.success(), "{load} failed");
            }
        }
    }
}
