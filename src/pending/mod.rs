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

mod schedule;
mod wakers;

pub(crate) use schedule::Round;

use std::fmt;

use crate::index_set::IndexSet;
use crate::probe::Scope;

use crate::shape::{Feed, Keys};
use crate::slab::Slab;
use schedule::Deep;
use wakers::SharedRef;

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

impl<L: Keys, F> fmt::Debug for Pending<L, F>
where
    L::Key: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pending").field("keys", &self.keys().collect::<Vec<_>>()).finish()
    }
}
