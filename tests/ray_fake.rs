//! `RayJobs` against a fake head (feature `ray`, no Ray needed): a tiny
//! HTTP/1.1 server on 127.0.0.1 that answers the Jobs API from canned JSON
//! and records every request it received. Every call runs under a
//! watchdog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use concurry::probe::{Batch, BatchProbe};
use concurry::ray::{CheckBy, EACH_JOB_CONCURRENCY, RayJobs};
use concurry::{async_try_gather, async_wait};
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

async fn watchdog<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), fut).await.expect("watchdog: the call hung")
}

/// What the fake head holds and what it saw.
#[derive(Default)]
struct Head {
    /// Job records by submission id, and the ids in submission order.
    jobs: Mutex<(HashMap<String, serde_json::Value>, Vec<String>)>,
    /// Every request, as `METHOD /raw/path`.
    requests: Mutex<Vec<String>>,
    /// Body bytes sent.
    bytes_out: AtomicUsize,
    /// How long each answer takes, in ms (0 by default).
    delay_ms: AtomicU64,
    /// Requests being answered now, and the most at once.
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

/// A job record the size of a real one (about 500 bytes).
fn record(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "SUBMISSION",
        "job_id": "02000000",
        "submission_id": id,
        "driver_info": {"id": "02000000", "node_ip_address": "10.0.0.1", "pid": "41234"},
        "status": status,
        "entrypoint": "python train.py --epochs 10 --learning-rate 0.001",
        "message": if status == "RUNNING" { "Job is currently running." } else { "Job finished successfully." },
        "error_type": null,
        "start_time": 1_764_650_000_000u64,
        "end_time": 1_764_650_060_000u64,
        "metadata": {"team": "data", "owner": "ci"},
        "runtime_env": {"pip": ["numpy==1.26.4", "pandas==2.2.2"], "env_vars": {"OMP_NUM_THREADS": "1"}},
        "driver_agent_http_address": "http://10.0.0.1:52365",
        "driver_node_id": "a3f1c2d4e5b6a7980123456789abcdef0123456789abcdef01234567",
        "driver_exit_code": 0
    })
}

impl Head {
    fn set(&self, id: &str, status: &str) {
        let mut jobs = self.jobs.lock().unwrap();
        if jobs.0.insert(id.to_owned(), record(id, status)).is_none() {
            jobs.1.push(id.to_owned());
        }
    }

    fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    fn clear(&self) {
        self.requests.lock().unwrap().clear();
        self.bytes_out.store(0, SeqCst);
    }

    /// The status and body for one request.
    fn answer(&self, method: &str, path: &str) -> (u16, String) {
        self.requests.lock().unwrap().push(format!("{method} {path}"));
        let jobs = self.jobs.lock().unwrap();
        if method == "GET" && path == "/api/jobs/" {
            let all: Vec<&serde_json::Value> = jobs.1.iter().map(|id| &jobs.0[id]).collect();
            return (200, serde_json::to_string(&all).unwrap());
        }
        let Some(rest) = path.strip_prefix("/api/jobs/") else { return (404, "no such route".into()) };
        let parts: Vec<String> =
            rest.split('/').map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned()).collect();
        let job = |id: &str| jobs.0.get(id).cloned();
        match (method, parts.as_slice()) {
            ("GET", [id]) => match job(id) {
                Some(j) => (200, j.to_string()),
                None => (404, format!("Job {id} does not exist")),
            },
            ("GET", [id, logs]) if logs == "logs" && job(id).is_some() => {
                (200, serde_json::json!({"logs": format!("logs of {id}\n")}).to_string())
            }
            ("POST", [id, stop]) if stop == "stop" && job(id).is_some() => (200, r#"{"stopped": true}"#.into()),
            _ => (404, "no such route".into()),
        }
    }
}

/// Serves one connection: HTTP/1.1 requests one after another (keep-alive).
async fn serve(stream: TcpStream, head: Arc<Head>) -> std::io::Result<()> {
    let mut stream = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if stream.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut words = line.split_whitespace();
        let (method, path) = (words.next().unwrap_or("").to_owned(), words.next().unwrap_or("").to_owned());
        let mut length = 0;
        loop {
            let mut header = String::new();
            stream.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        stream.read_exact(&mut body).await?;
        let now = head.in_flight.fetch_add(1, SeqCst) + 1;
        head.most_in_flight.fetch_max(now, SeqCst);
        let delay = head.delay_ms.load(SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        let (status, body) = head.answer(&method, &path);
        head.in_flight.fetch_sub(1, SeqCst);
        head.bytes_out.fetch_add(body.len(), SeqCst);
        let reply = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.get_mut().write_all(reply.as_bytes()).await?;
    }
}

/// Starts a fake head; returns it and its address.
async fn fake_head() -> (Arc<Head>, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let head = Arc::new(Head::default());
    let served = head.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve(stream, served.clone()));
        }
    });
    (head, address)
}

/// Issue 21.5: two handles on one job made the second fail at once as
/// UNKNOWN while the job was RUNNING: the list-mode check removed each job
/// from its map as it answered, so the repeated id found nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_on_one_running_job_both_wait_for_it() {
    let (head, address) = fake_head().await;
    head.set("j1", "RUNNING");
    for by in [CheckBy::List, CheckBy::EachJob, CheckBy::Auto] {
        let jobs = Batch::new(RayJobs::new(&address).check_by(by).check_every(Duration::from_millis(10)));
        let started = Instant::now();
        let waited = watchdog(
            async_wait(vec![jobs.handle("j1".to_string()), jobs.handle("j1".to_string())])
                .first_completed()
                .timeout(Duration::from_millis(300)),
        )
        .await;
        let err = waited.expect_err("a running job is not done, under either handle");
        assert!(err.is_timeout(), "{by:?}: {err}");
        assert!(started.elapsed() >= Duration::from_millis(300));
        // Two calls sharing the group, one handle each.
        let (a, b) = watchdog(async {
            tokio::join!(
                async_try_gather(vec![jobs.handle("j1".to_string())]).timeout(Duration::from_millis(200)),
                async_try_gather(vec![jobs.handle("j1".to_string())]).timeout(Duration::from_millis(200)),
            )
        })
        .await;
        assert!(a.unwrap_err().is_timeout() && b.unwrap_err().is_timeout(), "{by:?}");
    }
    // Once it succeeds, every handle on it gets its record. (A job of its
    // own: a request of the groups above may still land after `clear`.)
    head.set("j2", "RUNNING");
    let jobs = Batch::new(RayJobs::new(&address).check_by(CheckBy::EachJob).check_every(Duration::from_millis(10)));
    let handles: Vec<_> = (0..3).map(|_| jobs.handle("j2".to_string())).collect();
    let head2 = head.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        head2.set("j2", "SUCCEEDED");
    });
    head.clear();
    let done = watchdog(async_try_gather(handles)).await.unwrap();
    assert!(done.iter().all(|j| j.status == "SUCCEEDED"));
    // Asked about once per check, not once per handle.
    let requests: Vec<_> = head.requests().into_iter().filter(|r| r.contains("j2")).collect();
    assert!(requests.iter().all(|r| r == "GET /api/jobs/j2"), "{requests:?}");
    assert!(
        jobs.round_trips() as usize >= requests.len(),
        "{} requests, {} checks",
        requests.len(),
        jobs.round_trips()
    );
}

/// Issue 21.6: ids went into URL paths unencoded (`a#b` asked about
/// `/api/jobs/a`, `%2e%2e` about `/api/`, `a/b` about `/api/jobs/a/b`).
/// Each id is now one percent-encoded segment, in every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_ids_are_one_encoded_path_segment_in_every_request() {
    let (head, address) = fake_head().await;
    let ids = ["a#b", "%2e%2e", "a/b", "x y?z=1&w", "dé\\jà"];
    let encoded = ["a%23b", "%252e%252e", "a%2Fb", "x%20y%3Fz%3D1%26w", "d%C3%A9%5Cj%C3%A0"];
    for id in ids {
        head.set(id, "SUCCEEDED");
    }
    let ray = RayJobs::new(&address);
    for (id, enc) in ids.iter().zip(encoded) {
        head.clear();
        assert_eq!(watchdog(ray.info(id)).await.unwrap().submission_id.as_deref(), Some(*id));
        assert_eq!(watchdog(ray.logs(id)).await.unwrap(), format!("logs of {id}\n"));
        assert!(watchdog(ray.stop(id)).await.unwrap());
        let checked = watchdog(ray.clone().check_by(CheckBy::EachJob).check(vec![id.to_string()])).await.unwrap();
        assert_eq!(checked.len(), 1);
        assert_eq!(checked[0].1.as_ref().unwrap().submission_id.as_deref(), Some(*id));
        assert_eq!(
            head.requests(),
            [
                format!("GET /api/jobs/{enc}"),
                format!("GET /api/jobs/{enc}/logs"),
                format!("POST /api/jobs/{enc}/stop"),
                format!("GET /api/jobs/{enc}"),
            ]
        );
    }
    // An error names the request as sent.
    let err = watchdog(ray.info("no/such")).await.unwrap_err().to_string();
    assert!(err.contains("GET /api/jobs/no%2Fsuch failed: HTTP 404"), "{err}");
    // Ids that cannot be one segment are refused before any request, and a
    // handle on one fails as INVALID.
    head.clear();
    for id in ["", ".", ".."] {
        let err = watchdog(ray.info(id)).await.unwrap_err().to_string();
        assert!(err.ends_with(r#"failed: a submission id cannot be empty, "." or "..""#), "{err}");
        assert!(watchdog(ray.logs(id)).await.is_err() && watchdog(ray.stop(id)).await.is_err());
    }
    let jobs = Batch::new(RayJobs::new(&address).check_by(CheckBy::EachJob).check_every(Duration::from_millis(10)));
    let out = watchdog(concurry::async_gather(vec![jobs.handle("..".to_string())])).await.unwrap();
    assert!(out[0].as_ref().unwrap_err().to_string().contains("INVALID"), "{:?}", out[0]);
    assert_eq!(head.requests(), Vec::<String>::new());
}

/// A head with `finished` finished jobs and `running` running ones; the
/// running ones' ids.
async fn busy_head(finished: usize, running: usize) -> (Arc<Head>, String, Vec<String>) {
    let (head, address) = fake_head().await;
    for i in 0..finished {
        head.set(&format!("done-{i:05}"), "SUCCEEDED");
    }
    let ids: Vec<String> = (0..running).map(|i| format!("run-{i:04}")).collect();
    for id in &ids {
        head.set(id, "RUNNING");
    }
    (head, address, ids)
}

/// Issue 21.12: a check listed every job the head ever ran, whatever was
/// pending. By default a check now asks job by job while that costs less
/// than the last list, and lists when many jobs are pending; an explicit
/// `CheckBy` wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_asks_job_by_job_for_a_few_pending_jobs_and_lists_for_many() {
    let (head, address, ids) = busy_head(10_000, 1_000).await;
    let ray = RayJobs::new(&address);
    assert_eq!(ray.checks_by(), CheckBy::Auto);
    let lists = |requests: &[String]| requests.iter().filter(|r| *r == "GET /api/jobs/").count();

    // Before any list: a few jobs are asked about one by one.
    head.clear();
    watchdog(ray.check(ids[..3].to_vec())).await.unwrap();
    let mut asked = head.requests();
    asked.sort();
    assert_eq!(asked, ["GET /api/jobs/run-0000", "GET /api/jobs/run-0001", "GET /api/jobs/run-0002"]);
    // Many are listed, and the list's size is learnt.
    head.clear();
    watchdog(ray.check(ids.clone())).await.unwrap();
    assert_eq!(head.requests(), ["GET /api/jobs/"]);
    let list = ray.last_list_bytes().unwrap();
    assert!(list > 5_000_000, "{list} bytes");
    // Then 3 pending jobs cost 3 small requests, not the 5 MB list ...
    head.clear();
    watchdog(ray.check(ids[..3].to_vec())).await.unwrap();
    assert_eq!((head.requests().len(), lists(&head.requests())), (3, 0));
    assert!(head.bytes_out.load(SeqCst) < 3_000);
    // ... up to the break-even point, past which the list is cheaper.
    let most = (list / concurry::ray::EACH_JOB_WORTH) as usize;
    head.clear();
    head.delay_ms.store(2, SeqCst);
    watchdog(ray.check(ids[..most].to_vec())).await.unwrap();
    head.delay_ms.store(0, SeqCst);
    assert_eq!((head.requests().len(), lists(&head.requests())), (most, 0));
    let at_once = head.most_in_flight.load(SeqCst);
    assert!((2..=EACH_JOB_CONCURRENCY).contains(&at_once), "{at_once} requests at once");
    head.clear();
    watchdog(ray.check(ids[..most + 1].to_vec())).await.unwrap();
    assert_eq!(head.requests(), ["GET /api/jobs/"]);

    // An explicit choice wins.
    head.clear();
    watchdog(ray.clone().check_by(CheckBy::List).check(ids[..3].to_vec())).await.unwrap();
    assert_eq!(head.requests(), ["GET /api/jobs/"]);
    head.clear();
    watchdog(ray.clone().check_by(CheckBy::EachJob).check(ids.clone())).await.unwrap();
    assert_eq!((head.requests().len(), lists(&head.requests())), (1_000, 0));

    // Through a group: a wait on 3 jobs of the busy head never lists.
    let jobs = Batch::new(ray.clone().check_every(Duration::from_millis(10)));
    head.clear();
    let err = watchdog(
        async_try_gather(ids[..3].iter().map(|id| jobs.handle(id.clone())).collect::<Vec<_>>())
            .timeout(Duration::from_millis(200)),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout());
    assert!(jobs.round_trips() >= 2 && lists(&head.requests()) == 0, "{:?}", head.requests());
}

/// The figures of issue 21.12: bytes and time per check against a head
/// holding 10,000 finished jobs, at 3 and at 1,000 pending, each way.
/// `cargo test --release --features ray --test ray_fake -- --ignored --nocapture`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; run by hand"]
async fn figures_bytes_and_time_per_check() {
    let (head, address, ids) = busy_head(10_000, 1_000).await;
    let learn = RayJobs::new(&address);
    learn.list().await.unwrap();
    println!("a head with 10,000 finished jobs; list: {} bytes", learn.last_list_bytes().unwrap());
    println!("{:>8} {:>8} {:>9} {:>12} {:>10}", "pending", "by", "requests", "bytes", "ms/check");
    for pending in [3, 1_000] {
        for by in [CheckBy::List, CheckBy::EachJob, CheckBy::Auto] {
            let ray = learn.clone().check_by(by);
            let rounds = if pending == 3 { 20 } else { 5 };
            watchdog(ray.check(ids[..pending].to_vec())).await.unwrap(); // connections warm
            head.clear();
            let started = Instant::now();
            for _ in 0..rounds {
                watchdog(ray.check(ids[..pending].to_vec())).await.unwrap();
            }
            let per = started.elapsed().as_secs_f64() * 1e3 / rounds as f64;
            let requests = head.requests().len() / rounds;
            let bytes = head.bytes_out.load(SeqCst) / rounds;
            println!("{pending:>8} {:>8} {requests:>9} {bytes:>12} {per:>10.2}", format!("{by:?}"));
        }
    }
}

/// A failed request kept its cause out of the error chain (`source()` was
/// always `None`): "connection refused" never reached the user.
#[tokio::test]
async fn a_failed_request_keeps_its_cause_in_the_chain() {
    let err = RayJobs::new("http://127.0.0.1:9").info("j1").await.unwrap_err();
    let chain: Vec<String> =
        std::iter::successors(std::error::Error::source(&err), |e| e.source()).map(ToString::to_string).collect();
    assert!(!chain.is_empty(), "{err}: no source");
    let all = format!("{err}: {}", chain.join(": "));
    assert!(all.to_lowercase().contains("connect"), "{all}");
}

/// Issue 22.5: stopping the jobs a timeout left running, as the README
/// shows: `.keep_partial()`, then each pending handle's `id()` is the job
/// to stop. The timeout names the pending jobs by the names given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobs_a_timeout_left_running_are_stopped_by_their_ids() {
    use concurry::Partial;
    let (head, address) = fake_head().await;
    let ids = ["fold-0", "fold-1", "fold-2"].map(String::from);
    head.set(&ids[0], "SUCCEEDED");
    head.set(&ids[1], "RUNNING");
    head.set(&ids[2], "RUNNING");
    let ray = RayJobs::new(&address).check_every(Duration::from_millis(10));
    let jobs = Batch::new(ray.clone());
    let handles: Vec<_> = ids.iter().map(|id| jobs.handle(id.clone())).collect();
    let got = async_try_gather(handles).names(ids.clone()).timeout(Duration::from_millis(200)).keep_partial();
    let Partial::Interrupted { error, partial } = watchdog(got.into_future()).await.unwrap() else {
        panic!("two jobs never finish")
    };
    assert_eq!(error.to_string(), "timed out after 200ms: 1 of 3 completed; still pending: fold-1, fold-2");
    head.clear();
    for (_, job) in partial.pending.into_children() {
        let id = job.id().expect("a pending handle has its job's id");
        assert!(watchdog(ray.stop(&id)).await.unwrap());
    }
    assert_eq!(head.requests(), ["POST /api/jobs/fold-1/stop", "POST /api/jobs/fold-2/stop"]);
}
