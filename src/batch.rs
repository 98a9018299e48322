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
//! **Failures.** A failed round trip is retried at the next check. After
//! [`max_failures`](Batch::max_failures) failures in a row (5 by default),
//! every handle waiting on the group completes with
//! [`BatchError::Backend`], which names the backend, the cause, and the
//! handle's id, so nothing is lost: make a new handle from the id to wait
//! again. As an output, that error is a failure like any other: `try_gather`
//! fails fast on it (naming the key), `gather` keeps it in its slot, and
//! `ReturnWhen::FirstException` returns on it. A handle whose own job failed
//! completes with [`BatchError::Failed`].
//!
//! **Memory.** A handle that finished or was dropped frees its slot for the
//! next one; a round trip asks only about the handles waiting.

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::error::BoxError;

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
    /// range are ignored.
    fn check(&self, ids: Vec<Self::Id>) -> impl Future<Output = Answer<Self>> + Send;

    /// The shortest time between two round trips (100 ms by default). A
    /// call's own `.polling(..)` wins over it.
    fn min_interval(&self) -> Duration {
        Duration::from_millis(100)
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
    Backend {
        /// The backend, by [`BatchProbe::name`].
        backend: String,
        /// The handle's id.
        id: I,
        /// How many round trips failed in a row.
        failures: u32,
        /// The last round trip's error.
        cause: Arc<dyn std::error::Error + Send + Sync>,
    },
}

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

impl<I, X: fmt::Display> fmt::Display for BatchError<I, X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed { failure, .. } => failure.fmt(f),
            Self::Backend { backend, failures, .. } => {
                write!(f, "{backend} failed {failures} round trips in a row")
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

/// What a handle's slot holds.
enum Slot<B: BatchProbe> {
    /// A handle waiting, and the slot's use number: a round trip that
    /// started before the slot was freed and reused must not answer the
    /// handle that took it since.
    Waiting(B::Id, u64),
    Done(Result<B::Output, BatchError<B::Id, B::Failure>>),
    Free,
}

struct State<B: BatchProbe> {
    slots: Vec<Slot<B>>,
    /// Slots freed by finished or dropped handles, for the next handles.
    free: Vec<usize>,
    /// How many slots are `Waiting`: a round trip is made only for them.
    waiting: usize,
    /// A round trip is running.
    in_flight: bool,
    /// When the last round trip started, for `min_interval`.
    last_trip: Option<tokio::time::Instant>,
    /// The engine check that last started a round trip.
    asked_at: Option<u64>,
    /// Round trips failed in a row, and the last error.
    failures: u32,
    /// Handles waiting for the round trip in flight.
    wakers: Vec<Waker>,
    trips: u64,
    /// Use numbers for `Slot::Waiting`.
    uses: u64,
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
            .field("waiting", &state.waiting)
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
    /// assert_eq!(chain, "a service that is down failed 2 round trips in a row");
    /// assert_eq!(batch.max_failures(), 2);
    /// ```
    pub fn with_max_failures(backend: B, max_failures: u32) -> Self {
        let state = State {
            slots: Vec::new(),
            free: Vec::new(),
            waiting: 0,
            in_flight: false,
            last_trip: None,
            asked_at: None,
            failures: 0,
            wakers: Vec::new(),
            trips: 0,
            uses: 0,
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

    /// A future for the handle `id`, checked with the rest of the group.
    ///
    /// # Examples
    ///
    /// See [`Batch`].
    pub fn handle(&self, id: B::Id) -> BatchHandle<B> {
        let mut state = self.shared.lock();
        state.waiting += 1;
        state.uses += 1;
        let waiting = Slot::Waiting(id, state.uses);
        let slot = match state.free.pop() {
            Some(slot) => {
                state.slots[slot] = waiting;
                slot
            }
            None => {
                state.slots.push(waiting);
                state.slots.len() - 1
            }
        };
        BatchHandle { shared: self.shared.clone(), slot: Some(slot), parked_at: None, alone: false }
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

    /// How many round trips the group has made so far.
    ///
    /// # Examples
    ///
    /// See [`Batch`].
    pub fn round_trips(&self) -> u64 {
        self.shared.lock().trips
    }

    /// How many slots the group holds (waiting, done or free): bounded by
    /// the most handles alive at once, not by the handles ever made.
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
    /// for round in 0..10 {
    ///     let handles: Vec<_> = (0..5).map(|i| batch.handle(round * 5 + i)).collect();
    ///     concurry::try_gather(handles).run().unwrap();
    /// }
    /// assert_eq!(batch.slots(), 5);
    /// ```
    pub fn slots(&self) -> usize {
        self.shared.lock().slots.len()
    }
}

/// One handle of a [`Batch`], as a future. Dropping it frees its slot.
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
    /// `None` once the output was taken.
    slot: Option<usize>,
    /// The engine check it last parked at: polled again within one check
    /// (a few children are all polled at every round of a call), it does
    /// not park again, so wakers never pile up until the check.
    parked_at: Option<u64>,
    /// Its last parking found no engine's parking space (a call at thread
    /// exit): it then paces itself as if awaited alone.
    alone: bool,
}

impl<B: BatchProbe> fmt::Debug for BatchHandle<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchHandle").field("slot", &self.slot).finish_non_exhaustive()
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
        let state = self.shared.lock();
        match self.slot.map(|s| &state.slots[s]) {
            Some(Slot::Waiting(id, _)) => Some(id.clone()),
            Some(Slot::Done(Err(e))) => Some(e.id().clone()),
            _ => None,
        }
    }
}

/// Ends a round trip that was dropped before it answered: no longer in
/// flight, and the handles waiting on it woken, to start another.
struct Unfinished<'a, B: BatchProbe>(&'a Arc<Shared<B>>);

impl<B: BatchProbe> Drop for Unfinished<'_, B> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        if state.in_flight {
            state.in_flight = false;
            for waker in state.wakers.drain(..) {
                waker.wake();
            }
        }
    }
}

/// Starts a round trip for every waiting handle of the group, as a task of
/// its own; records what it found, and wakes the handles waiting on it.
fn start_trip<B: BatchProbe>(shared: &Arc<Shared<B>>, state: &mut State<B>) {
    let (positions, ids): (Vec<(usize, u64)>, Vec<B::Id>) = state
        .slots
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Slot::Waiting(id, used) => Some(((i, *used), id.clone())),
            _ => None,
        })
        .unzip();
    if ids.is_empty() {
        return;
    }
    state.in_flight = true;
    state.trips += 1;
    state.last_trip = Some(tokio::time::Instant::now());
    let shared = shared.clone();
    let trip = async move {
        // If the trip is dropped unfinished (its runtime shut down), the
        // group must not wait on it for ever.
        let unfinished = Unfinished(&shared);
        // A backend that panics (making its future, or in it) fails this
        // round trip, as an error would.
        let asked = AssertUnwindSafe(async { shared.backend.check(ids.clone()).await });
        let answer = match asked.catch_unwind().await {
            Ok(Ok(done)) => Ok(done),
            Ok(Err(error)) => Err(error.into()),
            Err(payload) => Err(BoxError::from(crate::error::ThreadPanic::from_payload(payload).to_string())),
        };
        let mut state = shared.lock();
        let state = &mut *state;
        state.in_flight = false;
        // Finished: the guard has nothing to do (and must not end a trip
        // that starts after this one).
        std::mem::forget(unfinished);
        match answer {
            Ok(done) => {
                state.failures = 0;
                for (pos, out) in done {
                    let Some(&(slot, used)) = positions.get(pos) else { continue };
                    let Slot::Waiting(id, now) = &state.slots[slot] else { continue };
                    if *now == used {
                        let out = out.map_err(|failure| BatchError::Failed { id: id.clone(), failure });
                        state.slots[slot] = Slot::Done(out);
                        state.waiting -= 1;
                    }
                }
            }
            Err(error) => {
                state.failures += 1;
                if state.failures >= shared.max_failures {
                    let cause: Arc<dyn std::error::Error + Send + Sync> = Arc::from(error);
                    let backend = shared.backend.name();
                    for (&(slot, used), id) in positions.iter().zip(ids) {
                        if matches!(state.slots[slot], Slot::Waiting(_, now) if now == used) {
                            state.slots[slot] = Slot::Done(Err(BatchError::Backend {
                                backend: backend.clone(),
                                id,
                                failures: state.failures,
                                cause: cause.clone(),
                            }));
                            state.waiting -= 1;
                        }
                    }
                    state.failures = 0;
                }
            }
        }
        for waker in state.wakers.drain(..) {
            waker.wake();
        }
    };
    crate::blocking::spawn_detached(trip);
}

impl<B: BatchProbe> Future for BatchHandle<B> {
    type Output = Result<B::Output, BatchError<B::Id, B::Failure>>;

    /// # Panics
    ///
    /// When polled again after it returned `Ready`.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let slot = this.slot.expect("a batch handle polled after it completed");
        let check = if this.alone { None } else { crate::probe::current_check() };
        let min_interval = this.shared.backend.min_interval();
        let mut state = this.shared.lock();
        if let Slot::Done(_) = state.slots[slot] {
            let Slot::Done(out) = std::mem::replace(&mut state.slots[slot], Slot::Free) else { unreachable!() };
            state.free.push(slot);
            this.slot = None;
            return Poll::Ready(out);
        }
        if state.in_flight {
            // Woken when the round trip in flight answers (once per waker:
            // a handle may be polled again before that).
            if !state.wakers.iter().any(|w| w.will_wake(cx.waker())) {
                state.wakers.push(cx.waker().clone());
            }
            return Poll::Pending;
        }
        // One round trip per engine check, no more often than the backend
        // allows (unless the call's own polling says otherwise), whoever polls.
        let new_check = check.is_none() || state.asked_at != check;
        let paced = crate::probe::call_sets_polling() || state.last_trip.is_none_or(|at| at.elapsed() >= min_interval);
        if new_check && paced {
            state.asked_at = check;
            start_trip(&this.shared, &mut state);
            state.wakers.push(cx.waker().clone());
            return Poll::Pending;
        }
        drop(state);
        if check.is_none() || this.parked_at != check {
            this.alone = !crate::probe::park_for(cx, min_interval);
            this.parked_at = check;
        }
        Poll::Pending
    }
}

impl<B: BatchProbe> Drop for BatchHandle<B> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            let mut state = self.shared.lock();
            if let Slot::Waiting(..) = state.slots[slot] {
                state.waiting -= 1;
            }
            state.slots[slot] = Slot::Free;
            state.free.push(slot);
        }
    }
}
