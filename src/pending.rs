//! The children of one call, and what `wait` hands back as still pending.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_buffered::FuturesUnorderedBounded;
use pin_project::pin_project;

use crate::probe::{self, Scope};
use crate::shape::Keys;

/// A child and its index: what the slab holds, so a completion names its slot.
#[pin_project]
pub(crate) struct Indexed<F> {
    index: usize,
    #[pin]
    fut: F,
}

impl<F: Future> Future for Indexed<F> {
    type Output = (usize, F::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let index = *this.index;
        this.fut.poll(cx).map(|out| (index, out))
    }
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
/// use concurry::{async_wait, async_gather, ReturnWhen};
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
/// let rest = async_gather(first.pending).await.unwrap();
/// assert_eq!(rest, [(1, 2)]);
/// # }
/// ```
pub struct Pending<L, F> {
    set: FuturesUnorderedBounded<Indexed<F>>,
    keys: L,
    // One bit per original index: still pending?
    live: Vec<u64>,
    // Probes parked for the next check. They stay with the children, so a
    // set handed back by `wait` and waited on again still checks them.
    pub(crate) scope: Scope,
}

// The slab pins its children on the heap; nothing else here is pinned.
impl<L, F> Unpin for Pending<L, F> {}

impl<L: Keys, F> Pending<L, F> {
    pub(crate) fn new(keys: L, children: impl IntoIterator<Item = F>) -> Self {
        let set: FuturesUnorderedBounded<_> =
            children.into_iter().enumerate().map(|(index, fut)| Indexed { index, fut }).collect();
        let n = set.capacity();
        let mut live = vec![u64::MAX; n.div_ceil(64)];
        if n % 64 != 0 {
            if let Some(last) = live.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        Self { set, keys, live, scope: Scope { check: probe::next_check(), parked: Vec::new() } }
    }

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
        self.set.len()
    }

    /// `true` when no child is pending.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// The keys of the pending children, in key order (input order for
    /// `Vec`s, arrays and tuples; the map's order for maps).
    pub fn keys(&self) -> impl Iterator<Item = L::Key> + '_ {
        (0..self.capacity()).filter(|&i| self.is_live(i)).map(|i| self.keys.key(i))
    }

    /// Drop every pending child now. Same as dropping the value.
    pub fn cancel(self) {}

    /// How many children the set held when it was made: the bound of indices.
    pub(crate) fn capacity(&self) -> usize {
        self.set.capacity()
    }

    pub(crate) fn key(&self, index: usize) -> L::Key {
        self.keys.key(index)
    }

    pub(crate) fn into_keys(self) -> L {
        self.keys
    }

    fn is_live(&self, i: usize) -> bool {
        self.live[i / 64] & (1 << (i % 64)) != 0
    }
}

impl<L, F: Future> Pending<L, F> {
    /// The next completed child, polling only children that woke.
    pub(crate) fn poll_next_child(&mut self, cx: &mut Context<'_>) -> Poll<Option<(usize, F::Output)>> {
        use futures::Stream;
        let set = &mut self.set;
        let polled = probe::within(&mut self.scope, || Pin::new(set).poll_next(cx));
        if let Poll::Ready(Some((i, _))) = &polled {
            self.live[i / 64] &= !(1 << (i % 64));
        }
        polled
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
