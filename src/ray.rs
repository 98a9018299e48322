//! Ray jobs as handles to wait on, through the head node's Jobs REST API
//! (feature `ray`).
//!
//! [`RayJobs`] is a client of one head node (default
//! `http://127.0.0.1:8265`, or `RAY_ADDRESS`): submit a job, read its
//! status, its logs, stop it. As a [`BatchProbe`], it answers for every
//! pending job of a [`Batch`] in one round trip per check. A job that
//! `SUCCEEDED` gives its [`JobInfo`] (its logs are one [`RayJobs::logs`]
//! away); `FAILED` and `STOPPED` are failures carrying Ray's message
//! ([`JobFailed`]); a job the head does not have is `UNKNOWN`. Keys,
//! timeouts (the pending jobs come back, to wait on again or to
//! [`stop`](RayJobs::stop)), iterator mode and progress work over jobs as
//! over futures.
//!
//! **What a check costs follows the pending jobs.** `GET /api/jobs/` lists
//! every job the head ever ran (about 500 bytes each), so on a busy head a
//! wait on a few jobs asks for each of them instead (`GET /api/jobs/{id}`,
//! at most [`EACH_JOB_CONCURRENCY`] at once). By default
//! ([`CheckBy::Auto`]) a check asks job by job when one request per pending
//! job costs less than the last list did ([`EACH_JOB_WORTH`] bytes of list
//! per request), and lists when many jobs are pending; [`CheckBy::List`]
//! and [`CheckBy::EachJob`] force one way.
//!
//! **Ids.** Any number of handles may wait on the same id; a check asks
//! about each id once. An id goes into a URL path as one percent-encoded
//! segment (`a/b` is `/api/jobs/a%2Fb`), so it never names another path.
//! An empty id, `.` or `..` cannot be one segment: the client's methods
//! refuse it with a [`RayError`], and a handle on it fails as `INVALID`.
//!
//! Start a local head with `ray start --head --num-cpus=2
//! --dashboard-host=127.0.0.1 --disable-usage-stats`; see the README's
//! "Waiting on Ray jobs".
//!
//! # Examples
//!
//! ```no_run
//! use concurry::probe::Batch;
//! use concurry::ray::{JobSubmission, RayJobs};
//!
//! # #[tokio::main]
//! # async fn main() -> anyhow::Result<()> {
//! let ray = RayJobs::from_env();
//! let mut ids = Vec::new();
//! for i in 0..3 {
//!     ids.push(ray.submit(JobSubmission::new(format!("python -c 'print({i} * {i})'"))).await?);
//! }
//! let jobs = Batch::new(ray.clone());
//! let done = concurry::async_try_gather(ids.iter().map(|id| jobs.handle(id.clone())).collect::<Vec<_>>()).await?;
//! for (id, job) in ids.iter().zip(&done) {
//!     println!("{id}: {} {}", job.status, ray.logs(id).await?.trim());
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use crate::batch::{Answer, BatchProbe};
#[cfg(doc)]
use crate::probe::Batch;

/// A job to submit: its shell entrypoint, and optionally its submission id,
/// runtime environment and metadata.
///
/// # Examples
///
/// ```
/// let job = concurry::ray::JobSubmission::new("python -c 'print(1)'").submission_id("nightly-1").metadata("team", "data");
/// assert_eq!(job.entrypoint, "python -c 'print(1)'");
/// ```
#[derive(Debug, Clone, Default, Serialize)]
pub struct JobSubmission {
    /// The shell command the job runs.
    pub entrypoint: String,
    /// The id to give the job (Ray makes one when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submission_id: Option<String>,
    /// Ray's runtime environment, as JSON (`{"pip": [..]}`, `{"env_vars": {..}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_env: Option<serde_json::Value>,
    /// Labels of the job.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub metadata: HashMap<String, String>,
}

impl JobSubmission {
    /// A job running `entrypoint`.
    ///
    /// # Examples
    ///
    /// See [`JobSubmission`].
    pub fn new(entrypoint: impl Into<String>) -> Self {
        Self { entrypoint: entrypoint.into(), ..Self::default() }
    }

    /// Names the job.
    ///
    /// # Examples
    ///
    /// See [`JobSubmission`].
    pub fn submission_id(mut self, id: impl Into<String>) -> Self {
        self.submission_id = Some(id.into());
        self
    }

    /// Sets its runtime environment.
    ///
    /// # Examples
    ///
    /// ```
    /// let job = concurry::ray::JobSubmission::new("env").runtime_env(serde_json::json!({"env_vars": {"A": "1"}}));
    /// assert!(job.runtime_env.is_some());
    /// ```
    pub fn runtime_env(mut self, env: serde_json::Value) -> Self {
        self.runtime_env = Some(env);
        self
    }

    /// Adds a label.
    ///
    /// # Examples
    ///
    /// See [`JobSubmission`].
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// A job as Ray reports it (the fields this crate reads; Ray sends more).
///
/// # Examples
///
/// ```
/// let info: concurry::ray::JobInfo = serde_json::from_str(r#"{"submission_id": "a", "status": "SUCCEEDED", "entrypoint": "true"}"#).unwrap();
/// assert!(info.is_finished());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct JobInfo {
    /// The submission id (how this crate names jobs).
    pub submission_id: Option<String>,
    /// Ray's own job id, once the driver started.
    #[serde(default)]
    pub job_id: Option<String>,
    /// `PENDING`, `RUNNING`, `STOPPED`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    /// The command.
    #[serde(default)]
    pub entrypoint: String,
    /// Ray's message about the status.
    #[serde(default)]
    pub message: Option<String>,
    /// Start and end times, in ms since the epoch.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// See `start_time`.
    #[serde(default)]
    pub end_time: Option<u64>,
    /// The driver's exit code, once it exited.
    #[serde(default)]
    pub driver_exit_code: Option<i32>,
    /// Labels given at submission.
    #[serde(default)]
    pub metadata: Option<HashMap<String, String>>,
}

impl JobInfo {
    /// Has the job ended (succeeded, failed or stopped)?
    ///
    /// # Examples
    ///
    /// See [`JobInfo`].
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "SUCCEEDED" | "FAILED" | "STOPPED")
    }
}

/// A job that ended `FAILED` or `STOPPED`, that Ray does not know
/// (`UNKNOWN`), or whose id cannot be asked about (`INVALID`).
///
/// # Examples
///
/// ```
/// let failed = concurry::ray::JobFailed { id: "j1".into(), status: "FAILED".into(), message: "exit 1".into() };
/// assert_eq!(failed.to_string(), "Ray job j1 FAILED: exit 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Ray job {id} {status}: {message}")]
pub struct JobFailed {
    /// The job's submission id.
    pub id: String,
    /// `FAILED`, `STOPPED`, `UNKNOWN` for a job the head does not have, or
    /// `INVALID` for an id that cannot be put in a URL path (empty, `.` or
    /// `..`).
    pub status: String,
    /// Ray's message.
    pub message: String,
}

/// A request to the head node that failed: which address, what was asked,
/// and why.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let ray = concurry::ray::RayJobs::new("http://127.0.0.1:9");
/// let err = ray.list().await.unwrap_err();
/// assert!(err.to_string().starts_with("Ray head at http://127.0.0.1:9: GET /api/jobs/ failed"), "{err}");
/// # }
/// ```
#[derive(Debug)]
pub struct RayError {
    address: String,
    what: String,
    cause: Cause,
}

#[derive(Debug, thiserror::Error)]
enum Cause {
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("{0}")]
    InvalidId(&'static str),
    #[error("a bad answer: {0}")]
    Json(serde_json::Error),
}

/// Reads `Ray head at <address>: <request> failed: <cause>`; its
/// [`source()`](std::error::Error::source) is the cause's own (the
/// connection error under an HTTP failure, say), so a chain of messages
/// goes on where this one stops.
impl fmt::Display for RayError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ray head at {}: {} failed: {}", self.address, self.what, self.cause)
    }
}

impl std::error::Error for RayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Http(e) => e.source(),
            Cause::Json(e) => e.source(),
            Cause::Status { .. } | Cause::InvalidId(_) => None,
        }
    }
}

/// Why an id cannot be one path segment: the URL standard reads `.` and
/// `..` (encoded or not) as "here" and "up", and an empty id names the list.
const INVALID_ID: &str = "a submission id cannot be empty, \".\" or \"..\"";

/// What stays as it is in a path segment: RFC 3986's unreserved characters.
/// Everything else (`/`, `%`, `#`, `?`, `\\`, spaces, non-ASCII) is
/// percent-encoded, so an id is always exactly one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// `id` as one path segment, or why it cannot be one.
fn segment(id: &str) -> Result<String, &'static str> {
    match id {
        "" | "." | ".." => Err(INVALID_ID),
        _ => Ok(utf8_percent_encode(id, SEGMENT).to_string()),
    }
}

/// At most this many `GET /api/jobs/{id}` requests of one check are in
/// flight at once: enough to hide a request's latency, few enough not to
/// flood the head's dashboard server with connections.
///
/// # Examples
///
/// ```
/// assert_eq!(concurry::ray::EACH_JOB_CONCURRENCY, 16);
/// ```
pub const EACH_JOB_CONCURRENCY: usize = 16;

/// With [`CheckBy::Auto`], one `GET /api/jobs/{id}` request is taken to cost
/// as much as this many bytes of the job list (about 32 jobs' records): a
/// check asks job by job while `pending jobs x EACH_JOB_WORTH` is at most
/// the last list's size.
///
/// # Examples
///
/// ```
/// // After a 5 MB list, up to 305 pending jobs are asked about one by one.
/// assert_eq!(5_000_000 / concurry::ray::EACH_JOB_WORTH, 305);
/// ```
pub const EACH_JOB_WORTH: u64 = 16 * 1024;

/// With [`CheckBy::Auto`] and no list read yet, a check of at most this many
/// pending jobs asks job by job; more, and it lists (and learns the list's
/// size).
///
/// # Examples
///
/// ```
/// assert_eq!(concurry::ray::EACH_JOB_BEFORE_ANY_LIST, 4);
/// ```
pub const EACH_JOB_BEFORE_ANY_LIST: usize = 4;

/// How a check asks about the pending jobs: see [`RayJobs::check_by`].
///
/// # Examples
///
/// ```
/// use concurry::ray::{CheckBy, RayJobs};
/// assert_eq!(RayJobs::new("http://127.0.0.1:8265").checks_by(), CheckBy::Auto);
/// let ray = RayJobs::new("http://127.0.0.1:8265").check_by(CheckBy::EachJob);
/// assert_eq!(ray.checks_by(), CheckBy::EachJob);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CheckBy {
    /// Each check chooses by cost (the default): job by job while one
    /// request per pending job costs less than the last list did
    /// ([`EACH_JOB_WORTH`] bytes of list per request; before any list, for
    /// at most [`EACH_JOB_BEFORE_ANY_LIST`] jobs), else the list.
    #[default]
    Auto,
    /// One `GET /api/jobs/` lists every job the head has: one request
    /// whatever the number of pending jobs, but as big as the head's history.
    List,
    /// One `GET /api/jobs/{id}` per pending job (at most
    /// [`EACH_JOB_CONCURRENCY`] at once): cheaper when the head holds many
    /// more jobs than the call waits on.
    EachJob,
}

/// A client of one Ray head node's Jobs API, and a [`BatchProbe`] over its
/// jobs (by submission id).
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug, Clone)]
pub struct RayJobs {
    client: reqwest::Client,
    address: String,
    check_by: CheckBy,
    min_interval: Duration,
    /// The size in bytes of the last job list read (0: none yet), shared by
    /// the clones (they ask the same head).
    last_list_bytes: Arc<AtomicU64>,
}

impl RayJobs {
    /// A client of the head at `address` (such as `http://127.0.0.1:8265`).
    ///
    /// # Examples
    ///
    /// ```
    /// let ray = concurry::ray::RayJobs::new("http://127.0.0.1:8265/");
    /// assert_eq!(ray.address(), "http://127.0.0.1:8265");
    /// ```
    pub fn new(address: impl Into<String>) -> Self {
        let address = address.into().trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        Self {
            client,
            address,
            check_by: CheckBy::default(),
            min_interval: Duration::from_millis(250),
            last_list_bytes: Arc::new(AtomicU64::new(0)),
        }
    }

    /// The head at `RAY_ADDRESS` (an `http://` address), else
    /// `http://127.0.0.1:8265`.
    ///
    /// # Examples
    ///
    /// ```
    /// let ray = concurry::ray::RayJobs::from_env();
    /// assert!(ray.address().starts_with("http"));
    /// ```
    pub fn from_env() -> Self {
        match std::env::var("RAY_ADDRESS") {
            Ok(a) if a.starts_with("http://") || a.starts_with("https://") => Self::new(a),
            _ => Self::new("http://127.0.0.1:8265"),
        }
    }

    /// The head's address.
    ///
    /// # Examples
    ///
    /// See [`new`](Self::new).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// How checks ask about pending jobs (default [`CheckBy::Auto`]).
    ///
    /// # Examples
    ///
    /// See [`CheckBy`].
    pub fn check_by(mut self, by: CheckBy) -> Self {
        self.check_by = by;
        self
    }

    /// How checks ask.
    ///
    /// # Examples
    ///
    /// See [`CheckBy`].
    pub fn checks_by(&self) -> CheckBy {
        self.check_by
    }

    /// The shortest time between two checks (250 ms by default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let ray = concurry::ray::RayJobs::new("http://h:8265").check_every(Duration::from_secs(1));
    /// assert_eq!(concurry::probe::BatchProbe::min_interval(&ray), Duration::from_secs(1));
    /// ```
    pub fn check_every(mut self, every: Duration) -> Self {
        self.min_interval = every;
        self
    }

    /// The size in bytes of the last job list read by this client or its
    /// clones, if any: what [`CheckBy::Auto`] weighs a check against.
    ///
    /// # Examples
    ///
    /// ```
    /// let ray = concurry::ray::RayJobs::new("http://127.0.0.1:8265");
    /// assert_eq!(ray.last_list_bytes(), None);
    /// ```
    pub fn last_list_bytes(&self) -> Option<u64> {
        Some(self.last_list_bytes.load(Ordering::Relaxed)).filter(|&n| n > 0)
    }

    /// The URL and the description of the request `method` on job `id`'s
    /// path (`rest` after it), the id encoded as one segment.
    fn job_url(&self, method: &str, id: &str, rest: &str) -> Result<(String, String), RayError> {
        match segment(id) {
            Ok(seg) => {
                Ok((format!("{}/api/jobs/{seg}{rest}", self.address), format!("{method} /api/jobs/{seg}{rest}")))
            }
            Err(why) => Err(self.error(format!("{method} job {id:?}"), Cause::InvalidId(why))),
        }
    }

    fn error(&self, what: impl Into<String>, cause: impl Into<Cause>) -> RayError {
        RayError { address: self.address.clone(), what: what.into(), cause: cause.into() }
    }

    async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Result<reqwest::Response, RayError> {
        let response = request.send().await.map_err(|e| self.error(what, e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body = response.text().await.unwrap_or_default();
        Err(self.error(what, Cause::Status { status: status.as_u16(), body: body.trim().to_owned() }))
    }

    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<T, RayError> {
        self.send(what, request).await?.json().await.map_err(|e| self.error(what, e))
    }

    /// Submits a job; returns its submission id.
    ///
    /// # Errors
    ///
    /// [`RayError`] when the head cannot be reached or refuses the job.
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub async fn submit(&self, job: JobSubmission) -> Result<String, RayError> {
        #[derive(Deserialize)]
        struct Submitted {
            submission_id: String,
        }
        let what = "POST /api/jobs/";
        let url = format!("{}/api/jobs/", self.address);
        let submitted: Submitted = self.json(what, self.client.post(url).json(&job)).await?;
        Ok(submitted.submission_id)
    }

    /// One job's record.
    ///
    /// # Errors
    ///
    /// [`RayError`], with HTTP 404 for a job the head does not have.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), concurry::ray::RayError> {
    /// let info = concurry::ray::RayJobs::from_env().info("nightly-1").await?;
    /// println!("{}", info.status);
    /// # Ok(()) }
    /// ```
    ///
    /// An id is sent as one percent-encoded path segment; an empty id, `.`
    /// or `..` is refused before any request:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = concurry::ray::RayJobs::new("http://127.0.0.1:9").info("..").await.unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"Ray head at http://127.0.0.1:9: GET job ".." failed: a submission id cannot be empty, "." or "..""#
    /// );
    /// # }
    /// ```
    pub async fn info(&self, id: &str) -> Result<JobInfo, RayError> {
        let (url, what) = self.job_url("GET", id, "")?;
        self.json(&what, self.client.get(url)).await
    }

    /// Every job the head has.
    ///
    /// # Errors
    ///
    /// [`RayError`].
    ///
    /// # Examples
    ///
    /// See [`RayError`].
    pub async fn list(&self) -> Result<Vec<JobInfo>, RayError> {
        let what = "GET /api/jobs/";
        let response = self.send(what, self.client.get(format!("{}/api/jobs/", self.address))).await?;
        let body = response.bytes().await.map_err(|e| self.error(what, e))?;
        self.last_list_bytes.store(body.len().max(1) as u64, Ordering::Relaxed);
        serde_json::from_slice(&body).map_err(|e| self.error(what, Cause::Json(e)))
    }

    /// A job's logs so far.
    ///
    /// # Errors
    ///
    /// [`RayError`].
    ///
    /// # Examples
    ///
    /// See the [module docs](self).
    pub async fn logs(&self, id: &str) -> Result<String, RayError> {
        #[derive(Deserialize)]
        struct Logs {
            logs: String,
        }
        let (url, what) = self.job_url("GET", id, "/logs")?;
        let logs: Logs = self.json(&what, self.client.get(url)).await?;
        Ok(logs.logs)
    }

    /// Stops a job; `true` if it was running.
    ///
    /// # Errors
    ///
    /// [`RayError`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() -> Result<(), concurry::ray::RayError> {
    /// concurry::ray::RayJobs::from_env().stop("nightly-1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn stop(&self, id: &str) -> Result<bool, RayError> {
        #[derive(Deserialize)]
        struct Stopped {
            stopped: bool,
        }
        let (url, what) = self.job_url("POST", id, "/stop")?;
        let stopped: Stopped = self.json(&what, self.client.post(url)).await?;
        Ok(stopped.stopped)
    }

    /// The answer for one job: finished or not, succeeded or not.
    fn settle(id: &str, info: Option<JobInfo>) -> Option<Result<JobInfo, JobFailed>> {
        let Some(info) = info else {
            let message = "the head has no job with this submission id".to_owned();
            return Some(Err(JobFailed { id: id.to_owned(), status: "UNKNOWN".into(), message }));
        };
        match info.status.as_str() {
            "SUCCEEDED" => Some(Ok(info)),
            "FAILED" | "STOPPED" => {
                let message = info.message.clone().unwrap_or_default();
                Some(Err(JobFailed { id: id.to_owned(), status: info.status, message }))
            }
            _ => None,
        }
    }
}

impl BatchProbe for RayJobs {
    type Id = String;
    type Output = JobInfo;
    type Failure = JobFailed;
    type Error = RayError;

    fn name(&self) -> String {
        format!("Ray head at {}", self.address)
    }

    fn min_interval(&self) -> Duration {
        self.min_interval
    }

    async fn check(&self, ids: Vec<String>) -> Answer<Self> {
        // Each id once, however many handles wait on it; ids that cannot be
        // put in a path are answered at once.
        let mut asked: Vec<&str> = Vec::new();
        let mut slot_of: HashMap<&str, usize> = HashMap::new();
        for id in &ids {
            if segment(id).is_ok() {
                slot_of.entry(id.as_str()).or_insert_with(|| {
                    asked.push(id);
                    asked.len() - 1
                });
            }
        }
        let found: Vec<Option<JobInfo>> = match self.choose(asked.len()) {
            _ if asked.is_empty() => Vec::new(),
            CheckBy::EachJob => {
                let owned: Vec<String> = asked.iter().map(|id| (*id).to_owned()).collect();
                let asks = futures::stream::iter(owned).map(|id| async move {
                    match self.info(&id).await {
                        Ok(info) => Ok(Some(info)),
                        Err(RayError { cause: Cause::Status { status: 404, .. }, .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
                asks.buffered(EACH_JOB_CONCURRENCY).try_collect().await?
            }
            _ => {
                let mut by_id: HashMap<String, JobInfo> =
                    self.list().await?.into_iter().filter_map(|j| Some((j.submission_id.clone()?, j))).collect();
                asked.iter().map(|id| by_id.remove(*id)).collect()
            }
        };
        Ok(ids
            .iter()
            .enumerate()
            .filter_map(|(pos, id)| {
                let settled = match slot_of.get(id.as_str()) {
                    Some(&slot) => Self::settle(id, found[slot].clone())?,
                    None => Err(JobFailed { id: id.clone(), status: "INVALID".into(), message: INVALID_ID.into() }),
                };
                Some((pos, settled))
            })
            .collect())
    }
}

impl RayJobs {
    /// How a check of `pending` distinct jobs asks, by [`CheckBy`].
    fn choose(&self, pending: usize) -> CheckBy {
        match self.check_by {
            CheckBy::Auto => {
                let each_job = match self.last_list_bytes() {
                    None => pending <= EACH_JOB_BEFORE_ANY_LIST,
                    Some(list) => (pending as u64).saturating_mul(EACH_JOB_WORTH) <= list,
                };
                if each_job { CheckBy::EachJob } else { CheckBy::List }
            }
            chosen => chosen,
        }
    }
}

impl fmt::Display for CheckBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "the list or one call per job, by cost",
            Self::List => "one list call",
            Self::EachJob => "one call per job",
        })
    }
}
