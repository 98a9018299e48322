//! Peak memory of iterator mode over 1,000,000 futures: outputs already
//! yielded are not kept, so the peak is the children themselves. And the
//! same 1,000,000 made lazily (`lazy`) at `.limit(100)`: the peak is then
//! about 100 futures, against `buffer_unordered(100)`.
//!
//! Run with `cargo run --release -p concurry-bench --bin memory` (Linux: reads VmHWM from
//! /proc/self/status). Each mode runs in a fresh child process of this
//! example, so that one peak does not hide the other.

use std::time::Duration;

use concurry::{async_gather, lazy};
use futures::StreamExt;

use concurry_bench::measure;
use measure::peak_rss_kib;

const N: usize = 1_000_000;
/// Each output is 1 KiB: kept, they would need about 1 GB.
type Output = [u8; 1024];

fn children() -> Vec<impl Future<Output = Output>> {
    (0..N)
        .map(|i| async move {
            tokio::task::yield_now().await;
            [i as u8; 1024]
        })
        .collect()
}

fn run(mode: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let before = peak_rss_kib();
    rt.block_on(async {
        match mode {
            "stream" => {
                let mut stream = async_gather(children()).timeout(Duration::from_secs(600)).stream();
                let mut checksum = 0u64;
                while let Some(item) = stream.next().await {
                    let (_, out) = item.expect("no child fails");
                    checksum += u64::from(out[0]);
                }
                assert!(checksum > 0);
            }
            "lazy" | "buffer_unordered" => {
                let made = (0..N).map(|i| async move {
                    tokio::task::yield_now().await;
                    [i as u8; 1024]
                });
                let mut checksum = 0u64;
                if mode == "lazy" {
                    let mut stream = async_gather(lazy(made)).limit(100).stream();
                    while let Some(item) = stream.next().await {
                        checksum += u64::from(item.expect("no timeout").1[0]);
                    }
                } else {
                    let mut stream = futures::stream::iter(made).buffer_unordered(100);
                    while let Some(out) = stream.next().await {
                        checksum += u64::from(out[0]);
                    }
                }
                assert!(checksum > 0);
            }
            _ => {
                let out = async_gather(children()).await.expect("no child fails");
                assert_eq!(out.len(), N);
            }
        }
    });
    let peak = peak_rss_kib() - before;
    println!(
        "{mode:<7} {N} futures with 1 KiB outputs: peak RSS grew by {:.1} MiB, {:.0} bytes per future",
        peak as f64 / 1024.0,
        peak as f64 * 1024.0 / N as f64
    );
}

fn main() {
    if let Some(mode) = std::env::args().nth(1) {
        run(&mode);
        return;
    }
    let me = std::env::current_exe().expect("own path");
    for mode in ["stream", "gather", "lazy", "buffer_unordered"] {
        let status = std::process::Command::new(&me).arg(mode).status().expect("child run");
        assert!(status.success());
    }
}
