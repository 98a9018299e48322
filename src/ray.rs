//! Ray jobs as handles to wait on, through the head node's Jobs REST API
//! (feature `ray`).
//!
//! [`RayJobs`] is a client of one head node (default
//! `http://127.0.0.1:8265`, or `RAY_ADDRESS`): submit a job, read its
//! status, its logs, stop it. As a [`BatchProbe`], it answers for every
//! pending job of a [`Batch`] in one round trip per check: one
//! `GET /api/jobs/` for all of them, or one `GET /api/jobs/{id}` per job
//! ([`CheckBy`]). A job that `SUCCEEDED` gives its [`JobInfo`] (its logs are
//! one [`RayJobs::logs`] away); `FAILED` and `STOPPED` are failures carrying
//! Ray's message ([`JobFailed`]). Keys, timeouts (the pending jobs come back,
//! to wait on again or to [`stop`](RayJobs::stop)), iterator mode and
//! progress work over jobs as over futures.
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
use std::time::Duration;

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

/// A job that ended `FAILED` or `STOPPED`, or that Ray does not know.
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
    /// `FAILED`, `STOPPED`, or `UNKNOWN` for a job the head does not have.
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
#[derive(Debug, thiserror::Error)]
#[error("Ray head at {address}: {what} failed: {cause}")]
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
}

/// How a check asks about the pending jobs: see [`RayJobs::check_by`].
///
/// # Examples
///
/// ```
/// let ray = concurry::ray::RayJobs::new("http://127.0.0.1:8265").check_by(concurry::ray::CheckBy::EachJob);
/// assert_eq!(ray.checks_by(), concurry::ray::CheckBy::EachJob);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckBy {
    /// One `GET /api/jobs/` lists every job the head has: one request
    /// whatever the number of pending jobs (the default).
    #[default]
    List,
    /// One `GET /api/jobs/{id}` per pending job, concurrently: cheaper when
    /// the head holds many more jobs than the call waits on.
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
        Self { client, address, check_by: CheckBy::default(), min_interval: Duration::from_millis(250) }
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

    /// How checks ask about pending jobs (default [`CheckBy::List`]).
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
    pub async fn info(&self, id: &str) -> Result<JobInfo, RayError> {
        let what = format!("GET /api/jobs/{id}");
        self.json(&what, self.client.get(format!("{}/api/jobs/{id}", self.address))).await
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
        self.json("GET /api/jobs/", self.client.get(format!("{}/api/jobs/", self.address))).await
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
        let what = format!("GET /api/jobs/{id}/logs");
        let logs: Logs = self.json(&what, self.client.get(format!("{}/api/jobs/{id}/logs", self.address))).await?;
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
        let what = format!("POST /api/jobs/{id}/stop");
        let stopped: Stopped =
            self.json(&what, self.client.post(format!("{}/api/jobs/{id}/stop", self.address))).await?;
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
        let found: Vec<Option<JobInfo>> = match self.check_by {
            CheckBy::List => {
                let mut by_id: HashMap<String, JobInfo> =
                    self.list().await?.into_iter().filter_map(|j| Some((j.submission_id.clone()?, j))).collect();
                ids.iter().map(|id| by_id.remove(id)).collect()
            }
            CheckBy::EachJob => {
                let asks = ids.iter().map(|id| async move {
                    match self.info(id).await {
                        Ok(info) => Ok(Some(info)),
                        Err(RayError { cause: Cause::Status { status: 404, .. }, .. }) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
                futures::future::try_join_all(asks).await?
            }
        };
        Ok(ids
            .iter()
            .zip(found)
            .enumerate()
            .filter_map(|(pos, (id, info))| Some((pos, Self::settle(id, info)?)))
            .collect())
    }
}

impl fmt::Display for CheckBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::List => "one list call",
            Self::EachJob => "one call per job",
        })
    }
}
