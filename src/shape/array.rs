//! `[F; N]`: keyed by index, outputs as `[T; N]`.

use std::future::Future;

use super::{Indices, IntoChildren, Outputs, Shape};
use crate::Pending;

impl<F: Future, const N: usize> IntoChildren for [F; N] {
    type Keys = Indices;
    type Future = F;
    #[inline]
    fn into_pending(self) -> Pending<Indices, F> {
        Pending::new(Indices, self)
    }
}

impl<F: Future, T, const N: usize> Shape<T> for [F; N] {
    type Output = [T; N];
    fn assemble(_: Indices, outputs: Outputs<T>) -> [T; N] {
        let mut outputs = outputs.into_vec().into_iter();
        std::array::from_fn(|_| outputs.next().expect("concurry invariant: every child has an output"))
    }
}
