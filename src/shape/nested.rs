//! Nested inputs (the spec's `recurse=True`): `Vec`s and maps of `Vec`s and
//! maps, to any depth, gathered into the same shape.
//!
//! Wrap the input in [`nested`]. Each leaf future's key is its [`Path`]: one
//! [`Segment`] per level, an index for a `Vec`, the key (as text) for a map.
//! A flat `Vec` or map works too (the Python original silently ignores
//! `recurse` there).
//!
//! # Examples
//!
//! ```
//! use std::collections::BTreeMap;
//! use concurry::{async_gather, nested};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let ready = std::future::ready;
//! let input = vec![
//!     BTreeMap::from([("a", vec![ready(1), ready(2)]), ("b", vec![ready(3)])]),
//!     BTreeMap::from([("c", vec![])]),
//! ];
//! let out = async_gather(nested(input)).await.unwrap();
//! assert_eq!(out[0]["a"], [1, 2]);
//! assert_eq!(out[0]["b"], [3]);
//! assert!(out[1]["c"].is_empty());
//! # }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;

#[cfg(feature = "indexmap")]
use indexmap::IndexMap;

use super::{IntoChildren, Keys, Outputs, Shape};
use crate::Pending;

/// One level of a [`Path`].
///
/// # Examples
///
/// ```
/// use concurry::shape::nested::Segment;
/// assert_eq!(Segment::Index(3).to_string(), "3");
/// assert_eq!(Segment::Key("users".into()).to_string(), "users");
/// // `Debug` quotes keys, as a path in a message reads best:
/// assert_eq!(format!("{:?}", Segment::Key("users".into())), r#""users""#);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A position in a `Vec`.
    Index(usize),
    /// A map key, as its `Display` text.
    Key(String),
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "{i}"),
            Self::Key(k) => write!(f, "{k:?}"),
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Index(i) => write!(f, "{i}"),
            Self::Key(k) => f.write_str(k),
        }
    }
}

/// Where a leaf sits in a nested input, outermost level first. Displays as
/// the segments joined by `/`; `Debug` (which error messages use) quotes
/// the map keys: `"users"/3`.
///
/// # Examples
///
/// ```
/// use concurry::shape::nested::{Path, Segment};
///
/// let path = Path::from(vec![Segment::Index(0), Segment::Key("users".into())]);
/// assert_eq!(path.to_string(), "0/users");
/// assert_eq!(format!("{path:?}"), r#"0/"users""#);
/// assert_eq!(path.segments().len(), 2);
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Path(Vec<Segment>);

impl Path {
    /// The segments, outermost first.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::shape::nested::Segment;
    /// let ready = std::future::ready;
    /// let items: Vec<_> = concurry::gather(concurry::nested(vec![vec![ready(1)]])).iter().map(Result::unwrap).collect();
    /// assert_eq!(items[0].0.segments(), [Segment::Index(0), Segment::Index(0)]);
    /// ```
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }
}

impl From<Vec<Segment>> for Path {
    fn from(segments: Vec<Segment>) -> Self {
        Self(segments)
    }
}

impl Path {
    fn join(
        &self,
        f: &mut fmt::Formatter<'_>,
        segment: fn(&Segment, &mut fmt::Formatter<'_>) -> fmt::Result,
    ) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            segment(s, f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.join(f, <Segment as fmt::Display>::fmt)
    }
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.join(f, <Segment as fmt::Debug>::fmt)
    }
}

/// Marks a leaf in [`Tree`]'s depth parameter.
///
/// # Examples
///
/// ```
/// // The depth is inferred: a future is a leaf, a Vec or map of trees a branch.
/// let ready = std::future::ready;
/// let out = concurry::gather(concurry::nested(vec![vec![vec![ready(1)]]])).run().unwrap();
/// assert_eq!(out, [[[1]]]);
/// ```
#[derive(Debug)]
pub struct Leaf;
/// Marks a level holding trees of depth `D`.
///
/// # Examples
///
/// ```
/// // The depth is inferred: a future is a leaf, a Vec or map of trees a branch.
/// let ready = std::future::ready;
/// let out = concurry::gather(concurry::nested(vec![vec![vec![ready(1)]]])).run().unwrap();
/// assert_eq!(out, [[[1]]]);
/// ```
#[derive(Debug)]
pub struct Branch<D>(PhantomData<D>);

/// A nested input of depth `D` (inferred; a future is a leaf, a `Vec` or map
/// of trees a branch).
///
/// # Examples
///
/// ```
/// // The depth is inferred: a future is a leaf, a Vec or map of trees a branch.
/// let ready = std::future::ready;
/// let out = concurry::gather(concurry::nested(vec![vec![vec![ready(1)]]])).run().unwrap();
/// assert_eq!(out, [[[1]]]);
/// ```
pub trait Tree<D>: Sized {
    /// The leaf future type.
    type Leaf: Future;
    /// What remains of the shape once the leaves are taken out.
    type Layout;
    /// The same shape with leaves of type `T`.
    type Output<T>;
    /// Takes the leaves out, in order, with their paths.
    fn flatten(self, path: &mut Vec<Segment>, leaves: &mut Vec<(Path, Self::Leaf)>) -> Self::Layout;
    /// Puts outputs, in the same order, back into the shape.
    fn rebuild<T>(layout: Self::Layout, outputs: &mut dyn Iterator<Item = T>) -> Self::Output<T>;
}

impl<F: Future> Tree<Leaf> for F {
    type Leaf = F;
    type Layout = ();
    type Output<T> = T;

    fn flatten(self, path: &mut Vec<Segment>, leaves: &mut Vec<(Path, F)>) {
        leaves.push((Path(path.clone()), self));
    }

    fn rebuild<T>((): (), outputs: &mut dyn Iterator<Item = T>) -> T {
        outputs.next().expect("concurry invariant: every leaf has an output")
    }
}

impl<D, C: Tree<D>> Tree<Branch<D>> for Vec<C> {
    type Leaf = C::Leaf;
    type Layout = Vec<C::Layout>;
    type Output<T> = Vec<C::Output<T>>;

    fn flatten(self, path: &mut Vec<Segment>, leaves: &mut Vec<(Path, C::Leaf)>) -> Self::Layout {
        self.into_iter()
            .enumerate()
            .map(|(i, child)| {
                path.push(Segment::Index(i));
                let layout = child.flatten(path, leaves);
                path.pop();
                layout
            })
            .collect()
    }

    fn rebuild<T>(layout: Self::Layout, outputs: &mut dyn Iterator<Item = T>) -> Self::Output<T> {
        layout.into_iter().map(|l| C::rebuild(l, outputs)).collect()
    }
}

macro_rules! map_tree {
    ($map:ident [$($bound:tt)*] $(, $s:ident)?) => {
        impl<D, K: fmt::Display + $($bound)*, C: Tree<D> $(, $s: BuildHasher + Default)?> Tree<Branch<D>>
            for $map<K, C $(, $s)?>
        {
            type Leaf = C::Leaf;
            type Layout = Vec<(K, C::Layout)>;
            type Output<T> = $map<K, C::Output<T> $(, $s)?>;

            fn flatten(self, path: &mut Vec<Segment>, leaves: &mut Vec<(Path, C::Leaf)>) -> Self::Layout {
                self.into_iter()
                    .map(|(k, child)| {
                        path.push(Segment::Key(k.to_string()));
                        let layout = child.flatten(path, leaves);
                        path.pop();
                        (k, layout)
                    })
                    .collect()
            }

            fn rebuild<T>(layout: Self::Layout, outputs: &mut dyn Iterator<Item = T>) -> Self::Output<T> {
                layout.into_iter().map(|(k, l)| (k, C::rebuild(l, outputs))).collect()
            }
        }
    };
}

map_tree!(HashMap[Eq + Hash], S);
map_tree!(BTreeMap[Ord]);
#[cfg(feature = "indexmap")]
map_tree!(IndexMap[Eq + Hash], S);

/// A nested input to gather or wait on as one: see [`nested`].
///
/// # Examples
///
/// ```
/// // The depth is inferred: a future is a leaf, a Vec or map of trees a branch.
/// let ready = std::future::ready;
/// let out = concurry::gather(concurry::nested(vec![vec![vec![ready(1)]]])).run().unwrap();
/// assert_eq!(out, [[[1]]]);
/// ```
#[derive(Debug)]
pub struct Nested<S, D> {
    tree: S,
    depth: PhantomData<fn() -> D>,
}

/// Takes a nested input (the spec's `recurse=True`): its leaves are the
/// children, keyed by [`Path`], and `gather` returns the same shape.
///
/// # Examples
///
/// ```
/// use concurry::{gather, nested};
///
/// let ready = std::future::ready;
/// let out = gather(nested(vec![vec![ready(1), ready(2)], vec![ready(3)]])).run().unwrap();
/// assert_eq!(out, [vec![1, 2], vec![3]]);
///
/// let keys: Vec<String> = gather(nested(vec![vec![ready(1)], vec![ready(2)]]))
///     .iter()
///     .map(|item| item.unwrap().0.to_string())
///     .collect();
/// assert_eq!(keys, ["0/0", "1/0"]);
/// ```
pub fn nested<D, S: Tree<D>>(tree: S) -> Nested<S, D> {
    Nested { tree, depth: PhantomData }
}

/// The keys of a nested input: each leaf's path, and the shape to rebuild.
///
/// # Examples
///
/// ```
/// // The depth is inferred: a future is a leaf, a Vec or map of trees a branch.
/// let ready = std::future::ready;
/// let out = concurry::gather(concurry::nested(vec![vec![vec![ready(1)]]])).run().unwrap();
/// assert_eq!(out, [[[1]]]);
/// ```
#[derive(Debug)]
pub struct NestedKeys<Layout> {
    paths: Vec<Path>,
    layout: Layout,
}

impl<Layout, F> super::Feed<F> for NestedKeys<Layout> {}

impl<Layout> Keys for NestedKeys<Layout> {
    type Key = Path;
    fn key(&self, index: usize) -> Path {
        self.paths[index].clone()
    }
}

impl<D, S: Tree<D>> IntoChildren for Nested<S, D> {
    type Keys = NestedKeys<S::Layout>;
    type Future = S::Leaf;

    #[inline]
    fn into_pending(self) -> Pending<Self::Keys, S::Leaf> {
        let mut leaves = Vec::new();
        let layout = self.tree.flatten(&mut Vec::new(), &mut leaves);
        let (paths, futs): (Vec<Path>, Vec<S::Leaf>) = leaves.into_iter().unzip();
        Pending::new(NestedKeys { paths, layout }, futs)
    }
}

impl<D, S: Tree<D>, T> Shape<T> for Nested<S, D> {
    type Output = S::Output<T>;

    fn assemble(keys: Self::Keys, outputs: Outputs<T>) -> Self::Output {
        S::rebuild(keys.layout, &mut outputs.into_vec().into_iter())
    }
}
