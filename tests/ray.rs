//! Against a real Ray head (feature `ray`): `.ci/run` starts one at
//! `RAY_ADDRESS` (default `http://127.0.0.1:8265`) and stops it after.
//! Every call runs under a watchdog.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

use concurry::probe::{Answer, Batch, BatchError, BatchProbe};
use concurry::ray::{CheckBy, JobFailed, JobInfo, JobSubmission, RayJobs};
use concurry::{Error, ReturnWhen, async_gather, async_try_gather, async_wait};
use futures::StreamExt;

async fn watchdog<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(120), fut).await.expect("watchdog: the call hung")
}

/// A unique submission id per test run, so reruns on one head do not clash.
fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("concurry-{name}-{nanos}")
}

async fn submit(ray: &RayJobs, name: &str, entrypoint: &str) -> String {
    let job = JobSubmission::new(entrypoint).submission_id(unique(name)).metadata("test", name);
    watchdog(ray.submit(job)).await.expect("the head takes the job")
}

/// Counts round trips, and the most in flight at once, around the real client.
struct Counted {
    ray: RayJobs,
    trips: AtomicUsize,
    in_flight: AtomicUsize,
    most: AtomicUsize,
}

impl BatchProbe for Counted {
    type Id = String;
    type Output = JobInfo;
    type Failure = JobFailed;
    type Error = concurry::ray::RayError;
    fn name(&self) -> String {
        self.ray.name()
    }
    fn min_interval(&self) -> Duration {
        self.ray.min_interval()
    }
    async fn check(&self, ids: Vec<String>) -> Answer<Self> {
        self.trips.fetch_add(1, SeqCst);
        self.most.fetch_max(self.in_flight.fetch_add(1, SeqCst) + 1, SeqCst);
        let answer = self.ray.check(ids).await;
        self.in_flight.fetch_sub(1, SeqCst);
        answer
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_jobs_gathered_by_name_from_a_map() {
    let ray = RayJobs::from_env();
    let mut names = HashMap::new();
    for i in 0..20 {
        let id = submit(&ray, &format!("map{i}"), &format!("echo job-{i}")).await;
        names.insert(format!("job-{i}"), id);
    }
    let batch =
        Batch::new(Counted { ray: ray.clone(), trips: AtomicUsize::new(0), in_flight: 0.into(), most: 0.into() });
    let handles: HashMap<String, _> = names.iter().map(|(name, id)| (name.clone(), batch.handle(id.clone()))).collect();
    let started = Instant::now();
    let done = watchdog(async_try_gather(handles).progress(true).into_future()).await.expect("all succeed");
    assert_eq!(done.len(), 20);
    assert!(done.values().all(|j| j.status == "SUCCEEDED"));
    let logs = watchdog(ray.logs(&names["job-7"])).await.unwrap();
    assert!(logs.contains("job-7"), "{logs}");
    // At most one round trip per check: never two at once, and no more than
    // the pace allows.
    let trips = batch.backend().trips.load(SeqCst) as f64;
    let most_allowed = started.elapsed().as_secs_f64() / batch.backend().min_interval().as_secs_f64() + 2.0;
    assert_eq!(batch.backend().most.load(SeqCst), 1);
    assert!(trips <= most_allowed, "{trips} round trips in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_completed_returns_the_quick_job() {
    let ray = RayJobs::from_env();
    let quick = submit(&ray, "quick", "echo quick").await;
    let slow = submit(&ray, "slow", "sleep 60").await;
    let batch = Batch::new(ray.clone());
    let w = watchdog(
        async_wait(vec![batch.handle(quick.clone()), batch.handle(slow.clone())])
            .return_when(ReturnWhen::FirstCompleted)
            .into_future(),
    )
    .await
    .unwrap();
    assert_eq!(w.done.len(), 1);
    assert_eq!(w.done[0].1.as_ref().unwrap().submission_id.as_deref(), Some(quick.as_str()));
    assert_eq!(w.pending.len(), 1);
    assert!(watchdog(ray.stop(&slow)).await.unwrap());
}

/// Issue 21.5, on the real head: two handles on one running job (in list
/// and per-job mode) both wait for it; neither fails as UNKNOWN.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_running_job_both_wait_for_it() {
    let ray = RayJobs::from_env();
    let slow = submit(&ray, "twice", "sleep 60").await;
    for by in [CheckBy::List, CheckBy::EachJob] {
        let batch = Batch::new(ray.clone().check_by(by));
        let waited = watchdog(
            async_wait(vec![batch.handle(slow.clone()), batch.handle(slow.clone())])
                .first_completed()
                .timeout(Duration::from_millis(1500))
                .into_future(),
        )
        .await;
        let err = waited.expect_err("the job is running, under both handles");
        assert!(err.is_timeout(), "{by:?}: {err}");
    }
    assert!(watchdog(ray.stop(&slow)).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_job_names_its_key_and_rays_message() {
    let ray = RayJobs::from_env();
    let ok = submit(&ray, "ok", "echo fine").await;
    let bad = submit(&ray, "bad", "echo about to fail; exit 3").await;
    let batch = Batch::new(ray.clone());
    let jobs = HashMap::from([("ok", batch.handle(ok)), ("bad", batch.handle(bad.clone()))]);
    let err = watchdog(async_try_gather(jobs).into_future()).await.unwrap_err();
    let Error::Failed { key, .. } = &err else { panic!("expected a failure, got {err:?}") };
    assert_eq!(*key, "bad");
    let failed = err.child_error::<BatchError<String, JobFailed>>().expect("the job's failure");
    let BatchError::Failed { failure, .. } = failed else { panic!("{failed:?}") };
    assert_eq!((failure.id.as_str(), failure.status.as_str()), (bad.as_str(), "FAILED"));
    assert!(failure.message.contains("exit code 3") || failure.message.contains("3"), "{}", failure.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_hands_back_the_pending_jobs_to_wait_on_again() {
    let ray = RayJobs::from_env();
    let a = submit(&ray, "later-a", "sleep 3; echo a").await;
    let b = submit(&ray, "later-b", "sleep 3; echo b").await;
    let batch = Batch::new(ray.clone());
    let (err, had) = watchdog(
        async_try_gather(vec![batch.handle(a.clone()), batch.handle(b.clone())])
            .timeout(Duration::from_millis(300))
            .keep_partial()
            .into_future(),
    )
    .await
    .unwrap()
    .into_interrupted()
    .expect("the call was stopped");
    let pending = {
        assert!(err.is_timeout(), "{err}");
        had
    }
    .pending;
    assert_eq!(pending.len(), 2);
    // Waited on again, as they are.
    let done = watchdog(async_try_gather(pending).into_future()).await.unwrap();
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|(_, job)| job.status == "SUCCEEDED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iterator_mode_over_jobs_and_checks_by_each_job() {
    let ray = RayJobs::from_env().check_by(CheckBy::EachJob);
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(submit(&ray, &format!("iter{i}"), &format!("sleep 0.{i}; echo {i}")).await);
    }
    let batch = Batch::new(ray.clone());
    let mut stream = async_gather(ids.iter().map(|id| batch.handle(id.clone())).collect::<Vec<_>>()).stream();
    let mut seen = Vec::new();
    while let Some(item) = watchdog(stream.next()).await {
        let (index, job) = item.unwrap();
        assert_eq!(job.unwrap().status, "SUCCEEDED");
        seen.push(index);
    }
    seen.sort();
    assert_eq!(seen, [0, 1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_address_is_a_clear_error() {
    let ray = RayJobs::new("http://127.0.0.1:9").check_every(Duration::from_millis(10));
    let err = ray.submit(JobSubmission::new("echo x")).await.unwrap_err();
    assert!(err.to_string().starts_with("Ray head at http://127.0.0.1:9: POST /api/jobs/ failed"), "{err}");
    let batch = Batch::with_max_failures(ray, 3);
    let err = watchdog(async_try_gather(vec![batch.handle("some-job".to_string())]).into_future()).await.unwrap_err();
    let failed = err.child_error::<BatchError<String, JobFailed>>().expect("a backend error");
    assert_eq!(
        failed.to_string(),
        r#"Ray head at http://127.0.0.1:9 failed 3 round trips in a row waiting on "some-job""#
    );
    assert_eq!(failed.id(), "some-job", "the handle can be made again from its id");
    let cause = std::error::Error::source(failed).unwrap().to_string();
    assert!(cause.contains("GET /api/jobs/some-job failed"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_job_is_a_failure_not_a_hang() {
    let ray = RayJobs::from_env();
    let batch = Batch::new(ray);
    let out = watchdog(async_gather(vec![batch.handle(unique("never-submitted"))]).into_future()).await.unwrap();
    let err = out[0].as_ref().unwrap_err();
    assert!(err.to_string().contains("UNKNOWN"), "{err}");
}

/// `Arc` is what services share; the backend is `Send + Sync`.
#[test]
fn the_client_is_shareable() {
    fn check<T: Send + Sync + 'static>() {}
    check::<RayJobs>();
    check::<Arc<Batch<RayJobs>>>();
}
