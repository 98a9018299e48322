//! Ray stopped in the middle of a wait (feature `ray`). It stops the head,
//! so it is ignored by default: `.ci/run` runs it last, alone, with
//! `RAY_BIN` set to the `ray` command, and tears the head down after.

use std::time::{Duration, Instant};

use concurry::async_try_gather;
use concurry::probe::{Batch, BatchError};
use concurry::ray::{JobFailed, JobSubmission, RayJobs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "stops the Ray head: .ci/run runs it last, with RAY_BIN set"]
async fn ray_stopped_mid_wait_gives_the_clear_error_within_the_retries() {
    let ray_bin = std::env::var("RAY_BIN").expect("set RAY_BIN to the `ray` command (as .ci/run does)");
    let ray = RayJobs::from_env().check_every(Duration::from_millis(200));
    let id = ray.submit(JobSubmission::new("sleep 120")).await.expect("the head takes the job");
    let batch = Batch::with_max_failures(ray.clone(), 3);
    let wait = tokio::spawn(async move { async_try_gather(vec![batch.handle(id)]).await });

    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped = tokio::process::Command::new(&ray_bin).args(["stop", "--force"]).output().await.expect("ray stop");
    assert!(stopped.status.success(), "{}", String::from_utf8_lossy(&stopped.stderr));
    let down_at = Instant::now();

    let result = tokio::time::timeout(Duration::from_secs(60), wait).await.expect("watchdog: the wait hung");
    let err = result.expect("no panic").unwrap_err();
    // Three failed round trips, 200 ms apart, each refused at once.
    assert!(down_at.elapsed() < Duration::from_secs(20), "took {:?}", down_at.elapsed());
    let failed = err.child_error::<BatchError<String, JobFailed>>().expect("a backend error");
    let BatchError::Backend { backend, failures, .. } = failed else { panic!("{failed:?}") };
    assert_eq!((backend.as_str(), *failures), (format!("Ray head at {}", ray.address()).as_str(), 3));
    assert!(!failed.id().is_empty(), "the handle's id comes back, to wait again");
}
