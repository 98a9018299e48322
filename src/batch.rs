//! Many handles, one question: an outside system asked "which of these are
//! done?" in one round trip, as `ray.wait` does.
//!
//! The round trip is a future ([`BatchProbe::check`]), run as a Tokio task
//! of its own: never inside a lock, never blocking a runtime thread. At most
//! one round trip per group ([`Batch`]) is in flight; every pending handle
//! of the group, in every call and on every thread, is answered by it. A
//! call's deadline is the engine's own timer, so it fires on time even
//! while a round trip hangs.
//!
//! **Pacing.** Handles are checked at the engine's checks, no more often
//! than the backend's [`min_interval`](BatchProbe::min_interval) (100 ms by
//! default: a remote service is not asked every 100 µs); a call's own
//! `.polling(..)` wins over it.
//!
//! **Round trips end.** A round trip has a deadline: the backend's
//! [`round_trip_timeout`](BatchProbe::round_trip_timeout) (ten times its
//! `min_interval`, at least 5 s, by default), or the group's own
//! ([`Batch::set_round_trip_timeout`]). A round trip past it is dropped and
//! counts as a failed round trip. A round trip that no handle waits for any
//! more (every handle it asked about was dropped or answered) is aborted at
//! once, so the next check starts a fresh one.
//!
//! **Failures.** A failed round trip (an error, a panic, or past its
//! deadline) is retried at the next check. After
//! [`max_failures`](Batch::max_failures) failures in a row (5 by default),
//! every handle the last one asked about completes with
//! [`BatchError::Backend`], whose message names the backend, the handle's
//! id and the first few other ids asked about; the cause is its `source()`.
//! Nothing is lost: make a new handle from the id to wait again. As an
//! output, that error is a failure like any other: `try_gather` fails fast
//! on it (naming the key), `gather` keeps it in its slot, and
//! `ReturnWhen::FirstException` returns on it. A handle whose own job failed
//! completes with [`BatchError::Failed`].
//!
//! **Memory and cost follow the handles pending now.** The group keeps a
//! dense list of its waiting handles: a round trip visits only them, never
//! the room left by handles that finished or were dropped. Handles may share
//! an id; each is answered. When most of its room is free (after a burst of
//! handles), the group gives it back.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::FutureExt;
use tokio::task::AbortHandle;

use crate::error::{BoxError, ConfigError};

/// An outside system that answers "which of these are done?" in one round
/// trip, asynchronously, and may fail.
///
/// # Examples
///
/// ```
/// use concurry::probe::{Batch, BatchProbe};
///
/// /// Job `n` is done once `n` is below the service's watermark; job 3 failed.
/// struct Service { watermark: u32 }
/// impl BatchProbe for Service {
///     type Id = u32;
///     type Output = u32;
///     type Failure = String;
///     type Error = std::io::Error;
///     fn name(&self) -> String { "the job service".into() }
///     async fn check(&self, ids: Vec<u32>) -> Result<Vec<(usize, Result<u32, String>)>, std::io::Error> {
///         Ok(ids.iter().enumerate().filter(|(_, id)| **id < self.watermark)
///             .map(|(i, id)| (i, if *id == 3 { Err(format!("job {id} failed")) } else { Ok(id * 2) }))
///             .collect())
///     }
/// }
///
/// let batch = Batch::new(Service { watermark: 10 });
/// let handles: Vec<_> = (0..5).map(|id| batch.handle(id)).collect();
/// let out = concurry::gather(handles).run().unwrap();
/// assert_eq!(out[2].as_ref().unwrap(), &4);
/// assert_eq!(out[3].as_ref().unwrap_err().to_string(), "job 3 failed");
/// ```
pub trait BatchProbe: Send + Sync + 'static {
    /// How the system names a handle.
    type Id: Clone + fmt::Debug + Send + Sync + 'static;
    /// What a finished handle gives.
    type Output: Send + 'static;
    /// Why a handle's own job failed (a job that ended in error).
    type Failure: fmt::Display + fmt::Debug + Send + Sync + 'static;
    /// Why a round trip failed (the system is down, a bad answer).
    type Error: Into<BoxError> + Send + 'static;

    /// The backend's name, for errors: say which system, and where.
    fn name(&self) -> String;

    /// One round trip: of `ids`, which are finished? Each finished one's
    /// position in `ids`, with its output or its failure. Positions out of
    /// range are ignored. An id may appear more than once (several handles
    /// on one job): each position is a handle to answer. The round trip may
    /// be dropped before it answers (past its
    /// [`round_trip_timeout`](Self::round_trip_timeout), or once no handle
    /// waits for it).
    fn check(&self, ids: Vec<Self::Id>) -> impl Future<Output = Answer<Self>> + Send;

    /// The shortest time between two round trips (100 ms by default). A
    /// call's own `.polling(..)` wins over it.
    fn min_interval(&self) -> Duration {
        Duration::from_millis(100)
    }

    /// How long one round trip may take before it is dropped and counted
    /// as failed: by default ten times [`min_interval`](Self::min_interval),
    /// at least 5 s. [`Batch::set_round_trip_timeout`] wins over it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::probe::{Answer, BatchProbe};
    /// struct Slow;
    /// impl BatchProbe for Slow {
    ///     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    ///     fn name(&self) -> String { "slow".into() }
    ///     async fn check(&self, _: Vec<u32>) -> Answer<Self> { Ok(Vec::new()) }
    ///     fn min_interval(&self) -> Duration { Duration::from_secs(1) }
    /// }
    /// assert_eq!(Slow.round_trip_timeout(), Duration::from_secs(10));
    /// ```
    fn round_trip_timeout(&self) -> Duration {
        self.min_interval().saturating_mul(10).max(Duration::from_secs(5))
    }
}

/// What one round trip of a [`BatchProbe`] answers: each finished handle's
/// position among the ids asked about, with its output or its failure; or
/// the round trip's error.
///
/// # Examples
///
/// ```
/// # use concurry::probe::{Answer, BatchProbe};
/// # struct Jobs;
/// # impl BatchProbe for Jobs {
/// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
/// #     fn name(&self) -> String { "jobs".into() }
/// #     async fn check(&self, ids: Vec<u32>) -> Answer<Self> { Ok(Vec::new()) }
/// # }
/// // Of ids [7, 8, 9]: 7 finished with 70, 9 failed; 8 is still running.
/// let answer: Answer<Jobs> = Ok(vec![(0, Ok(70)), (2, Err("exit 1".to_string()))]);
/// assert_eq!(answer.unwrap().len(), 2);
/// ```
pub type Answer<B> =
    Result<Vec<(usize, Result<<B as BatchProbe>::Output, <B as BatchProbe>::Failure>)>, <B as BatchProbe>::Error>;

/// Why a handle of a [`Batch`] did not give an output.
///
/// # Examples
///
/// ```
/// use concurry::probe::BatchError;
/// let e: BatchError<u32, String> = BatchError::Failed { id: 7, failure: "exit 1".into() };
/// assert_eq!(e.to_string(), "exit 1");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BatchError<I, X> {
    /// The handle's own job failed.
    Failed {
        /// The handle's id.
        id: I,
        /// What the backend said.
        failure: X,
    },
    /// The backend failed `failures` round trips in a row; the handle was
    /// still waiting. Make a new handle from `id` to wait on it again.
    ///
    /// Its message names the backend, the handle's id (by `Debug`), and,
    /// when the round trip asked about more, how many and the first few:
    ///
    /// ```
    /// use std::sync::Arc;
    /// use concurry::probe::BatchError;
    /// let cause: Arc<dyn std::error::Error + Send + Sync> = Arc::new(std::io::Error::other("refused"));
    /// let e: BatchError<u32, String> = BatchError::Backend {
    ///     backend: "the job service".into(),
    ///     id: 7,
    ///     asked: (1..=10).collect(),
    ///     failures: 5,
    ///     cause,
    /// };
    /// assert_eq!(
    ///     e.to_string(),
    ///     "the job service failed 5 round trips in a row waiting on 7 (one of 10 asked about: 1, 2, 3 and 7 more)"
    /// );
    /// ```
    Backend {
        /// The backend, by [`BatchProbe::name`].
        backend: String,
        /// The handle's id.
        id: I,
        /// Every id the last failed round trip asked about, `id` among them
        /// (shared by the errors of all those handles).
        asked: Arc<[I]>,
        /// How many round trips failed in a row.
        failures: u32,
        /// The last round trip's error.
        cause: Arc<dyn std::error::Error + Send + Sync>,
    },
}

/// How many of the other ids asked about a backend error's message lists.
const IDS_SHOWN: usize = 3;

impl<I, X> BatchError<I, X> {
    /// The handle's id.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::probe::BatchError;
    /// let e: BatchError<u32, String> = BatchError::Failed { id: 7, failure: "exit 1".into() };
    /// assert_eq!(*e.id(), 7);
    /// ```
    pub fn id(&self) -> &I {
        match self {
            Self::Failed { id, .. } | Self::Backend { id, .. } => id,
        }
    }
}

impl<I: fmt::Debug, X: fmt::Display> fmt::Display for BatchError<I, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { failure, .. } => failure.fmt(f),
            Self::Backend { backend, id, asked, failures, .. } => {
                write!(f, "{backend} failed {failures} round trips in a row waiting on {id:?}")?;
                // The ids asked about, each once, in order.
                let mut seen = std::collections::HashSet::new();
                let distinct: Vec<&I> = asked.iter().filter(|other| seen.insert(format!("{other:?}"))).collect();
                if distinct.len() > 1 {
                    write!(f, " (one of {} asked about: ", distinct.len())?;
                    let shown = distinct.len().min(IDS_SHOWN);
                    for (i, other) in distinct.iter().take(IDS_SHOWN).enumerate() {
                        let sep = match i {
                            0 => "",
                            _ if i + 1 == shown && distinct.len() <= IDS_SHOWN => " and ",
                            _ => ", ",
                        };
                        write!(f, "{sep}{other:?}")?;
                    }
                    if distinct.len() > IDS_SHOWN {
                        write!(f, " and {} more", distinct.len() - IDS_SHOWN)?;
                    }
                    f.write_str(")")?;
                }
                Ok(())
            }
        }
    }
}

impl<I: fmt::Debug, X: fmt::Display + fmt::Debug> std::error::Error for BatchError<I, X> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Backend { cause, .. } => Some(&**cause),
            Self::Failed { .. } => None,
        }
    }
}

/// A handle waiting, in the group's dense list of waiting handles.
struct Waiting<B: BatchProbe> {
    /// The handle's key: unique in the group, never reused, so a round trip
    /// that started before a handle was dropped never answers another.
    key: u64,
    id: B::Id,
    /// The round trip that last asked about it.
    asked_by: u64,
}

/// The round trip in flight.
struct InFlight {
    /// Its number (`State::trips` when it started).
    no: u64,
    /// When it started, and its deadline: a trip whose runtime does not run
    /// it (an idle current-thread runtime) cannot end itself, so a handle
    /// that finds it well past its deadline ends it.
    started: crate::timer::Instant,
    deadline: Duration,
    /// Its task, once spawned (just after the lock is let go).
    abort: Option<AbortHandle>,
    /// How many handles it asked about still wait for it: at 0 it is
    /// abandoned.
    waited_on: usize,
}

type Output<B> = Result<<B as BatchProbe>::Output, BatchError<<B as BatchProbe>::Id, <B as BatchProbe>::Failure>>;

/// Below this much room (in handles) the group never shrinks.
const MIN_ROOM: usize = 32;

// Internal invariant: `pending` holds exactly the waiting handles, and
// `index` maps each one's key to its position there; `done` holds the
// outputs not yet taken, by key. A key is in at most one of `index` and
// `done`, and in neither once its handle took its output or was dropped.
// Every container's capacity is at most 4 times its length, or `MIN_ROOM`
// (shrunk as it empties), so memory follows the handles alive now, and a
// round trip visits `pending` only.
struct State<B: BatchProbe> {
    pending: Vec<Waiting<B>>,
    index: HashMap<u64, usize>,
    done: HashMap<u64, Output<B>>,
    next_key: u64,
    /// The round trip in flight, if any.
    trip: Option<InFlight>,
    /// When the last round trip started, for `min_interval`.
    last_trip: Option<crate::timer::Instant>,
    /// The engine check that last started a round trip.
    asked_at: Option<u64>,
    /// Round trips failed in a row.
    failures: u32,
    /// Handles waiting for the round trip in flight.
    wakers: Vec<Waker>,
    trips: u64,
    /// How many handles the last round trip visited.
    last_scan: usize,
    /// The group's own round-trip deadline, over the backend's.
    round_trip_timeout: Option<Duration>,
}

fn shrink_vec<T>(v: &mut Vec<T>) {
    if v.capacity() > 4 * v.len().max(MIN_ROOM) {
        v.shrink_to((2 * v.len()).max(MIN_ROOM));
    }
}

fn shrink_map<V>(m: &mut HashMap<u64, V>) {
    // `shrink_to(n)` leaves a capacity under `2n`, so under the trigger.
    if m.capacity() > 4 * m.len().max(MIN_ROOM) {
        m.shrink_to((2 * m.len()).max(MIN_ROOM));
    }
}

impl<B: BatchProbe> State<B> {
    /// Takes the handle `key` out of the waiting list, if it waits there.
    fn take_waiting(&mut self, key: u64) -> Option<Waiting<B>> {
        let pos = self.index.remove(&key)?;
        let waiting = self.pending.swap_remove(pos);
        if let Some(moved) = self.pending.get(pos) {
            self.index.insert(moved.key, pos);
        }
        shrink_vec(&mut self.pending);
        shrink_map(&mut self.index);
        Some(waiting)
    }

    /// Stores the output of the handle `key`, if it still waits.
    fn answer(&mut self, key: u64, out: impl FnOnce(B::Id) -> Output<B>) {
        if let Some(waiting) = self.take_waiting(key) {
            self.done.insert(key, out(waiting.id));
        }
    }

    /// Forgets the handle `key` (dropped); aborts the round trip in flight
    /// if no handle waits for it any more.
    fn forget(&mut self, key: u64) {
        let Some(waiting) = self.take_waiting(key) else {
            self.done.remove(&key);
            shrink_map(&mut self.done);
            return;
        };
        let Some(trip) = &mut self.trip else { return };
        if waiting.asked_by == trip.no {
            trip.waited_on -= 1;
            if trip.waited_on == 0 {
                if let Some(task) = &trip.abort {
                    task.abort();
                }
                self.trip = None;
                // Handles that came after it start a fresh one.
                for waker in self.wakers.drain(..) {
                    waker.wake();
                }
            }
        }
    }
}

struct Shared<B: BatchProbe> {
    backend: B,
    max_failures: u32,
    state: Mutex<State<B>>,
}

impl<B: BatchProbe> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, State<B>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A group of handles of one [`BatchProbe`] backend: one round trip per
/// engine check covers every pending handle of the group.
///
/// Cloning a `Batch` gives another reference to the same group. Dropping
/// it leaves its handles working: they hold the group too.
///
/// # Examples
///
/// See [`BatchProbe`], and `examples/batch_probe.rs` for a simulated remote
/// job service.
///
/// ```
/// use concurry::probe::{Batch, BatchProbe};
/// struct AllDone;
/// impl BatchProbe for AllDone {
///     type Id = u32;
///     type Output = u32;
///     type Failure = String;
///     type Error = std::io::Error;
///     fn name(&self) -> String { "all-done".into() }
///     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> {
///         Ok(ids.into_iter().map(Ok).enumerate().collect())
///     }
/// }
/// let batch = Batch::new(AllDone);
/// let handles = vec![batch.handle(7), batch.handle(9)];
/// assert_eq!(concurry::try_gather(handles).run().unwrap(), [7, 9]);
/// assert_eq!(batch.round_trips(), 1);
/// ```
pub struct Batch<B: BatchProbe> {
    shared: Arc<Shared<B>>,
}

impl<B: BatchProbe> Clone for Batch<B> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone() }
    }
}

impl<B: BatchProbe> fmt::Debug for Batch<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.lock();
        f.debug_struct("Batch")
            .field("backend", &self.shared.backend.name())
            .field("waiting", &state.pending.len())
            .field("round_trips", &state.trips)
            .finish_non_exhaustive()
    }
}

impl<B: BatchProbe> Batch<B> {
    /// A new, empty group over `backend`, giving up after 5 failed round
    /// trips in a row.
    ///
    /// # Examples
    ///
    /// See [`Batch`].
    pub fn new(backend: B) -> Self {
        Self::with_max_failures(backend, 5)
    }

    /// A new group that gives up after `max_failures` failed round trips in
    /// a row (at least 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::probe::{Batch, BatchProbe};
    /// struct Down;
    /// impl BatchProbe for Down {
    ///     type Id = u32;
    ///     type Output = u32;
    ///     type Failure = String;
    ///     type Error = std::io::Error;
    ///     fn name(&self) -> String { "a service that is down".into() }
    ///     fn min_interval(&self) -> std::time::Duration { std::time::Duration::from_millis(1) }
    ///     async fn check(&self, _: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> {
    ///         Err(std::io::Error::other("connection refused"))
    ///     }
    /// }
    /// let batch = Batch::with_max_failures(Down, 2);
    /// let err = concurry::try_gather([batch.handle(4)]).run().unwrap_err();
    /// let chain = format!("{}", err.child_error::<concurry::probe::BatchError<u32, String>>().unwrap());
    /// assert_eq!(chain, "a service that is down failed 2 round trips in a row waiting on 4");
    /// assert_eq!(batch.max_failures(), 2);
    /// ```
    pub fn with_max_failures(backend: B, max_failures: u32) -> Self {
        let state = State {
            pending: Vec::new(),
            index: HashMap::new(),
            done: HashMap::new(),
            next_key: 0,
            trip: None,
            last_trip: None,
            asked_at: None,
            failures: 0,
            wakers: Vec::new(),
            trips: 0,
            last_scan: 0,
            round_trip_timeout: None,
        };
        Self { shared: Arc::new(Shared { backend, max_failures: max_failures.max(1), state: Mutex::new(state) }) }
    }

    /// How many failed round trips in a row end the wait of every handle.
    ///
    /// # Examples
    ///
    /// See [`with_max_failures`](Self::with_max_failures).
    pub fn max_failures(&self) -> u32 {
        self.shared.max_failures
    }

    /// Sets how long each round trip of the group may take from now on,
    /// over the backend's [`round_trip_timeout`](BatchProbe::round_trip_timeout).
    /// A round trip past it is dropped and counts as a failed round trip.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] for a zero timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::probe::{Answer, Batch, BatchError, BatchProbe};
    /// /// A service that never answers.
    /// struct Hangs;
    /// impl BatchProbe for Hangs {
    ///     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    ///     fn name(&self) -> String { "hangs".into() }
    ///     fn min_interval(&self) -> Duration { Duration::from_millis(1) }
    ///     async fn check(&self, _: Vec<u32>) -> Answer<Self> { std::future::pending().await }
    /// }
    /// let batch = Batch::with_max_failures(Hangs, 2);
    /// assert_eq!(batch.round_trip_timeout(), Duration::from_secs(5));
    /// batch.set_round_trip_timeout(Duration::from_millis(20)).unwrap();
    /// assert!(batch.set_round_trip_timeout(Duration::ZERO).is_err());
    /// let err = concurry::try_gather([batch.handle(4)]).run().unwrap_err();
    /// let err = err.child_error::<BatchError<u32, String>>().unwrap();
    /// let cause = std::error::Error::source(err).unwrap().to_string();
    /// assert_eq!(cause, "hangs's round trip did not answer within 20ms");
    /// ```
    pub fn set_round_trip_timeout(&self, timeout: Duration) -> Result<(), ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::new("round trip timeout", "0s", "must be greater than zero"));
        }
        self.shared.lock().round_trip_timeout = Some(timeout);
        Ok(())
    }

    /// How long each round trip may take: the group's own, else the
    /// backend's [`round_trip_timeout`](BatchProbe::round_trip_timeout).
    ///
    /// # Examples
    ///
    /// See [`set_round_trip_timeout`](Self::set_round_trip_timeout).
    pub fn round_trip_timeout(&self) -> Duration {
        let own = self.shared.lock().round_trip_timeout;
        own.unwrap_or_else(|| self.shared.backend.round_trip_timeout())
    }

    /// A future for the handle `id`, checked with the rest of the group.
    /// Any number of handles may have the same id; each is answered.
    ///
    /// # Examples
    ///
    /// See [`Batch`].
    pub fn handle(&self, id: B::Id) -> BatchHandle<B> {
        let mut state = self.shared.lock();
        let key = state.next_key;
        state.next_key += 1;
        let pos = state.pending.len();
        state.pending.push(Waiting { key, id, asked_by: 0 });
        state.index.insert(key, pos);
        BatchHandle {
            shared: self.shared.clone(),
            key: Some(key),
            parked_at: None,
            alone: false,
            parker: Default::default(),
        }
    }

    /// The backend.
    ///
    /// # Examples
    ///
    /// ```
    /// # use concurry::probe::{Batch, BatchProbe};
    /// # struct AllDone;
    /// # impl BatchProbe for AllDone {
    /// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    /// #     fn name(&self) -> String { "all-done".into() }
    /// #     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
    /// # }
    /// let batch = Batch::new(AllDone);
    /// assert_eq!(batch.backend().name(), "all-done");
    /// ```
    pub fn backend(&self) -> &B {
        &self.shared.backend
    }

    /// How many round trips the group has started so far.
    ///
    /// # Examples
    ///
    /// See [`Batch`].
    pub fn round_trips(&self) -> u64 {
        self.shared.lock().trips
    }

    /// How many handles the group has room for without growing. It follows
    /// the handles alive now: each of its tables holds room for at most 4
    /// times as many (counting at least 32), however many were alive at
    /// once before.
    ///
    /// # Examples
    ///
    /// ```
    /// # use concurry::probe::{Batch, BatchProbe};
    /// # struct AllDone;
    /// # impl BatchProbe for AllDone {
    /// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    /// #     fn name(&self) -> String { "all-done".into() }
    /// #     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
    /// # }
    /// let batch = Batch::new(AllDone);
    /// let burst: Vec<_> = (0..10_000).map(|id| batch.handle(id)).collect();
    /// assert!(batch.slots() >= 10_000);
    /// drop(burst);
    /// let handles: Vec<_> = (0..5).map(|id| batch.handle(id)).collect();
    /// concurry::try_gather(handles).run().unwrap();
    /// assert!(batch.slots() <= 3 * 128, "{}", batch.slots());
    /// ```
    pub fn slots(&self) -> usize {
        let state = self.shared.lock();
        state.pending.capacity().max(state.index.capacity()) + state.done.capacity()
    }

    /// How many handles the last round trip visited to collect its ids: the
    /// handles waiting then, never the room left by others. (For tests.)
    ///
    /// # Examples
    ///
    /// ```
    /// # use concurry::probe::{Batch, BatchProbe};
    /// # struct AllDone;
    /// # impl BatchProbe for AllDone {
    /// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    /// #     fn name(&self) -> String { "all-done".into() }
    /// #     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
    /// # }
    /// let batch = Batch::new(AllDone);
    /// drop((0..1_000).map(|id| batch.handle(id)).collect::<Vec<_>>());
    /// concurry::try_gather([batch.handle(1), batch.handle(2)]).run().unwrap();
    /// assert_eq!(batch.last_trip_visited(), 2);
    /// ```
    #[doc(hidden)]
    pub fn last_trip_visited(&self) -> usize {
        self.shared.lock().last_scan
    }
}

/// One handle of a [`Batch`], as a future. Dropping it frees its room in
/// the group; if it was the last handle a round trip in flight was asked
/// about, that round trip is aborted.
///
/// # Examples
///
/// ```
/// # use concurry::probe::{Batch, BatchProbe};
/// # struct AllDone;
/// # impl BatchProbe for AllDone {
/// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
/// #     fn name(&self) -> String { "all-done".into() }
/// #     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let batch = Batch::new(AllDone);
/// let handle: concurry::probe::BatchHandle<AllDone> = batch.handle(4);
/// assert_eq!(handle.await.unwrap(), 4); // awaited alone, it checks itself
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct BatchHandle<B: BatchProbe> {
    shared: Arc<Shared<B>>,
    /// Its key in the group; `None` once the output was taken.
    key: Option<u64>,
    /// The engine check it last parked at: polled again within one check
    /// (a few children are all polled at every round of a call), it does
    /// not park again, so wakers never pile up until the check.
    parked_at: Option<u64>,
    /// Its last parking found no engine's parking space (awaited alone, or
    /// a call at thread exit): it then paces itself as if awaited alone.
    alone: bool,
    /// Where it parks between checks: with the engine, or on its own timer.
    parker: crate::probe::Parker,
}

impl<B: BatchProbe> fmt::Debug for BatchHandle<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchHandle").field("key", &self.key).finish_non_exhaustive()
    }
}

impl<B: BatchProbe> BatchHandle<B> {
    /// The handle's id, while it waits.
    ///
    /// # Examples
    ///
    /// ```
    /// # use concurry::probe::{Batch, BatchProbe};
    /// # struct AllDone;
    /// # impl BatchProbe for AllDone {
    /// #     type Id = u32; type Output = u32; type Failure = String; type Error = std::io::Error;
    /// #     fn name(&self) -> String { "all-done".into() }
    /// #     async fn check(&self, ids: Vec<u32>) -> std::io::Result<Vec<(usize, Result<u32, String>)>> { Ok(ids.into_iter().map(Ok).enumerate().collect()) }
    /// # }
    /// let batch = Batch::new(AllDone);
    /// assert_eq!(batch.handle(11).id(), Some(11));
    /// ```
    pub fn id(&self) -> Option<B::Id> {
        let key = self.key?;
        let state = self.shared.lock();
        if let Some(&pos) = state.index.get(&key) {
            return Some(state.pending[pos].id.clone());
        }
        match state.done.get(&key) {
            Some(Err(e)) => Some(e.id().clone()),
            _ => None,
        }
    }
}

/// Ends a round trip that was dropped before it answered (its runtime shut
/// down, even before it first ran): no longer in flight, and the handles
/// waiting on it woken, to start another. It leaves alone a round trip that
/// started after it.
struct Unfinished<B: BatchProbe> {
    shared: Arc<Shared<B>>,
    no: u64,
}

impl<B: BatchProbe> Drop for Unfinished<B> {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        if state.trip.as_ref().is_some_and(|t| t.no == self.no) {
            state.trip = None;
            for waker in state.wakers.drain(..) {
                waker.wake();
            }
        }
    }
}

/// Makes a round trip for every waiting handle of the group: records it as
/// in flight, and returns it, with its number, to be spawned once the lock
/// is let go ([`spawn_trip`]). The round trip records what it found, and
/// wakes the handles waiting on it.
fn start_trip<B: BatchProbe>(
    shared: &Arc<Shared<B>>,
    state: &mut State<B>,
) -> Option<(u64, impl Future<Output = ()> + Send + 'static)> {
    if state.pending.is_empty() {
        return None;
    }
    state.trips += 1;
    let no = state.trips;
    let mut keys = Vec::with_capacity(state.pending.len());
    let mut ids = Vec::with_capacity(state.pending.len());
    for waiting in &mut state.pending {
        waiting.asked_by = no;
        keys.push(waiting.key);
        ids.push(waiting.id.clone());
    }
    state.last_scan = keys.len();
    state.last_trip = Some(crate::timer::now());
    let deadline = state.round_trip_timeout.unwrap_or_else(|| shared.backend.round_trip_timeout());
    state.trip = Some(InFlight { no, abort: None, waited_on: keys.len(), started: crate::timer::now(), deadline });
    // Made here, on the asking call's timer driver (see `crate::timer`).
    let timer = crate::timer::Timer::after(deadline);
    // If the trip is dropped unfinished (its runtime shut down, before or
    // after it first ran), the group must not wait on it for ever.
    let unfinished = Unfinished { shared: shared.clone(), no };
    let trip = async move {
        let shared = &unfinished.shared;
        // A backend that panics (making its future, or in it) fails this
        // round trip, as an error would.
        let asked = AssertUnwindSafe(async { shared.backend.check(ids.clone()).await }).catch_unwind();
        let answer = match crate::timer::within(timer, asked).await {
            Some(Ok(Ok(done))) => Ok(done),
            Some(Ok(Err(error))) => Err(error.into()),
            Some(Err(payload)) => {
                let panic = crate::error::ThreadPanic::from_payload(payload);
                let message = panic.message().unwrap_or("<non-string panic payload>");
                Err(BoxError::from(format!("{}'s round trip panicked: {message}", shared.backend.name())))
            }
            None => Err(BoxError::from(format!(
                "{}'s round trip did not answer within {deadline:?}",
                shared.backend.name()
            ))),
        };
        let mut state = shared.lock();
        let state = &mut *state;
        if state.trip.as_ref().is_none_or(|t| t.no != no) {
            // Abandoned (no handle waited for it): a later one answers.
            return;
        }
        // Finished: the guard (dropped after the lock) finds nothing to do.
        state.trip = None;
        match answer {
            Ok(done) => {
                state.failures = 0;
                for (pos, out) in done {
                    let Some(&key) = keys.get(pos) else { continue };
                    state.answer(key, |id| out.map_err(|failure| BatchError::Failed { id, failure }));
                }
            }
            Err(error) => {
                state.failures += 1;
                crate::trace::round_trip_failed(&shared.backend.name(), state.failures, &error);
                if state.failures >= shared.max_failures {
                    let cause: Arc<dyn std::error::Error + Send + Sync> = Arc::from(error);
                    let backend = shared.backend.name();
                    let failures = state.failures;
                    let asked: Arc<[B::Id]> = ids.into();
                    for key in keys {
                        state.answer(key, |id| {
                            Err(BatchError::Backend {
                                backend: backend.clone(),
                                id,
                                asked: asked.clone(),
                                failures,
                                cause: cause.clone(),
                            })
                        });
                    }
                    state.failures = 0;
                }
            }
        }
        for waker in state.wakers.drain(..) {
            waker.wake();
        }
    };
    Some((no, trip))
}

/// Spawns round trip `no` as a task of its own, outside the lock (a runtime
/// that is shutting down drops it at once, and its guard takes the lock),
/// and keeps its abort handle; a round trip abandoned meanwhile is aborted.
fn spawn_trip<B: BatchProbe>(shared: &Shared<B>, no: u64, trip: impl Future<Output = ()> + Send + 'static) {
    let task = crate::blocking::spawn_detached(trip);
    let mut state = shared.lock();
    match &mut state.trip {
        Some(current) if current.no == no => current.abort = Some(task.abort_handle()),
        _ => task.abort(),
    }
}

impl<B: BatchProbe> Future for BatchHandle<B> {
    type Output = Output<B>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let key = this.key.expect("a batch handle polled after it completed");
        let check = if this.alone { None } else { crate::probe::current_check() };
        let min_interval = this.shared.backend.min_interval();
        let mut state = this.shared.lock();
        if let Some(out) = state.done.remove(&key) {
            shrink_map(&mut state.done);
            this.key = None;
            return Poll::Ready(out);
        }
        if let Some(trip) = &mut state.trip {
            if trip.started.elapsed() <= trip.deadline.saturating_add(trip.deadline / 4) {
                // Woken when the round trip in flight answers (once per
                // waker: a handle may be polled again before that), and
                // parked for the checks, to see a trip that never ends.
                if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    state.wakers.push(cx.waker().clone());
                }
                drop(state);
                this.park(cx, check, min_interval);
                return Poll::Pending;
            }
            // Past its deadline, and its own timer did not end it (its
            // runtime is not running it): it failed; a new one starts.
            if let Some(abort) = trip.abort.take() {
                abort.abort();
            }
            state.trip = None;
            state.failures += 1;
        }
        // One round trip per engine check, no more often than the backend
        // allows (unless the call's own polling says otherwise), whoever polls.
        let new_check = check.is_none() || state.asked_at != check;
        let paced = crate::probe::call_sets_polling() || state.last_trip.is_none_or(|at| at.elapsed() >= min_interval);
        if new_check && paced {
            state.asked_at = check;
            let trip = start_trip(&this.shared, &mut state);
            state.wakers.push(cx.waker().clone());
            drop(state);
            if let Some((no, trip)) = trip {
                spawn_trip(&this.shared, no, trip);
            }
            return Poll::Pending;
        }
        drop(state);
        this.park(cx, check, min_interval);
        Poll::Pending
    }
}

impl<B: BatchProbe> BatchHandle<B> {
    /// Parks once per engine check (polled again within one, it does not
    /// park again, so wakers never pile up until the check).
    fn park(&mut self, cx: &mut Context<'_>, check: Option<u64>, min_interval: Duration) {
        if check.is_none() || self.parked_at != check {
            self.alone = !self.parker.park_for(cx, Some(min_interval));
            self.parked_at = check;
        }
    }
}

impl<B: BatchProbe> Drop for BatchHandle<B> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            self.shared.lock().forget(key);
        }
    }
}
