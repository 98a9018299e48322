//! The spec's "Polling Strategies": each algorithm by value and by name, its
//! own parameters, the run-time default, and a comparison over OS threads.
//!
//! Polling only paces children that cannot wake the engine (threads,
//! processes, outside systems); futures wake it themselves.
//!
//! Run with `cargo run --example polling`.

use std::time::{Duration, Instant};

use concurry::polling::{Adaptive, Fixed};
use concurry::{PollingAlgorithm, config, probe, try_gather};

fn threads(n: u64) -> Vec<concurry::probe::Probed<concurry::probe::ThreadProbe<u64>>> {
    (0..n)
        .map(|i| {
            probe::thread(std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5 * i));
                i
            }))
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Adaptive is the default; or explicitly, by value or by name.
    try_gather(threads(4)).run()?;
    try_gather(threads(4)).polling(PollingAlgorithm::Adaptive).run()?;
    try_gather(threads(4)).polling("adaptive".parse::<PollingAlgorithm>()?).run()?;

    // Each algorithm with parameters of its own.
    try_gather(threads(4)).polling(Fixed::new(Duration::from_millis(2))?).run()?;
    let eager =
        Adaptive::new(Duration::from_millis(5), Duration::from_millis(1), Duration::from_millis(20), 0.5, 1.5, 2)?;
    try_gather(threads(4)).polling(eager).run()?;

    // Change the default for every later call.
    config::update(|d| d.polling = PollingAlgorithm::Progressive)?;
    try_gather(threads(4)).run()?;
    config::reset();

    // Choosing a strategy: time each over the same kind of work.
    for strategy in ["fixed", "adaptive", "exponential", "progressive"] {
        let start = Instant::now();
        let results = try_gather(threads(20)).polling(strategy.parse::<PollingAlgorithm>()?).run()?;
        assert_eq!(results.len(), 20);
        println!("{strategy}: {:.3}s", start.elapsed().as_secs_f64());
    }
    Ok(())
}
