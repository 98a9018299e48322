//! Submits 20 jobs to a Ray head, waits on them with a progress bar, and
//! prints their results and the round trips it took. Also times one check
//! of the 20 jobs both ways: one `GET /api/jobs/` for all, or one
//! `GET /api/jobs/{id}` per job.
//!
//! Start a head first (see the README's "Waiting on Ray jobs"), then:
//! `cargo run --example ray_jobs --features ray`

use std::time::{Duration, Instant};

use concurry::probe::{Batch, BatchProbe};
use concurry::progress::Bar;
use concurry::ray::{CheckBy, JobSubmission, RayJobs};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ray = RayJobs::from_env();
    println!("Ray head at {}", ray.address());
    let run = std::process::id();
    let mut ids = Vec::new();
    for i in 0..20 {
        let job = JobSubmission::new(format!("sleep 0.{}; echo square of {i} is {}", i % 10, i * i))
            .submission_id(format!("concurry-example-{run}-{i}"))
            .metadata("example", "ray_jobs");
        ids.push(ray.submit(job).await?);
    }

    // One check of the 20 jobs, both ways, while they run.
    for by in [CheckBy::List, CheckBy::EachJob] {
        let client = ray.clone().check_by(by);
        let mut times = Vec::new();
        for _ in 0..7 {
            let started = Instant::now();
            client.check(ids.clone()).await?;
            times.push(started.elapsed());
        }
        println!("one check of 20 jobs by {by}: {:.1?} (median of 7)", median(times));
    }

    let jobs = Batch::new(ray.clone());
    let handles: Vec<_> = ids.iter().map(|id| jobs.handle(id.clone())).collect();
    let started = Instant::now();
    let done = concurry::async_try_gather(handles).progress(Bar::default().desc("Ray jobs").unit("job")).await?;
    println!("{} jobs done in {:.1?}, with {} round trips", done.len(), started.elapsed(), jobs.round_trips());
    for (id, job) in ids.iter().zip(&done).take(5) {
        let logs = ray.logs(id).await?;
        let last = logs.lines().rfind(|l| l.starts_with("square")).unwrap_or_default();
        println!("  {id}: {} ({last})", job.status);
    }
    Ok(())
}
