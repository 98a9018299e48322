//! Lazy inputs: an iterator of futures, read only as the call starts them.
//!
//! With [`.limit(n)`](crate::Gather::limit), `lazy(urls.iter().map(fetch))`
//! makes at most `n` futures at a time: the next one is made only when a
//! slot frees, so a million inputs at limit 100 hold about 100 futures, as
//! `stream::iter(..).buffer_unordered(100)` does. Without a limit every
//! child is made and started in the first pass, as for a `Vec`.
//!
//! - [`lazy`](crate::lazy()) keys children by position; a gather gives a
//!   `Vec` in input order.
//! - [`lazy_keyed`](crate::lazy_keyed()) takes `(key, future)` pairs; a
//!   gather gives a `Vec<(key, output)>` in input order.
//!
//! The call needs the number of children up front, for its counts, its
//! progress bar and its result: an iterator that knows its length exactly
//! (`size_hint`, as slices, ranges, `Vec`s and `map` over them do) is read
//! lazily; any other (after a `filter`, say) is collected first. An
//! iterator whose exact `size_hint` is wrong breaks `Iterator`'s contract;
//! the call then takes what it says: if it ends early, the call ends with
//! the children it gave (counts and progress follow); if it has more, the
//! call reads only the stated number.
//!
//! Asking a pending set of a `lazy_keyed` input for its
//! [`keys`](crate::Pending::keys) reads the rest of the iterator to learn
//! them (the futures so made wait, unstarted, for their turn).
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let urls: Vec<String> = (0..1000).map(|i| format!("https://example.com/{i}")).collect();
//! async fn fetch(url: &str) -> usize { url.len() }
//!
//! let sizes = concurry::async_gather(concurry::lazy(urls.iter().map(|u| fetch(u)))).limit(20).await.unwrap();
//! assert_eq!(sizes.len(), 1000);
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::{Mutex, PoisonError};

use super::{Feed, IntoChildren, Keys, Outputs, Shape};
use crate::Pending;

/// An iterator of futures as an input, keyed by position: see
/// [`lazy`](crate::lazy()).
///
/// # Examples
///
/// ```
/// let out = concurry::gather(concurry::lazy((1..=3).map(|i| async move { i * 2 }))).run().unwrap();
/// assert_eq!(out, [2, 4, 6]);
/// ```
pub struct Lazy<I> {
    iter: I,
}

/// An iterator of `(key, future)` pairs as an input: see
/// [`lazy_keyed`](crate::lazy_keyed()).
///
/// # Examples
///
/// ```
/// let pairs = ["a", "bb"].into_iter().map(|s| (s, async move { s.len() }));
/// let out = concurry::gather(concurry::lazy_keyed(pairs)).run().unwrap();
/// assert_eq!(out, [("a", 1), ("bb", 2)]);
/// ```
pub struct LazyKeyed<I> {
    iter: I,
}

/// A lazy input's iterator, and the keys read so far. What the engine keeps
/// as the input's keys: the children not started yet come from here.
///
/// # Examples
///
/// ```
/// use concurry::shape::IntoChildren;
/// let set = concurry::lazy((0..3).map(|i| async move { i })).into_pending();
/// assert_eq!(set.keys().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub struct LazyIndices<I> {
    iter: I,
}

/// A lazy keyed input's iterator, and the keys read so far: see
/// [`lazy_keyed`](crate::lazy_keyed()).
///
/// # Examples
///
/// ```
/// use concurry::shape::IntoChildren;
/// let set = concurry::lazy_keyed([("x", std::future::ready(1))]).into_pending();
/// assert_eq!(set.keys().collect::<Vec<_>>(), ["x"]);
/// ```
pub struct LazyKeys<I: Iterator<Item = (K, F)>, K, F> {
    // Keys can be asked for before their child is started (the keys of a
    // pending set handed back by a timeout): the pairs read ahead for that
    // wait in `ahead`. A mutex, as `Keys::key` takes `&self`; the engine's
    // own reads go through `get_mut`, with no lock.
    read: Mutex<ReadAhead<I, K, F>>,
}

struct ReadAhead<I, K, F> {
    iter: I,
    keys: Vec<K>,
    ahead: std::collections::VecDeque<F>,
}

impl<I, K, F> ReadAhead<I, K, F>
where
    I: Iterator<Item = (K, F)>,
{
    fn read_to(&mut self, index: usize) -> bool {
        while self.keys.len() <= index {
            let Some((key, fut)) = self.iter.next() else { return false };
            self.keys.push(key);
            self.ahead.push_back(fut);
        }
        true
    }
}

impl<I> fmt::Debug for Lazy<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lazy").finish_non_exhaustive()
    }
}

impl<I> fmt::Debug for LazyKeyed<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyKeyed").finish_non_exhaustive()
    }
}

impl<I> fmt::Debug for LazyIndices<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyIndices").finish_non_exhaustive()
    }
}

impl<I: Iterator<Item = (K, F)>, K, F> fmt::Debug for LazyKeys<I, K, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyKeys").finish_non_exhaustive()
    }
}

/// An iterator of futures as an input, read only as the call starts its
/// children: with [`.limit(n)`](crate::Gather::limit), at most `n` futures
/// exist at a time. Keyed by position. See the [module docs](self).
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use futures::StreamExt;
/// let mut done = 0;
/// let mut stream = concurry::async_gather(concurry::lazy((0..10_000u64).map(|i| async move { i }))).limit(100).stream();
/// while let Some(item) = stream.next().await {
///     let (_position, _value) = item.unwrap();
///     done += 1;
/// }
/// assert_eq!(done, 10_000);
/// # }
/// ```
pub fn lazy<I>(children: I) -> Lazy<I::IntoIter>
where
    I: IntoIterator<Item: Future>,
{
    Lazy { iter: children.into_iter() }
}

/// An iterator of `(key, future)` pairs as an input, read only as the call
/// starts its children. See the [module docs](self).
///
/// # Examples
///
/// ```
/// let urls = ["a.example", "b.example", "c.example"];
/// let pairs = urls.iter().map(|&u| (u, async move { u.len() }));
/// let out = concurry::gather(concurry::lazy_keyed(pairs)).limit(2).run().unwrap();
/// assert_eq!(out[1], ("b.example", 9));
/// ```
pub fn lazy_keyed<I, K, F>(pairs: I) -> LazyKeyed<I::IntoIter>
where
    I: IntoIterator<Item = (K, F)>,
    F: Future,
{
    LazyKeyed { iter: pairs.into_iter() }
}

/// The number of children and where they come from: the iterator itself,
/// read lazily, if it knows its exact length; else its items, collected.
fn counted<I: Iterator>(iter: I) -> (usize, LazyChildren<I>) {
    match iter.size_hint() {
        (lower, Some(upper)) if lower == upper => (lower, LazyChildren::Lazy(iter)),
        _ => {
            let all: Vec<_> = iter.collect();
            (all.len(), LazyChildren::Collected(all.into_iter()))
        }
    }
}

impl<I: Iterator> Keys for LazyIndices<I> {
    const POSITIONAL: bool = true;
    type Key = usize;
    fn key(&self, index: usize) -> usize {
        index
    }
}

impl<I: Iterator<Item = F>, F> Feed<F> for LazyIndices<I> {
    fn next_child(&mut self) -> Option<F> {
        self.iter.next()
    }
}

impl<I: Iterator<Item = (K, F)>, K: Clone + std::fmt::Debug, F> Keys for LazyKeys<I, K, F> {
    type Key = K;
    /// # Panics
    ///
    /// For an index past the iterator's end (never asked by the engine,
    /// which asks for the keys of children it has).
    fn key(&self, index: usize) -> K {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(read.read_to(index), "concurry invariant: a key is asked for only for a child the input has");
        read.keys[index].clone()
    }

    fn try_key(&self, index: usize) -> Option<K> {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        read.read_to(index).then(|| read.keys[index].clone())
    }
}

impl<I: Iterator<Item = (K, F)>, K, F> Feed<F> for LazyKeys<I, K, F> {
    fn next_child(&mut self) -> Option<F> {
        let read = self.read.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(fut) = read.ahead.pop_front() {
            return Some(fut);
        }
        let (key, fut) = read.iter.next()?;
        read.keys.push(key);
        Some(fut)
    }
}

/// Either the input's own iterator, read lazily, or (for an iterator that
/// does not know its length) its children collected first.
pub enum LazyChildren<I: Iterator> {
    /// Read as the call starts its children.
    Lazy(I),
    /// Collected up front.
    Collected(std::vec::IntoIter<I::Item>),
}

impl<I: Iterator> fmt::Debug for LazyChildren<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyChildren").finish_non_exhaustive()
    }
}

impl<I: Iterator> Iterator for LazyChildren<I> {
    type Item = I::Item;
    #[inline]
    fn next(&mut self) -> Option<I::Item> {
        match self {
            Self::Lazy(iter) => iter.next(),
            Self::Collected(iter) => iter.next(),
        }
    }
}

impl<I: Iterator<Item: Future>> IntoChildren for Lazy<I> {
    type Keys = LazyIndices<LazyChildren<I>>;
    type Future = I::Item;
    #[inline]
    fn into_pending(self) -> Pending<Self::Keys, I::Item> {
        let (len, iter) = counted(self.iter);
        Pending::lazy(LazyIndices { iter }, len)
    }
}

impl<I: Iterator<Item: Future>, T> Shape<T> for Lazy<I> {
    type Output = Vec<T>;
    fn assemble(_: Self::Keys, outputs: Outputs<T>) -> Vec<T> {
        // Not `into_vec`: an iterator that ended before its stated length
        // leaves trailing slots empty.
        outputs.into_indexed().map(|(_, out)| out).collect()
    }
}

impl<I, K, F> IntoChildren for LazyKeyed<I>
where
    I: Iterator<Item = (K, F)>,
    K: Clone + std::fmt::Debug,
    F: Future,
{
    type Keys = LazyKeys<LazyChildren<I>, K, F>;
    type Future = F;
    #[inline]
    fn into_pending(self) -> Pending<Self::Keys, F> {
        let (len, iter) = counted(self.iter);
        let read = ReadAhead { iter, keys: Vec::with_capacity(len.min(1 << 16)), ahead: Default::default() };
        Pending::lazy(LazyKeys { read: Mutex::new(read) }, len)
    }
}

impl<I, K, F, T> Shape<T> for LazyKeyed<I>
where
    I: Iterator<Item = (K, F)>,
    K: Clone + std::fmt::Debug,
    F: Future,
{
    type Output = Vec<(K, T)>;
    fn assemble(keys: Self::Keys, outputs: Outputs<T>) -> Vec<(K, T)> {
        let mut keys = keys
            .read
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .keys
            .into_iter()
            .map(Some)
            .collect::<Vec<_>>();
        outputs.into_indexed().filter_map(|(i, out)| Some((keys.get_mut(i)?.take()?, out))).collect()
    }
}
