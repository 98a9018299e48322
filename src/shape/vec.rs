//! `Vec<F>`: keyed by index, outputs in input order.

use std::future::Future;

use super::{Indices, IntoChildren, Outputs, Shape};
use crate::Pending;

impl<F: Future> IntoChildren for Vec<F> {
    type Keys = Indices;
    type Future = F;
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
