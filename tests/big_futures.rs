//! Children whose futures are large (tens of KB) fit a Tokio worker's
//! default 2 MiB stack. A stack overflow aborts the process, so each case
//! runs in a process of its own: this test binary, run again with
//! `BIG_FUTURES_CASE` set.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// `N` bytes of state and a field with drop glue (as real futures have),
/// pending once (waking itself), then ready.
struct Big<const N: usize> {
    bytes: [u8; N],
    yielded: bool,
    _owned: String,
}

impl<const N: usize> Future for Big<N> {
    type Output = u8;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u8> {
        if self.yielded {
            return Poll::Ready(self.bytes[N - 1]);
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

fn gather_in_a_worker<const N: usize>(count: usize) {
    let children: Vec<Big<N>> =
        (0..count).map(|i| Big { bytes: [i as u8; N], yielded: false, _owned: format!("child {i}") }).collect();
    // Tokio's default worker stack: 2 MiB.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let out = rt.block_on(async move {
        let task = tokio::spawn(async move { concurry::async_gather(children).await.unwrap() });
        tokio::time::timeout(Duration::from_secs(20), task).await.expect("watchdog: the call hung").unwrap()
    });
    assert_eq!(out, (0..count).map(|i| i as u8).collect::<Vec<_>>());
}

/// The case this process was started for (ignored in a plain run: the test
/// below starts it, in a process of its own).
#[test]
#[ignore = "started by `large_futures_fit_a_tokio_workers_stack` in a process of its own"]
fn case() {
    let Ok(case) = std::env::var("BIG_FUTURES_CASE") else { return };
    let (count, bytes) = case.split_once(',').expect("count,bytes");
    let count: usize = count.parse().unwrap();
    match bytes {
        "20000" => gather_in_a_worker::<20_000>(count),
        "40000" => gather_in_a_worker::<40_000>(count),
        "70000" => gather_in_a_worker::<70_000>(count),
        other => panic!("no case for {other} bytes"),
    }
}

#[test]
fn large_futures_fit_a_tokio_workers_stack() {
    // One child of 70 KB needed about 32 times its size of stack (2.3 MiB):
    // the block was built on the stack in a frame sized for the widest
    // block (32 slots), whatever width was made. A few children of 40 KB,
    // more than their first block holds, needed twice that.
    let exe = std::env::current_exe().unwrap();
    let mut failed = Vec::new();
    for case in ["1,20000", "1,40000", "1,70000", "2,20000", "3,20000", "2,40000", "5,40000", "9,40000"] {
        let out = std::process::Command::new(&exe)
            .args(["--exact", "case", "--ignored", "--test-threads=1"])
            .env("BIG_FUTURES_CASE", case)
            .output()
            .unwrap();
        if out.status.success() {
            // The case ran, not a filter that matched nothing.
            assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"), "case {case} did not run");
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr.lines().find(|l| l.contains("overflow") || l.contains("panicked")).unwrap_or("");
            failed.push(format!("{case}: {} {why}", out.status));
        }
    }
    assert!(failed.is_empty(), "gathers that did not fit a 2 MiB worker stack (count,bytes):\n{}", failed.join("\n"));
}
