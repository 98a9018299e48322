//! `Vec<F>`: keyed by index, outputs in input order.

use std::future::Future;

use super::{Indices, IntoChildren, Outputs, Shape};
use crate::Pending;

impl<F: Future> IntoChildren for Vec<F> {
    type Keys = Indices;
    type Future = F;
    #[inline]
    fn into_pending(self) -> Pending<Indices, F> {
        Pending::new(Indices, self)
    }
}

impl<F: Future, T> Shape<T> for Vec<F> {
    type Output = Vec<T>;
    fn assemble(_: Indices, outputs: Outputs<T>) -> Vec<T> {
        outputs.into_vec()
    }
}

/// A `Vec` as a pending set keyed by index, so a loop that waits again on
/// what is left can start from a `Vec` and go on with the `Pending` a `wait`
/// hands back, in one variable.
///
/// # Examples
///
/// ```
/// use concurry::{Pending, ReturnWhen, shape::Indices};
///
/// let mut left: Pending<Indices, _> = vec![std::future::ready(1), std::future::ready(2)].into();
/// let mut seen = 0;
/// while !left.is_empty() {
///     let w = concurry::wait(left).return_when(ReturnWhen::FirstCompleted).run().unwrap();
///     seen += w.done.len();
///     left = w.pending;
/// }
/// assert_eq!(seen, 2);
/// ```
impl<F: Future> From<Vec<F>> for Pending<Indices, F> {
    fn from(children: Vec<F>) -> Self {
        Pending::new(Indices, children)
    }
}
