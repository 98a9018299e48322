//! The children of one call and their scheduling: what `wait` hands back as
//! still pending.
//!
//! The set is three parts, one file each: this one, the public [`Pending`]
//! (the children in their slab, their keys, and what users do with a set);
//! `schedule`, the loop that polls them (which child next, and when a round
//! may return `Pending`: its liveness rule is written there); `wakers`, the
//! waker each child is polled with, which names it, so that a wake polls the
//! child that woke and no other.
//!
//! Every child index `0..capacity` is in exactly one of these states, and
//! moves only forward:
//!
//! 1. fresh (not reached by the slab yet): never polled;
//! 2. waiting: polled and pending; polled again only after its waker woke
//!    (its bit set in the bitmap, then taken into `Lists`, from then until
//!    that poll);
//! 3. finished: the slab dropped it and holds no slot for it (a slot it
//!    freed may hold a later child); it is never polled again.
//!
//! What a small call costs: a child that is ready at once, or that wakes
//! itself during its poll without keeping its waker, is polled with the
//! set's spare waker and allocates nothing; the task's waker is registered
//! only when the call is about to wait; the shared state and the spare come
//! from a per-thread pool when no clone of an earlier call's wakers is left
//! anywhere; the children to poll again are bits (`Shared::woke`, taken
//! into `Lists::low` for the first 64). So a gather of up to 64 futures,
//! ready or waking themselves, allocates its slots and its outputs, nothing
//! else.

mod schedule;
mod wakers;

pub(crate) use schedule::Round;

use std::fmt;

use crate::probe::Scope;

use crate::shape::{Feed, Keys};
use crate::slab::Slab;
use schedule::{Deep, Lists};
use wakers::Wakers;

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
    /// The children, pinned in blocks of slots; reached (first polled) in
    /// index order.
    slab: Slab<F>,
    /// The keys, by index (and, for a lazy input, the children not yet
    /// handed over).
    keys: L,
    /// Children not finished, reached or not.
    live: usize,
    /// The children to poll again: they woke, and their bits were taken.
    lists: Lists,
    /// At most this many children started and not finished: the call's
    /// `.limit(n)`, set for each call.
    limit: usize,
    /// A round is in progress: still `true` after a round that a child's
    /// panic unwound.
    in_round: bool,
    /// Made when a probe first parks: most sets never need it, and the set
    /// stays small (it is moved a few times per call).
    deep: Option<Box<Deep>>,
    /// Last: dropped after every child that may hold a clone of a waker, so
    /// that the wakers can go back to this thread's pool.
    wakers: Wakers,
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

    /// The scope, if some probe is parked in it (waiting for a check).
    pub(crate) fn parked_scope(&mut self) -> Option<&mut Scope> {
        self.deep.as_mut().map(|d| &mut d.scope).filter(|s| !s.parked.is_empty())
    }

    /// Keeps the names the call gave its children, for the calls that wait
    /// on this set later.
    pub(crate) fn keep_names(&mut self, names: &[std::borrow::Cow<'static, str>]) {
        self.deep.get_or_insert_with(Box::default).names = Some(names.into());
    }

    /// The name the call the set came from gave child `index`, if it named
    /// its children.
    pub(crate) fn given_name(&self, index: usize) -> Option<&str> {
        self.deep.as_ref()?.names.as_ref()?.get(index).map(|name| &**name)
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

/// Iterators whose length is the number of items they yield, by std's own
/// code (a `Vec`'s and an array's): the wakers' bitmap is sized from it
/// before the slab is made, and a child past its end could not be woken.
pub(crate) trait Exact: ExactSizeIterator {}
impl<F> Exact for std::vec::IntoIter<F> {}
impl<F, const N: usize> Exact for std::array::IntoIter<F, N> {}

impl<L: Keys, F> Pending<L, F> {
    #[inline(always)]
    pub(crate) fn new(keys: L, children: impl IntoIterator<Item = F, IntoIter: Exact>) -> Self {
        // Everything that calls out of line comes first: the set is then
        // written from values straight where the caller puts it (made after
        // the slab, the wakers cost a copy of it). The bitmap is sized from
        // the exact length (see `Exact`).
        let children = children.into_iter();
        let wakers = Wakers::new(children.len());
        Self::with_slab(keys, Slab::new(children), wakers)
    }

    /// `len` children that `keys` hands over one at a time (a lazy input).
    pub(crate) fn lazy(keys: L, len: usize) -> Self {
        Self::with_slab(keys, Slab::lazy(len), Wakers::new(len))
    }

    #[inline(always)]
    fn with_slab(keys: L, slab: Slab<F>, wakers: Wakers) -> Self {
        debug_assert!(wakers.fits(slab.capacity()), "a bit for every child");
        Self {
            live: slab.capacity(),
            slab,
            keys,
            lists: Lists::default(),
            limit: usize::MAX,
            in_round: false,
            deep: None,
            wakers,
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

    /// The names of the pending children, in key order, as messages name
    /// them: the names `.names(..)` gave the call the set came from, else
    /// the keys (a map's key without its quotes, a path, a position).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{future::{pending, ready}, pin::Pin};
    /// use concurry::async_gather;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let calls: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> = vec![Box::pin(ready(1)), Box::pin(pending()), Box::pin(pending())];
    /// let partial = async_gather(calls).names(["user", "orders", "prices"]).timeout(std::time::Duration::ZERO).keep_partial().await.unwrap();
    /// let waited = partial.into_interrupted().unwrap().1;
    /// assert_eq!(waited.pending.names().collect::<Vec<_>>(), ["orders", "prices"]);
    /// # }
    /// ```
    pub fn names(&self) -> impl Iterator<Item = String> + '_ {
        self.live_indices().map(|i| self.name(i).0)
    }

    /// Child `index`'s name (see [`names`](Self::names)), and whether it is
    /// a word of the user's rather than a position.
    pub(crate) fn name(&self, index: usize) -> (String, bool) {
        match self.given_name(index) {
            Some(given) => (given.to_owned(), true),
            None => crate::error::child_name(&self.key(index)),
        }
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
