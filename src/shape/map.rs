//! Maps: keyed by the map's keys, outputs in a map of the same type.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::hash::{BuildHasher, Hash};

#[cfg(feature = "indexmap")]
use indexmap::IndexMap;

use super::{IntoChildren, Keys, Outputs, Shape};
use crate::Pending;

/// Keys of a map input, in the map's iteration order.
///
/// # Examples
///
/// ```
/// use concurry::shape::{IntoChildren, Keys};
/// use std::collections::BTreeMap;
///
/// let map = BTreeMap::from([("b", std::future::ready(2)), ("a", std::future::ready(1))]);
/// let set = map.into_pending();
/// assert_eq!(set.keys().collect::<Vec<_>>(), ["a", "b"]);
/// ```
#[derive(Debug, Clone)]
pub struct KeyList<K>(Vec<K>);

impl<K, F> super::Feed<F> for KeyList<K> {}

impl<K: Clone + std::fmt::Debug> Keys for KeyList<K> {
    type Key = K;
    fn key(&self, index: usize) -> K {
        self.0[index].clone()
    }
}

#[inline]
fn split<K: Clone + std::fmt::Debug, F>(pairs: impl IntoIterator<Item = (K, F)>) -> Pending<KeyList<K>, F> {
    let (keys, futs): (Vec<K>, Vec<F>) = pairs.into_iter().unzip();
    Pending::new(KeyList(keys), futs)
}

fn join<K, T, C: FromIterator<(K, T)>>(keys: KeyList<K>, outputs: Outputs<T>) -> C {
    keys.0.into_iter().zip(outputs.into_vec()).collect()
}

macro_rules! map_shape {
    ($map:ident [$($bound:tt)*] $(, $s:ident)?) => {
        impl<K: Clone + std::fmt::Debug + $($bound)*, F: Future $(, $s: BuildHasher + Default)?> IntoChildren for $map<K, F $(, $s)?> {
            type Keys = KeyList<K>;
            type Future = F;
            #[inline]
            fn into_pending(self) -> Pending<KeyList<K>, F> {
                split(self)
            }
        }

        impl<K: Clone + std::fmt::Debug + $($bound)*, F: Future, T $(, $s: BuildHasher + Default)?> Shape<T> for $map<K, F $(, $s)?> {
            type Output = $map<K, T $(, $s)?>;
            fn assemble(keys: KeyList<K>, outputs: Outputs<T>) -> Self::Output {
                join(keys, outputs)
            }
        }
    };
}

map_shape!(HashMap[Eq + Hash], S);
map_shape!(BTreeMap[Ord]);
#[cfg(feature = "indexmap")]
map_shape!(IndexMap[Eq + Hash], S);
