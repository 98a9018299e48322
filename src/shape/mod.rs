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
mod map;
pub mod nested;
pub mod tuple;
mod vec;

use std::future::Future;

use crate::Pending;

pub use map::KeyList;

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
    type Key: Clone;
    /// The key of the child at `index`.
    fn key(&self, index: usize) -> Self::Key;
}

/// Keys of positional inputs: the index itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Indices;

impl Keys for Indices {
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an input concurry can wait on",
    label = "expected a Vec, array, tuple or map of futures, or a `Pending` set",
    note = "a single future goes in as `[fut]` or `(fut,)`; non-future handles through `concurry::probe`"
)]
pub trait IntoChildren: Sized {
    /// How the children are keyed.
    type Keys: Keys;
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
/// use concurry::shape::{Indices, Shape};
///
/// let out = <Vec<std::future::Ready<u8>> as Shape<u8>>::assemble(Indices, vec![Some(1), Some(2)]);
/// assert_eq!(out, [1, 2]);
/// ```
pub trait Shape<T>: IntoChildren {
    /// The shaped output.
    type Output;
    /// Builds the output from one slot per index, each filled (slots of
    /// children that were not part of this call are `None`).
    fn assemble(keys: Self::Keys, slots: Vec<Option<T>>) -> Self::Output;
}

// Every child completes exactly once before assembly (the engine's
// invariant), so an empty slot here is a bug in this crate, not bad input.
pub(crate) fn filled<T>(slot: Option<T>) -> T {
    slot.expect("concurry engine invariant: every child fills its slot once")
}

impl<L: Keys, F: Future> IntoChildren for Pending<L, F> {
    type Keys = L;
    type Future = F;
    fn into_pending(self) -> Self {
        self
    }
}

impl<L: Keys, F: Future, T> Shape<T> for Pending<L, F> {
    type Output = Vec<(L::Key, T)>;
    fn assemble(keys: L, slots: Vec<Option<T>>) -> Self::Output {
        slots.into_iter().enumerate().filter_map(|(i, slot)| slot.map(|t| (keys.key(i), t))).collect()
    }
}
