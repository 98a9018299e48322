//! The children of one call and their scheduling: what `wait` hands back as
//! still pending.
//!
//! Internal invariant: every child index `0..capacity` is in exactly one of
//! these states, and moves only forward:
//!
//! 1. fresh (not reached by the slab yet): never polled;
//! 2. polled with the set's shared waker and still pending (in `once`, then
//!    `twice`, or in the rescan lists taken from them);
//! 3. own-waker: polled with a waker of its own, so its wake queues exactly
//!    it (in `own`, and in the ready queue whenever it woke); or, in a set
//!    with at most `SMALL_SET` children left, parented: polled with the
//!    task's own waker, and polled again at each round of the call (in
//!    `parented`), as `join_all` polls its children;
//! 4. finished: the slab dropped it and holds no slot for it (a slot it
//!    freed may hold a later child); it is never polled again.
//!
//! Why the shared waker first: a child that is ready when first polled (the
//! common case for a gather of ready values or finished tasks) never needs a
//! waker of its own, which would cost an allocation; and a child that wakes
//! itself while polled (as a yield does) is seen in the same poll of the
//! call, which then polls it again at once rather than going back to the
//! executor. A wake of the shared waker cannot say who woke, so it rescans
//! the children polled with it; a child rescanned and still pending then
//! waits on the task's waker (few children: a round polls them all, cheaper
//! than an allocation each) or, rescanned twice, on a waker of its own (many
//! children: every later wake polls only the child that woke). So each child
//! is polled at most twice more than it asked for in a large set: O(n) polls
//! in all for n children.
//!
//! A child may keep the first waker it was given (the shared one) and wake
//! it after it earned its own; that breaks the `Future` contract, but Tokio's
//! tasks and `FuturesUnordered` tolerate it, so we do too: a wake of the
//! shared waker also queues every own-waker child, and owes the parented
//! children a sweep (they are polled at every round, and again in the round
//! that sees such a wake, so the wake is not lost when nothing else wakes
//! the task). Children that update their waker when
//! polled (Tokio's timers, channels, task handles) never wake the shared one
//! again, so they pay nothing for this.
//!
//! What a small call costs: the task's waker is registered with the shared
//! state only when the call is about to wait (a call that completes in its
//! first poll never clones it, and a wake before that tries to wake no
//! one), and the shared state itself comes from a per-thread pool of spares
//! when no waker of an earlier call is left anywhere. The children to
//! rescan are bits for the first 64 (`IndexSet`). So a gather of up to 64
//! futures, ready or waking themselves, allocates its slots and its
//! outputs, nothing else. Atomic operations, the costly part of a small
//! call: one per wake of the shared waker, one to take the rescan request
//! down, and one to check, at the end, that the shared state can go back
//! to the pool.

//! # The liveness rule
//!
//! A round ([`Pending::poll_round`]) returns `Poll::Pending` in two places
//! only, and each must leave a wake on its way, or the call hangs:
//!
//! 1. nothing left to poll: the task's waker was registered (`register`)
//!    with this round's `cx`, *then* `next_to_poll` found every list empty,
//!    which takes `RESCAN` down and drains the ready queue after that
//!    registration (a wake that came before it raised a flag that this look
//!    sees), `sweep_due` is clear, and the parented children were polled in
//!    this round with this `cx`;
//! 2. more polls than live children since the last completion (a child
//!    that keeps waking itself): the task woke itself (`wake_by_ref`) first.
//!
//! Any new early return of `Pending` must meet one of these. Where each
//! child waits, and what polls it again:
//!
//! | list | the waker its child holds | what polls it again |
//! |---|---|---|
//! | fresh (`slab.unreached`) | none yet | the first pass of the next round (`can_start`, a slot free under a limit) |
//! | `once`, then `rescan_once` | the shared waker | its wake raises `RESCAN` and wakes the task (once registered); `next_to_poll` takes `RESCAN` down and moves `once` to `rescan_once` |
//! | `Deep::twice`, then `rescan_twice` | the shared waker (rescanned once, still pending) | the same; rescanned twice, it gets its own waker |
//! | `Deep::own` (`promoted`) | an `OwnWaker` of its own | its wake pushes it on `ready`, raises `any_ready` and wakes the task; `next_to_poll` moves `ready` to `queue`; a wake of the shared waker queues every promoted child too (it may have kept the shared one) |
//! | `parented` (at most `SMALL_SET` live) | the task's waker, from the round that last polled it | every round sweeps them once (`poll_parented`); a round cut short owes a sweep (`sweep_due`), and so does a wake of the shared waker (a kept waker) |
//! | probes (`Deep::scope`) | parked with the engine | the engine's check timer wakes them for one check |

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use futures::task::{ArcWake, AtomicWaker, waker_ref};

use crate::index_set::IndexSet;
use crate::probe::{self, Scope};
use crate::shape::{Feed, Keys};
use crate::slab::Slab;

/// What the wakers of one set share.
#[derive(Default)]
struct Shared {
    /// The task polling the set.
    parent: AtomicWaker,
    /// `RESCAN`: a child polled with the shared waker woke. `REGISTERED`:
    /// the task's waker was ever registered in `parent`. One word, so that
    /// a wake sees both at once.
    state: AtomicU8,
    /// Own-waker children that woke, in wake order.
    ready: Mutex<Vec<u32>>,
    /// `ready` may be non-empty: spares the lock when nothing woke.
    any_ready: AtomicBool,
}

const RESCAN: u8 = 1;
const REGISTERED: u8 = 2;

impl ArcWake for Shared {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        // Only the wake that raises the flag wakes the task: until the engine
        // takes the flag down, the rescan it asks for is due anyway (a run of
        // children that wake at once costs one task wake, not one each).
        // Before the task's waker was ever registered there is no one to
        // wake: the engine is polling, and looks at the flag after it
        // registers (a child that wakes itself costs one atomic operation,
        // not three).
        let before = arc_self.state.fetch_or(RESCAN, Ordering::AcqRel);
        if before & RESCAN == 0 && before & REGISTERED != 0 {
            arc_self.parent.wake();
        }
    }
}

impl Shared {
    /// Takes the rescan request down; `true` if there was one.
    fn take_rescan(&self) -> bool {
        self.state.fetch_and(!RESCAN, Ordering::AcqRel) & RESCAN != 0
    }

    /// Registers the task's waker, before the engine looks at the flags once
    /// more and then waits.
    fn register(&self, waker: &std::task::Waker) {
        self.parent.register(waker);
        // Only this thread sets the bit: a plain load sees its own store.
        if self.state.load(Ordering::Relaxed) & REGISTERED == 0 {
            self.state.fetch_or(REGISTERED, Ordering::AcqRel);
        }
    }
}

/// A set's [`Shared`], handed to a small pool of this thread's when the set
/// is dropped with no clone of its wakers left anywhere, for the next call
/// made on the thread: a small call allocates one thing fewer. (An `Option`
/// only so that `drop` can move it to the pool: always `Some` before.)
struct SharedRef(Option<Arc<Shared>>);

thread_local! {
    static SPARE: RefCell<Vec<Arc<Shared>>> = const { RefCell::new(Vec::new()) };
}

/// Spare `Shared`s kept per thread: enough for the calls one thread has
/// running at once in practice.
const SPARES: usize = 8;

impl SharedRef {
    #[inline]
    fn new() -> Self {
        let spare = SPARE.try_with(|s| s.borrow_mut().pop()).ok().flatten();
        Self(Some(spare.unwrap_or_default()))
    }
}

impl std::ops::Deref for SharedRef {
    type Target = Arc<Shared>;
    #[inline]
    fn deref(&self) -> &Arc<Shared> {
        self.0.as_ref().expect("a set's shared state is there until the set is dropped")
    }
}

impl Drop for SharedRef {
    fn drop(&mut self) {
        let Some(mut spare) = self.0.take() else { return };
        // Only when nothing else holds it: no child kept a waker. Moved to
        // the pool, not cloned: no reference count to touch.
        let Some(shared) = Arc::get_mut(&mut spare) else { return };
        shared.parent = AtomicWaker::new();
        *shared.state.get_mut() = 0;
        *shared.any_ready.get_mut() = false;
        let ready = shared.ready.get_mut().unwrap_or_else(PoisonError::into_inner);
        if ready.capacity() > 64 {
            *ready = Vec::new();
        } else {
            ready.clear();
        }
        let _ = SPARE.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARES {
                s.push(spare);
            }
        });
    }
}

struct OwnWaker {
    index: u32,
    /// Already in the ready queue: a second wake before the poll adds nothing.
    queued: AtomicBool,
    shared: Arc<Shared>,
}

impl ArcWake for OwnWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        if !arc_self.queued.swap(true, Ordering::AcqRel) {
            arc_self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner).push(arc_self.index);
            arc_self.shared.any_ready.store(true, Ordering::Release);
        }
        arc_self.shared.parent.wake();
    }
}

/// Tokio's budget is spent with children still to poll: go on next turn.
fn yield_turn(cx: &Context<'_>) -> Poll<Round> {
    cx.waker().wake_by_ref();
    Poll::Ready(Round::Yielded)
}

/// At most this many children left, a child still pending when rescanned
/// waits on the task's own waker and is polled at each round of the call
/// (parented), rather than earning a waker of its own: for a few children
/// polling them all costs less than an allocation each. `join_all` polls up
/// to 30 children on every wake the same way.
const SMALL_SET: usize = 32;

/// How many fresh children the first pass reaches between two looks at
/// Tokio's budget.
const FRESH_BUDGET_STRIDE: usize = 16;

/// Where the next child to poll came from.
enum Source {
    Once,
    Own(Arc<OwnWaker>),
}

/// How a round of polling ended.
pub(crate) enum Round {
    /// Every child has finished.
    Exhausted,
    /// The caller's callback asked to stop.
    Stopped,
    /// Tokio's budget for this task is spent, with children still to poll:
    /// the task was woken to go on at its next turn.
    Yielded,
}

/// Children not yet complete, with their keys: the engine's own storage.
///
/// [`wait`](crate::wait()) returns one in [`Waited::pending`](crate::Waited).
/// It is ready to be waited on or gathered again as it is, with nothing
/// rebuilt: pass it to [`async_wait`](crate::async_wait()),
/// [`async_gather`](crate::async_gather()) or their blocking forms. Gathering
/// it gives `Vec<(key, output)>` in key order.
///
/// Dropping it (or calling [`cancel`](Pending::cancel)) drops every child: a
/// future is cancelled, a task held through tokio-util's `AbortOnDropHandle`
/// is aborted, and a plain `tokio::task::JoinHandle` detaches, as it does in
/// Tokio.
///
/// # Examples
///
/// ```
/// use concurry::{async_wait, async_try_gather, ReturnWhen};
/// use tokio::sync::oneshot;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (tx, rx) = oneshot::channel::<u8>();
/// let children = vec![Box::pin(async { Ok(1u8) }) as std::pin::Pin<Box<dyn Future<Output = _>>>, Box::pin(rx)];
/// let first = async_wait(children).return_when(ReturnWhen::FirstCompleted).await.unwrap();
/// assert_eq!(first.done.len(), 1);
/// assert_eq!(first.pending.keys().collect::<Vec<_>>(), [1]);
///
/// tx.send(2).unwrap();
/// let rest = async_try_gather(first.pending).await.unwrap();
/// assert_eq!(rest, [(1, 2)]);
/// # }
/// ```
pub struct Pending<L, F> {
    slab: Slab<F>,
    keys: L,
    live: usize,
    once: IndexSet,
    // Rescan work in progress, taken from `once`, lowest index first.
    rescan_once: IndexSet,
    // A few children left, still pending when rescanned: polled with the
    // task's own waker, all of them at each poll of the set, as `join_all`
    // polls its children. Cheaper for a few than a waker of their own.
    parented: Vec<u32>,
    // `parented` is owed a sweep: the last round ended (a spent budget, a
    // child that keeps waking itself) before it polled them, so the next
    // round starts with them; or a wake of the shared waker may have come
    // from one of them (it kept the waker it was first given).
    sweep_due: bool,
    // At most this many children started and not finished: the call's
    // `.limit(n)`, set for each call.
    limit: usize,
    // Made when first needed: a gather of ready children, or of children
    // that are pending once, never needs it, and the set stays small (it is
    // moved a few times per call).
    deep: Option<Box<Deep>>,
    // Last: dropped after every child and waker that may hold a clone.
    shared: SharedRef,
}

/// The part of a set that only children pending twice or more, and probes,
/// need.
#[derive(Default)]
struct Deep {
    twice: Vec<u32>,
    rescan_twice: Vec<u32>,
    queue: Vec<u32>,
    // Indexed by child; sized on first use.
    own: Vec<Option<Arc<OwnWaker>>>,
    // The children that have a waker of their own (some may have finished).
    promoted: Vec<u32>,
    // Probes parked for the next check. They stay with the children, so a
    // set handed back by `wait` and waited on again still checks them.
    scope: Scope,
}

// The slab pins its children on the heap; nothing else here is pinned.
impl<L, F> Unpin for Pending<L, F> {}

impl<L, F> Pending<L, F> {
    /// How many children are still pending.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let w = concurry::async_wait(vec![std::future::ready(1)]).await.unwrap();
    /// assert_eq!(w.pending.len(), 0);
    /// # }
    /// ```
    pub fn len(&self) -> usize {
        self.live
    }

    /// `true` when no child is pending.
    ///
    /// # Examples
    ///
    /// ```
    /// let w = concurry::wait([std::future::ready(1)]).run().unwrap();
    /// assert!(w.pending.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Children a lazy input said it had and did not hand over (its
    /// iterator ended before its stated length).
    pub(crate) fn missing(&self) -> usize {
        self.slab.missing()
    }

    /// Children started and not finished.
    fn in_flight(&self) -> usize {
        self.live - self.slab.unreached()
    }

    /// Some children have never been polled, and the limit lets one start.
    pub(crate) fn can_start(&self) -> bool {
        self.slab.has_fresh() && self.in_flight() < self.limit
    }

    fn deep(&mut self) -> &mut Deep {
        self.deep.get_or_insert_with(Box::default)
    }

    /// What the set's probes parked and asked for, if any ever did.
    pub(crate) fn scope(&self) -> Option<&Scope> {
        self.deep.as_ref().map(|d| &d.scope)
    }

    pub(crate) fn scope_mut(&mut self) -> &mut Scope {
        &mut self.deep().scope
    }

    /// The scope, if some probe is parked in it (waiting for a check).
    pub(crate) fn parked_scope(&mut self) -> Option<&mut Scope> {
        self.deep.as_mut().map(|d| &mut d.scope).filter(|s| !s.parked.is_empty())
    }

    /// The call about to drive the set set its own polling (or not).
    pub(crate) fn set_explicit_polling(&mut self, explicit: bool) {
        if explicit {
            self.scope_mut().explicit_polling = true;
        } else if let Some(deep) = &mut self.deep {
            deep.scope.explicit_polling = false;
        }
    }
}

impl<L: Keys, F> Pending<L, F> {
    #[inline(always)]
    pub(crate) fn new(keys: L, children: impl IntoIterator<Item = F>) -> Self {
        // Everything that calls out of line comes first: the set is then
        // written from values straight where the caller puts it. Called
        // after the slab was made, `SharedRef::new` made a copy of it.
        let shared = SharedRef::new();
        Self::with_slab(keys, Slab::new(children), shared)
    }

    /// `len` children that `keys` hands over one at a time (a lazy input).
    pub(crate) fn lazy(keys: L, len: usize) -> Self {
        Self::with_slab(keys, Slab::lazy(len), SharedRef::new())
    }

    #[inline(always)]
    fn with_slab(keys: L, slab: Slab<F>, shared: SharedRef) -> Self {
        Self {
            live: slab.capacity(),
            slab,
            keys,
            once: IndexSet::default(),
            rescan_once: IndexSet::default(),
            parented: Vec::new(),
            sweep_due: false,
            limit: usize::MAX,
            deep: None,
            shared,
        }
    }

    /// The keys of the pending children, in key order (input order for
    /// `Vec`s, arrays and tuples; the map's order for maps).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let children = BTreeMap::from([("done", Box::pin(std::future::ready(1u8)) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>),
    ///                                ("slow", Box::pin(std::future::pending()))]);
    /// let w = concurry::wait(children).return_when(concurry::ReturnWhen::FirstCompleted).run().unwrap();
    /// assert_eq!(w.pending.keys().collect::<Vec<_>>(), ["slow"]);
    /// ```
    pub fn keys(&self) -> impl Iterator<Item = L::Key> + '_ {
        self.live_indices().map(|i| self.keys.key(i))
    }

    /// The positions of the pending children, in input order.
    pub(crate) fn live_indices(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.capacity()).filter(|&i| self.slab.is_live(i)).take_while(|&i| self.keys.try_key(i).is_some())
    }

    /// Drop every pending child now. Same as dropping the value.
    ///
    /// # Examples
    ///
    /// ```
    /// let children = vec![Box::pin(std::future::ready(1u8)) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>, Box::pin(std::future::pending())];
    /// let w = concurry::wait(children).return_when(concurry::ReturnWhen::FirstCompleted).run().unwrap();
    /// w.pending.cancel(); // the pending child is dropped here
    /// ```
    pub fn cancel(self) {}

    /// The pending children themselves, with their keys, in key order: for
    /// instance to `abort()` each `JoinHandle` (dropping a plain `JoinHandle`
    /// only detaches its task). Only `Unpin` children (task handles,
    /// channel receivers, `Pin<Box<..>>`) can be moved out of their slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{async_wait, ReturnWhen};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let tasks = vec![
    ///     tokio::spawn(async { 1 }),
    ///     tokio::spawn(async { tokio::time::sleep(Duration::from_secs(60)).await; 2 }),
    /// ];
    /// let w = async_wait(tasks).return_when(ReturnWhen::FirstCompleted).await.unwrap();
    /// for (key, task) in w.pending.into_children() {
    ///     assert_eq!(key, 1);
    ///     task.abort();
    ///     assert!(task.await.unwrap_err().is_cancelled());
    /// }
    /// # }
    /// ```
    pub fn into_children(mut self) -> Vec<(L::Key, F)>
    where
        F: Unpin,
        L: Feed<F>,
    {
        let children = self.slab.take_all(&mut self.keys);
        let keys = &self.keys;
        children.into_iter().map(|(i, f)| (keys.key(i), f)).collect()
    }

    /// At most `limit` children started and not finished at once, for the
    /// call about to drive the set.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// How many children the set held when it was made: the bound of indices.
    pub(crate) fn capacity(&self) -> usize {
        self.slab.capacity()
    }

    pub(crate) fn key(&self, index: usize) -> L::Key {
        self.keys.key(index)
    }

    pub(crate) fn into_keys(self) -> L {
        self.keys
    }
}

impl<L: Feed<F>, F: Future> Pending<L, F> {
    /// Polls the children that need it and hands each output to `on_child`,
    /// until every child finished, `on_child` breaks, or nothing is left to
    /// poll (`Pending`: a wake-up is registered, or the task was asked to
    /// yield and woken).
    pub(crate) fn poll_round(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Round> {
        let loan = probe::lend(self.scope());
        let polled = self.run(cx, on_child);
        loan.give_back(|| self.scope_mut());
        polled
    }

    /// One round. The children on the task's own waker (`parented`) are
    /// polled once per round, after the other work, so that left-over
    /// rescans go first; a round that ended before reaching them polls them
    /// first next time. Either way a child that spends the budget, or wakes
    /// itself, at every poll cannot starve the others.
    fn run(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Round> {
        let mut swept = self.parented.is_empty();
        if self.sweep_due && !swept {
            swept = true;
            self.sweep_due = false;
            match self.poll_parented(cx, on_child) {
                None => {}
                // The rest of the round's work goes first next time: so
                // rounds alternate, and hogs among the parented children
                // (rotated to the back as they spend the budget) cannot
                // starve the other lists either.
                Some(Round::Yielded) => return yield_turn(cx),
                Some(round) => return Poll::Ready(round),
            }
        }
        let polled = self.run_on(cx, on_child, &mut swept);
        self.sweep_due = (self.sweep_due || !swept) && !self.parented.is_empty();
        polled
    }

    fn run_on(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
        swept: &mut bool,
    ) -> Poll<Round> {
        // Polls since the last completion. More than there are children
        // means someone keeps waking itself without finishing: yield to the
        // executor rather than spin here. Tokio's budget, once spent, makes
        // task handles answer `Pending` for nothing: yield then too.
        let mut idle_polls = 0usize;
        let idle_limit = self.live.max(1);
        loop {
            // The first pass, in index order, in a loop of its own: no queue
            // to consult. Under a limit it stops when the limit is reached,
            // and goes on from here as children finish.
            if self.can_start() {
                if !tokio::task::coop::has_budget_remaining() {
                    return yield_turn(cx);
                }
                let mut room = self.limit - self.in_flight();
                // Fresh children are polled with the shared waker: one
                // context for all.
                let shared = waker_ref(&self.shared);
                let mut shared_cx = Context::from_waker(&shared);
                let missing_before = self.slab.missing();
                let (live, once) = (&mut self.live, &mut self.once);
                let unreached = self.slab.unreached();
                let mut reached = 0usize;
                let mut stop = None;
                let _ = self.slab.poll_fresh_run(&mut shared_cx, &mut self.keys, |index, polled, keys| {
                    match polled {
                        Poll::Ready(out) => {
                            *live -= 1;
                            if on_child(index, out, keys).is_break() {
                                stop = Some(Round::Stopped);
                                return ControlFlow::Break(());
                            }
                        }
                        Poll::Pending => {
                            // Sized once, if at all: the children still to
                            // reach, or the room the limit leaves.
                            once.push(index as u32, room.min(unreached));
                            room -= 1;
                            if room == 0 {
                                return ControlFlow::Break(());
                            }
                        }
                    }
                    // The budget is a thread-local: look every few children,
                    // so a run of ready ones pays for it rarely. A task handle
                    // reached after the budget ran out just answers `Pending`
                    // and is met again in a rescan.
                    reached += 1;
                    if reached % FRESH_BUDGET_STRIDE == 0 && !tokio::task::coop::has_budget_remaining() {
                        stop = Some(Round::Yielded);
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                });
                // An input that ended before its stated length has fewer
                // children than counted.
                self.live -= self.slab.missing() - missing_before;
                match stop {
                    Some(Round::Yielded) => return yield_turn(cx),
                    Some(round) => return Poll::Ready(round),
                    None => {}
                }
            }
            if self.live == 0 {
                return Poll::Ready(Round::Exhausted);
            }
            if !tokio::task::coop::has_budget_remaining() {
                return yield_turn(cx);
            }
            if idle_polls > idle_limit {
                // The liveness rule, case 2: the task is woken before it waits.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let next = match self.next_to_poll() {
                Some(next) => Some(next),
                None if !*swept || self.sweep_due => {
                    if self.sweep_due {
                        // Owed to a wake of the shared waker (see
                        // `next_to_poll`): counted as idle work, so that a
                        // child that wakes a kept waker at every poll makes
                        // the call yield rather than spin here.
                        self.sweep_due = false;
                        idle_polls += self.parented.len();
                    }
                    match self.poll_parented(cx, on_child) {
                        None => *swept = true,
                        Some(Round::Yielded) => return yield_turn(cx),
                        Some(round) => return Poll::Ready(round),
                    }
                    continue;
                }
                None => {
                    // Registered only now, so that a call that completes in
                    // its first poll never clones the task's waker; a wake
                    // that came before the registration raised a flag: look
                    // again.
                    self.shared.register(cx.waker());
                    match self.next_to_poll() {
                        // The wake was for a child on the task's waker.
                        None if self.sweep_due => continue,
                        next => next,
                    }
                }
            };
            let Some((index, source)) = next else {
                // The liveness rule, case 1 (module docs): registered, then
                // every list found empty, and the parented children swept.
                debug_assert!(*swept && !self.sweep_due, "Pending with the parented children owed a sweep");
                debug_assert!(self.rescan_once.is_empty(), "Pending with children left to rescan");
                debug_assert!(
                    self.shared.state.load(Ordering::Relaxed) & REGISTERED != 0,
                    "Pending before the task's waker was registered"
                );
                return Poll::Pending;
            };
            let polled = match &source {
                Source::Own(w) => {
                    w.queued.store(false, Ordering::Release);
                    self.slab.poll(index, &mut Context::from_waker(&waker_ref(w)))
                }
                Source::Once => {
                    let polled = if self.live <= SMALL_SET {
                        self.slab.poll_live(index, cx)
                    } else {
                        self.slab.poll_live(index, &mut Context::from_waker(&waker_ref(&self.shared)))
                    };
                    match polled {
                        Some(polled) => polled,
                        // Finished since it was listed: nothing to do.
                        None => continue,
                    }
                }
            };
            match polled {
                Poll::Ready(out) => {
                    idle_polls = 0;
                    self.live -= 1;
                    if let (Source::Own(_), Some(deep)) = (&source, &mut self.deep) {
                        deep.own[index] = None;
                    }
                    if on_child(index, out, &self.keys).is_break() {
                        return Poll::Ready(Round::Stopped);
                    }
                }
                Poll::Pending => {
                    idle_polls += 1;
                    if let Source::Once = source {
                        if self.live <= SMALL_SET {
                            // Polled with the task's waker just above.
                            self.parented.push(index as u32);
                        } else {
                            self.deep().twice.push(index as u32);
                        }
                    }
                }
            }
        }
    }

    /// Polls every child that waits on the task's own waker, as `join_all`
    /// does at each poll: they wake the task directly and re-register its
    /// current waker here. `Some` ends the round: `Stopped` when `on_child`
    /// breaks, `Yielded` when Tokio's budget ran out first (the next sweep
    /// then starts with the children this one did not reach).
    fn poll_parented(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Option<Round> {
        // Polled so far: `parented[..i]`; a finished child's place takes the
        // last one, not polled yet.
        let mut i = 0;
        while let Some(&index) = self.parented.get(i) {
            if !tokio::task::coop::has_budget_remaining() {
                self.parented.rotate_left(i);
                return Some(Round::Yielded);
            }
            match self.slab.poll_live(index as usize, cx) {
                Some(Poll::Pending) => i += 1,
                Some(Poll::Ready(out)) => {
                    self.parented.swap_remove(i);
                    self.live -= 1;
                    if on_child(index as usize, out, &self.keys).is_break() {
                        return Some(Round::Stopped);
                    }
                }
                None => {
                    self.parented.swap_remove(i);
                }
            }
        }
        None
    }

    // Inlined into the loop of `run`: returned through memory, its result
    // cost a store-forwarding stall per child.
    #[inline(always)]
    fn next_to_poll(&mut self) -> Option<(usize, Source)> {
        loop {
            if let Some(deep) = &mut self.deep {
                if let Some(i) = deep.rescan_twice.pop() {
                    if self.slab.is_live(i as usize) {
                        // Rescanned twice and still pending: it gets its own waker.
                        let waker = deep.own_waker(i, &self.shared, self.slab.capacity());
                        return Some((i as usize, Source::Own(waker)));
                    }
                    continue;
                }
            }
            if let Some(i) = self.rescan_once.pop() {
                // Whether it is still live, the poll itself tells.
                return Some((i as usize, Source::Once));
            }
            if let Some(deep) = &mut self.deep {
                if let Some(i) = deep.queue.pop() {
                    match deep.own.get(i as usize).and_then(Clone::clone) {
                        Some(w) => return Some((i as usize, Source::Own(w))),
                        None => continue,
                    }
                }
            }
            // The lists are empty here; swapping (not taking) hands their
            // buffers back, so steady wake-ups allocate nothing.
            let mut refilled = false;
            if self.shared.take_rescan() {
                // A child now on the task's waker may have kept the shared
                // waker it was first given, and woken that: sweep them too
                // (without this, such a child was never polled again).
                if !self.parented.is_empty() {
                    self.sweep_due = true;
                }
                self.once.take(&mut self.rescan_once);
                if let Some(deep) = &mut self.deep {
                    std::mem::swap(&mut deep.rescan_twice, &mut deep.twice);
                    deep.rescan_twice.reverse();
                    deep.queue_promoted();
                }
                refilled = true;
            }
            // Only own wakers raise `any_ready`, and only a set with a
            // `Deep` part has any.
            if self.deep.is_some() && self.shared.any_ready.swap(false, Ordering::AcqRel) {
                let queue = &mut self.deep.get_or_insert_with(Box::default).queue;
                let mut ready = self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
                // Popped from the back: in wake order, ahead of anything
                // `queue_promoted` put there.
                ready.reverse();
                if queue.is_empty() {
                    std::mem::swap(queue, &mut *ready);
                } else {
                    queue.append(&mut ready);
                }
                refilled = true;
            }
            if !refilled {
                return None;
            }
        }
    }
}

impl Deep {
    /// A wake of the shared waker can also come from a child that kept it
    /// after earning a waker of its own (it stored the first waker it was
    /// given, a pattern Tokio's tasks and `FuturesUnordered` tolerate). So
    /// such a wake queues every own-waker child too: a few wasted polls,
    /// never a lost wake-up. Children that replace their waker when polled
    /// (Tokio's timers, channels and task handles) never wake the shared
    /// waker once they have their own, so this costs them nothing.
    fn queue_promoted(&mut self) {
        let own = &self.own;
        self.promoted.retain(|&i| own.get(i as usize).is_some_and(Option::is_some));
        for &i in &self.promoted {
            if let Some(w) = &self.own[i as usize] {
                if !w.queued.swap(true, Ordering::AcqRel) {
                    self.queue.push(i);
                }
            }
        }
    }

    fn own_waker(&mut self, index: u32, shared: &Arc<Shared>, capacity: usize) -> Arc<OwnWaker> {
        if self.own.is_empty() {
            self.own.resize_with(capacity, || None);
        }
        let promoted = &mut self.promoted;
        self.own[index as usize]
            .get_or_insert_with(|| {
                promoted.push(index);
                Arc::new(OwnWaker { index, queued: AtomicBool::new(false), shared: shared.clone() })
            })
            .clone()
    }
}

impl<L: Keys, F> fmt::Debug for Pending<L, F>
where
    L::Key: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").field("keys", &self.keys().collect::<Vec<_>>()).finish()
    }
}
