//! The spec's Ray optimisation, with a simulated remote job service.
//!
//! Worker threads write results into a shared table; a client answers
//! "which of these jobs are done?" for many jobs in one round trip. Gathering
//! 1,000 jobs costs one round trip per check, not 1,000.
//!
//! Run with `cargo run --example batch_probe`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concurry::probe::{Batch, BatchProbe};
use concurry::{PollingAlgorithm, try_gather};

/// The service's side: a results table its workers fill in.
#[derive(Default)]
struct JobService {
    results: Mutex<HashMap<u64, u64>>,
}

impl JobService {
    fn submit(self: &Arc<Self>, job: u64) -> u64 {
        let service = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(job % 50));
            service.results.lock().unwrap().insert(job, job * 2);
        });
        job
    }
}

/// The client's side: one status query for many jobs, counted.
struct Client {
    service: Arc<JobService>,
    round_trips: AtomicUsize,
}

impl BatchProbe for Client {
    type Id = u64;
    type Output = u64;
    type Failure = String;
    type Error = std::io::Error;

    fn name(&self) -> String {
        "the simulated job service".into()
    }

    /// An in-process service may be asked often; a remote one should not.
    fn min_interval(&self) -> Duration {
        Duration::from_millis(5)
    }

    /// One status query for many jobs: over the network, this would await
    /// an HTTP call (see the `ray` module for a real one).
    async fn check(&self, jobs: Vec<u64>) -> std::io::Result<Vec<(usize, Result<u64, String>)>> {
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        let table = self.service.results.lock().unwrap();
        Ok(jobs.iter().enumerate().filter_map(|(pos, job)| table.get(job).map(|&r| (pos, Ok(r)))).collect())
    }
}

fn main() {
    let service = Arc::new(JobService::default());
    let batch = Batch::new(Client { service: service.clone(), round_trips: AtomicUsize::new(0) });

    let started = Instant::now();
    let handles: Vec<_> = (0..1_000).map(|job| batch.handle(service.submit(job))).collect();
    let results = try_gather(handles).polling(PollingAlgorithm::Adaptive).run().expect("jobs finish");

    let round_trips = batch.backend().round_trips.load(Ordering::Relaxed);
    assert!(results.iter().enumerate().all(|(job, &r)| r == job as u64 * 2));
    println!("gathered {} job results in {:?}", results.len(), started.elapsed());
    println!("status round trips: {round_trips} (one per check, for all pending jobs; not 1000)");
}
