//! Input shapes: how keys and outputs keep the shape of what came in.
//!
//! [`IntoChildren`] turns an input into the engine's [`Pending`] set (the
//! children, indexed `0..n`, and their [`Keys`]); [`Shape`] puts the outputs
//! back into the input's shape. Each shape is a few lines of glue in its own
//! file; none of them polls anything.
//!
//! | input | key | `gather` output |
//! |---|---|---|
//! | `Vec<F>` | `usize` | `Vec<T>` |
//! | `[F; N]` | `usize` | `[T; N]` |
//! | `(F1, .., Fn)`, n <= 12 | `usize` | `(T1, .., Tn)` |
//! | `HashMap<K, F>`, `BTreeMap<K, F>`, `IndexMap<K, F>` | `K` | the same map type |
//! | [`Pending`] (from `wait`) | its keys | `Vec<(key, T)>` |
//! | [`nested`](nested::nested)`(..)`: `Vec`s and maps of `Vec`s and maps | [`Path`](nested::Path) | the same nested shape |

mod array;
pub mod lazy;
mod map;
pub mod nested;
pub mod tuple;
mod vec;

use std::future::Future;

use crate::Pending;

pub use map::KeyList;
pub use tuple::Slots;

/// The keys of a call's children, by index.
///
/// # Examples
///
/// ```
/// use concurry::shape::{Indices, Keys};
/// assert_eq!(Indices.key(3), 3);
/// ```
pub trait Keys {
    /// The key type: `usize` for positional inputs, the map's key for maps.
    /// Its `Debug` form names the child in messages (a string key without
    /// its quotes: `orders failed`).
    type Key: Clone + std::fmt::Debug;
    /// The key of the child at `index`.
    fn key(&self, index: usize) -> Self::Key;

    /// The key of the child at `index`, if the input has that child (a lazy
    /// input whose iterator ended before its stated length has fewer).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::shape::{Indices, Keys};
    /// assert_eq!(Indices.try_key(3), Some(3));
    /// ```
    fn try_key(&self, index: usize) -> Option<Self::Key> {
        Some(self.key(index))
    }

    /// Whether the keys are the children's positions (a `Vec`, an array, a
    /// tuple, a lazy input), which `.names(..)` may name; a map's keys name
    /// its children already.
    const POSITIONAL: bool = false;
}

/// Where children not handed over yet come from, for a lazy input
/// ([`lazy`](crate::lazy())): its iterator, read one child at a time as the
/// call starts them. Inputs that hold their children up front have none.
///
/// # Examples
///
/// ```
/// use concurry::shape::{Feed, Indices};
/// assert!(Feed::<std::future::Ready<u8>>::next_child(&mut Indices).is_none());
/// ```
pub trait Feed<F> {
    /// The next child, in input order, or `None` when there are no more.
    fn next_child(&mut self) -> Option<F> {
        None
    }
}

impl<F> Feed<F> for Indices {}

/// Keys of positional inputs: the index itself.
///
/// # Examples
///
/// ```
/// use concurry::shape::{Indices, Keys};
/// assert_eq!(Indices.key(2), 2);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Indices;

impl Keys for Indices {
    const POSITIONAL: bool = true;
    type Key = usize;
    fn key(&self, index: usize) -> usize {
        index
    }
}

/// An input the entry points accept: it becomes the engine's children.
///
/// # Examples
///
/// ```
/// use concurry::shape::IntoChildren;
///
/// let set = vec![std::future::ready(1), std::future::ready(2)].into_pending();
/// assert_eq!(set.len(), 2);
/// ```
///
/// An iterator is not an input: collect it first. The compiler says so.
///
/// ```compile_fail
/// let children = (0..3).map(|i| async move { i });
/// let out = concurry::gather(children).run(); // note: collect it first: `.collect::<Vec<_>>()`
/// ```
///
/// A `std::thread::JoinHandle` is not a future: wrap it in
/// `concurry::probe::thread`. The compiler says so.
///
/// ```compile_fail
/// let handles = vec![std::thread::spawn(|| 1)];
/// let out = concurry::gather(handles).run(); // note: wrap each in `concurry::probe::thread(handle)`
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an input concurry can wait on",
    label = "expected a Vec, array, tuple or map of futures, or a `Pending` set",
    note = "an iterator of futures (such as `.map(..)`): collect it first, with `.collect::<Vec<_>>()`",
    note = "a `std::thread::JoinHandle` or a `std::process::Child`: wrap each in `concurry::probe::thread(handle)` \
            or `concurry::probe::process(child)`",
    note = "a single future goes in as `[fut]` or `(fut,)`"
)]
pub trait IntoChildren: Sized {
    /// How the children are keyed (and, for a lazy input, where the
    /// children not started yet come from).
    type Keys: Keys + Feed<Self::Future>;
    /// The children's future type.
    type Future: Future;
    /// The children, indexed in input order, with their keys.
    fn into_pending(self) -> Pending<Self::Keys, Self::Future>;
}

/// Puts outputs of type `T` back into the input's shape.
///
/// # Examples
///
/// ```
/// use concurry::shape::{Indices, Outputs, Shape};
///
/// let mut outputs = Outputs::new(2);
/// outputs.put(1, 'b');
/// outputs.put(0, 'a');
/// let out = <Vec<std::future::Ready<char>> as Shape<char>>::assemble(Indices, outputs);
/// assert_eq!(out, ['a', 'b']);
/// ```
pub trait Shape<T>: IntoChildren {
    /// The shaped output.
    type Output;
    /// Builds the output from the children's outputs.
    fn assemble(keys: Self::Keys, outputs: Outputs<T>) -> Self::Output;
}

/// The outputs of a call's children, by index, as they complete.
///
/// Outputs that arrive in index order (ready values, tasks already
/// finished) go straight into the `Vec` that a `Vec` input returns, with no
/// second pass; the first output out of order moves them into slots.
///
/// # Examples
///
/// ```
/// use concurry::shape::Outputs;
/// let mut outputs = Outputs::new(3);
/// outputs.put(0, 'a');
/// outputs.put(2, 'c');
/// outputs.put(1, 'b');
/// assert_eq!(outputs.into_vec(), ['a', 'b', 'c']);
/// ```
#[derive(Debug)]
pub struct Outputs<T> {
    in_order: Vec<T>,
    slots: Option<Vec<Option<T>>>,
    capacity: usize,
}

impl<T> Outputs<T> {
    /// Room for the outputs of `capacity` children.
    ///
    /// # Examples
    ///
    /// ```
    /// let outputs: concurry::shape::Outputs<u8> = concurry::shape::Outputs::new(4);
    /// assert_eq!(outputs.into_indexed().count(), 0);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Self::expecting(capacity, capacity)
    }

    /// Room for `expected` outputs among indices below `capacity` (a set
    /// handed back by `wait` keeps its original indices).
    pub(crate) fn expecting(capacity: usize, expected: usize) -> Self {
        Self { in_order: Vec::with_capacity(expected), slots: None, capacity }
    }

    /// Stores the output of child `index`.
    ///
    /// # Panics
    ///
    /// If `index` is not below the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut outputs = concurry::shape::Outputs::new(2);
    /// outputs.put(1, "second");
    /// assert_eq!(outputs.into_indexed().collect::<Vec<_>>(), [(1, "second")]);
    /// ```
    #[inline]
    pub fn put(&mut self, index: usize, output: T) {
        // The common case, kept small enough to inline into the poll loop.
        if self.slots.is_none() && index == self.in_order.len() {
            self.in_order.push(output);
        } else {
            self.put_out_of_order(index, output);
        }
    }

    #[cold]
    #[inline(never)]
    fn put_out_of_order(&mut self, index: usize, output: T) {
        let capacity = self.capacity;
        let in_order = &mut self.in_order;
        let slots = self.slots.get_or_insert_with(|| {
            let mut slots: Vec<Option<T>> = Vec::with_capacity(capacity);
            slots.extend(std::mem::take(in_order).into_iter().map(Some));
            slots.resize_with(capacity, || None);
            slots
        });
        slots[index] = Some(output);
    }

    /// Every output in index order.
    ///
    /// # Panics
    ///
    /// If a child's output is missing: every child completes exactly once
    /// before a shape is assembled, so that would be a bug in this crate.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut outputs = concurry::shape::Outputs::new(2);
    /// outputs.put(0, 1);
    /// outputs.put(1, 2);
    /// assert_eq!(outputs.into_vec(), [1, 2]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        match self.slots {
            None => {
                assert_eq!(self.in_order.len(), self.capacity, "concurry invariant: every child has an output");
                self.in_order
            }
            Some(slots) => {
                slots.into_iter().map(|s| s.expect("concurry invariant: every child has an output")).collect()
            }
        }
    }

    /// The outputs present, with their indices, in index order.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut outputs = concurry::shape::Outputs::new(5);
    /// outputs.put(3, 'x');
    /// assert_eq!(outputs.into_indexed().collect::<Vec<_>>(), [(3, 'x')]);
    /// ```
    pub fn into_indexed(self) -> impl Iterator<Item = (usize, T)> {
        let (in_order, slots) = match self.slots {
            None => (self.in_order, Vec::new()),
            Some(slots) => (Vec::new(), slots),
        };
        in_order.into_iter().enumerate().chain(slots.into_iter().enumerate().filter_map(|(i, s)| s.map(|t| (i, t))))
    }
}

impl<L: Keys + Feed<F>, F: Future> IntoChildren for Pending<L, F> {
    type Keys = L;
    type Future = F;
    fn into_pending(self) -> Self {
        self
    }
}

impl<L: Keys + Feed<F>, F: Future, T> Shape<T> for Pending<L, F> {
    type Output = Vec<(L::Key, T)>;
    fn assemble(keys: L, outputs: Outputs<T>) -> Self::Output {
        outputs.into_indexed().map(|(i, t)| (keys.key(i), t)).collect()
    }
}
