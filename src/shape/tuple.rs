//! Tuples of up to 12 futures, each with its own output type.
//!
//! The engine holds children of one type, so each element is wrapped in one
//! variant of an enum future (`TupleN`), whose output is an enum of the
//! element outputs (`TupleNOutput`); assembly unwraps each slot back into
//! its place in the tuple.
//!
//! - `gather` gives each element's output in its slot, `Result`s included,
//!   as `tokio::join!` does.
//! - `try_gather` gives the `Ok` values, and fails on the first `Err`, as
//!   `tokio::try_join!` does; unlike `try_join!`, the elements' error types
//!   may differ (each is boxed as a [`crate::BoxError`], and stays
//!   reachable by `downcast_ref`).
//! - A timeout with `.keep_partial()` hands back the completed elements as
//!   a tuple of `Option`s: [`Waited::into_slots`](crate::Waited::into_slots).
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), concurry::Error> {
//! async fn user() -> Result<String, std::io::Error> { Ok("ada".into()) }
//! async fn orders() -> Result<Vec<u32>, std::num::ParseIntError> { Ok(vec![7]) }
//! async fn price() -> Result<f64, String> { Ok(9.5) }
//!
//! let (u, o, p) = concurry::async_try_gather((user(), orders(), price())).await?;
//! assert_eq!((u.as_str(), o, p), ("ada", vec![7], 9.5));
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project::pin_project;

use super::{Indices, IntoChildren, Outputs, Shape};
use crate::{BoxError, Outcome, Pending};

/// The output of one element of a tuple input, and how the completed ones
/// come back as a tuple of `Option`s: see
/// [`Waited::into_slots`](crate::Waited::into_slots).
///
/// # Examples
///
/// ```
/// use concurry::shape::{tuple::Tuple2Output, Slots};
/// let slots = Tuple2Output::<u8, &str>::into_slots([(1, Tuple2Output::E1("b"))]);
/// assert_eq!(slots, (None, Some("b")));
/// ```
pub trait Slots: Sized {
    /// One `Option` per element.
    type Options;
    /// Puts each `(index, output)` in its slot.
    fn into_slots(done: impl IntoIterator<Item = (usize, Self)>) -> Self::Options;
}

macro_rules! tuple_shape {
    ($n:literal $Fut:ident $Out:ident $Proj:ident; $($F:ident $v:ident $idx:tt),+) => {
        #[doc = concat!("One element of a ", $n, "-tuple input, as a future.")]
        #[pin_project(project = $Proj)]
        pub enum $Fut<$($F),+> {
            $(
                #[doc = concat!("Element ", stringify!($idx), ".")]
                $v(#[pin] $F),
            )+
        }

        impl<$($F),+> std::fmt::Debug for $Fut<$($F),+> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self {
                    $($Fut::$v(_) => f.write_str(concat!(stringify!($Fut), "::", stringify!($v), "(..)")),)+
                }
            }
        }

        #[doc = concat!("The output of one element of a ", $n, "-tuple input.")]
        #[derive(Debug, Clone, PartialEq)]
        pub enum $Out<$($F),+> {
            $(
                #[doc = concat!("Element ", stringify!($idx), ".")]
                $v($F),
            )+
        }

        impl<$($F: Future),+> Future for $Fut<$($F),+> {
            type Output = $Out<$($F::Output),+>;

            fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
                match self.project() {
                    $($Proj::$v(f) => f.poll(cx).map($Out::$v),)+
                }
            }
        }

        impl<$($F: Outcome<Error: Into<BoxError> + 'static>),+> Outcome for $Out<$($F),+> {
            type Value = $Out<$($F::Value),+>;
            type Error = BoxError;

            fn is_failure(&self) -> bool {
                match self {
                    $($Out::$v(o) => o.is_failure(),)+
                }
            }

            fn into_result(self) -> Result<Self::Value, BoxError> {
                match self {
                    $($Out::$v(o) => o.into_result().map($Out::$v).map_err(crate::error::box_error),)+
                }
            }
        }

        impl<$($F),+> Slots for $Out<$($F),+> {
            type Options = ($(Option<$F>,)+);

            fn into_slots(done: impl IntoIterator<Item = (usize, Self)>) -> Self::Options {
                let mut slots: Self::Options = Default::default();
                for (_, out) in done {
                    match out {
                        $($Out::$v(x) => slots.$idx = Some(x),)+
                    }
                }
                slots
            }
        }

        impl<$($F: Future),+> IntoChildren for ($($F,)+) {
            type Keys = Indices;
            type Future = $Fut<$($F),+>;

            #[inline]
            fn into_pending(self) -> Pending<Indices, Self::Future> {
                Pending::new(Indices, [$($Fut::$v(self.$idx)),+])
            }
        }

        impl<$($F: Future),+, $($v),+> Shape<$Out<$($v),+>> for ($($F,)+) {
            type Output = ($($v,)+);

            fn assemble(_: Indices, outputs: Outputs<$Out<$($v),+>>) -> Self::Output {
                let mut outputs = outputs.into_vec().into_iter();
                ($(
                    match outputs.next() {
                        Some($Out::$v(x)) => x,
                        #[allow(unreachable_patterns)]
                        _ => unreachable!("slot {} holds element {}'s output", $idx, $idx),
                    },
                )+)
            }
        }
    };
}

tuple_shape!(1 Tuple1 Tuple1Output Tuple1Proj; A E0 0);
tuple_shape!(2 Tuple2 Tuple2Output Tuple2Proj; A E0 0, B E1 1);
tuple_shape!(3 Tuple3 Tuple3Output Tuple3Proj; A E0 0, B E1 1, C E2 2);
tuple_shape!(4 Tuple4 Tuple4Output Tuple4Proj; A E0 0, B E1 1, C E2 2, D E3 3);
tuple_shape!(5 Tuple5 Tuple5Output Tuple5Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4);
tuple_shape!(6 Tuple6 Tuple6Output Tuple6Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5);
tuple_shape!(7 Tuple7 Tuple7Output Tuple7Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6);
tuple_shape!(8 Tuple8 Tuple8Output Tuple8Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6, H E7 7);
tuple_shape!(9 Tuple9 Tuple9Output Tuple9Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6, H E7 7, I E8 8);
tuple_shape!(10 Tuple10 Tuple10Output Tuple10Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6, H E7 7, I E8 8, J E9 9);
tuple_shape!(11 Tuple11 Tuple11Output Tuple11Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6, H E7 7, I E8 8, J E9 9, K E10 10);
tuple_shape!(12 Tuple12 Tuple12Output Tuple12Proj; A E0 0, B E1 1, C E2 2, D E3 3, E E4 4, F E5 5, G E6 6, H E7 7, I E8 8, J E9 9, K E10 10, L E11 11);
