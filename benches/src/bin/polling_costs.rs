//! What each polling algorithm costs when waiting on OS threads: how late a
//! completion is noticed, and how much CPU the waiting burns. Also what the
//! async entry points' 100 µs interval really delivers on Tokio's 1 ms timer.
//!
//! Run with `cargo run --release -p concurry-bench --bin polling_costs`. Linux only for the
//! CPU figures (it reads /proc).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use concurry::probe::{Probe, probe, thread};
use concurry::{PollingAlgorithm, async_try_gather, try_gather};

use concurry_bench::measure;
use measure::{cpu_ns, median};

fn measure(polling: PollingAlgorithm) -> (Duration, Duration, f64) {
    // 16 threads finishing 0..1.5 s apart, each stamping when it finished.
    let threads: Vec<_> = (0..16u64)
        .map(|i| {
            thread(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(i * 97 % 1500));
                Instant::now()
            }))
        })
        .collect();
    let cpu_before = cpu_ns();
    let started = Instant::now();
    let mut late = Vec::new();
    for item in try_gather(threads).polling(polling).iter() {
        let (_, finished_at) = item.expect("threads do not panic");
        late.push(finished_at.elapsed());
    }
    let wall = started.elapsed();
    let cpu = Duration::from_nanos(cpu_ns() - cpu_before);
    let max = *late.iter().max().expect("16 items");
    (median(late), max, cpu.as_secs_f64() * 1e3 / wall.as_secs_f64())
}

struct Never(Arc<AtomicUsize>);
impl Probe for Never {
    type Output = ();
    fn try_finish(&mut self) -> Option<()> {
        self.0.fetch_add(1, Ordering::Relaxed);
        None
    }
}

fn main() {
    println!("waiting on 16 OS threads finishing over 1.5 s, blocking gather in iterator mode");
    println!("{:<12} {:>14} {:>14} {:>16}", "algorithm", "median late", "max late", "CPU ms per s");
    // Warm the shared runtime first.
    let _ = try_gather([std::future::ready(0)]).run();
    for alg in [
        PollingAlgorithm::Fixed,
        PollingAlgorithm::Adaptive,
        PollingAlgorithm::Exponential,
        PollingAlgorithm::Progressive,
    ] {
        let (med, max, cpu) = measure(alg);
        println!("{:<12} {:>14.2?} {:>14.2?} {:>16.2}", alg.as_str(), med, max, cpu);
    }

    let checks = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let cpu_before = cpu_ns();
    rt.block_on(async {
        let never = probe(Never(checks.clone()));
        let _ = async_try_gather([never]).timeout(Duration::from_secs(1)).await;
    });
    let cpu = Duration::from_nanos(cpu_ns() - cpu_before);
    println!(
        "async_gather at the default 100 µs interval, 1 s on a probe that never finishes: {} checks, {:.1} ms CPU",
        checks.load(Ordering::Relaxed),
        cpu.as_secs_f64() * 1e3
    );
}
