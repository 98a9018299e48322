//! What counts as a failed child, for the two places that ask: the
//! fail-fast verbs ([`try_gather`](crate::try_gather) and
//! [`async_try_gather`](crate::async_try_gather)) and
//! [`Wait::return_when`](crate::Wait::return_when) (for
//! `ReturnWhen::FirstException`).
//!
//! [`gather`](crate::gather) and [`async_gather`](crate::async_gather) never
//! ask: they take any output type, as `join_all` does, and hand every output
//! back as it is.
//!
//! Rust has no specialization, so "an `Err` fails, anything else never fails"
//! cannot be one blanket impl. [`Outcome`] is implemented for `Result<T, E>`
//! (an `Err` is a failure), for the tuple shapes' outputs, and for the common
//! std output types, which never fail. For an output type of your own that
//! `wait(..).return_when(..)` should accept, one line does it:
//! [`never_fails!`](crate::never_fails).
//!
//! Why two verbs rather than the spec's one verb and a flag: an output type
//! the crate cannot know (`bytes::Bytes`, a generic `Page<T>`, a 12-tuple)
//! must gather with no ceremony, and a `Result` must still fail fast with
//! one call. With one verb, one of the two needs a trait impl the user
//! cannot always write (the orphan rule). So we follow the Rust peers
//! (`join_all` / `try_join_all`, `join!` / `try_join!`): `gather` keeps every
//! output (the spec's `return_exceptions=True`); `try_gather` fails on the
//! first `Err` (the spec's default). A panicking Tokio task fails too: its
//! `JoinHandle` outputs `Result<T, JoinError>`.

use std::convert::Infallible;

/// The output of a child: did it fail, and with what?
///
/// # Examples
///
/// ```
/// use concurry::Outcome;
///
/// assert!(Err::<u8, &str>("x").is_failure());
/// assert!(!42_u32.is_failure());
/// assert_eq!(Ok::<u8, &str>(1).into_result(), Ok(1));
/// ```
#[diagnostic::on_unimplemented(
    message = "concurry cannot tell whether a `{Self}` output is a failure",
    label = "the children's output type must implement `concurry::Outcome`",
    note = "`try_gather` and `return_when` need to know what a failure is: `Result<T, E>` fails on `Err`; common std types never fail",
    note = "to keep every output as it is, whatever its type, use `gather`/`async_gather` (as `join_all` does)",
    note = "to return on the first completion over outputs of any type, use `.first_completed()` instead of `.return_when(..)`",
    note = "for `FirstException` over other outputs, make each output a `Result`: \
            `async move {{ Ok::<_, std::convert::Infallible>(fut.await) }}`"
)]
pub trait Outcome {
    /// The value of a success.
    type Value;
    /// The error of a failure (`Infallible` for types that never fail).
    type Error;

    /// Is this a failure?
    fn is_failure(&self) -> bool;
    /// Split into success or failure.
    fn into_result(self) -> Result<Self::Value, Self::Error>;
}

impl<T, E> Outcome for Result<T, E> {
    type Value = T;
    type Error = E;

    fn is_failure(&self) -> bool {
        self.is_err()
    }
    fn into_result(self) -> Self {
        self
    }
}

/// Implements [`Outcome`] for types of your crate that never fail, so that
/// [`try_gather`](crate::try_gather) and
/// [`Wait::return_when`](crate::Wait::return_when) accept them. (`gather`
/// and `wait` themselves take any output type, and need nothing.) Only for
/// non-generic types defined in your crate: the orphan rule refuses it for
/// a foreign type; wrap such outputs in `Ok::<_, Infallible>(..)` instead.
///
/// # Examples
///
/// ```
/// use concurry::ReturnWhen;
///
/// struct Report { rows: usize }
/// concurry::never_fails!(Report);
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let w = concurry::async_wait(vec![async { Report { rows: 3 } }]).return_when(ReturnWhen::FirstException).await.unwrap();
/// assert_eq!(w.done[0].1.rows, 3);
/// # }
/// ```
#[macro_export]
macro_rules! never_fails {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::Outcome for $t {
            type Value = $t;
            type Error = ::std::convert::Infallible;
            fn is_failure(&self) -> bool {
                false
            }
            fn into_result(self) -> ::std::result::Result<$t, ::std::convert::Infallible> {
                ::std::result::Result::Ok(self)
            }
        }
    )*};
}

never_fails!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    String,
    &'static str,
    std::time::Duration,
    std::time::Instant,
    std::process::ExitStatus,
    std::process::Output,
    std::path::PathBuf,
    std::time::SystemTime,
    std::net::SocketAddr,
    std::net::IpAddr,
    std::fs::File,
    std::fs::Metadata,
    std::cmp::Ordering,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroUsize,
    std::borrow::Cow<'static, str>,
    std::sync::atomic::AtomicUsize,
);

macro_rules! never_fails_generic {
    ($([$($g:ident),*] $t:ty),* $(,)?) => {$(
        impl<$($g),*> Outcome for $t {
            type Value = $t;
            type Error = Infallible;
            fn is_failure(&self) -> bool {
                false
            }
            fn into_result(self) -> Result<$t, Infallible> {
                Ok(self)
            }
        }
    )*};
}

never_fails_generic!(
    [T] Option<T>,
    [T] Vec<T>,
    [T] Box<T>,
    [T] std::sync::Arc<T>,
    [T] std::rc::Rc<T>,
    [T] std::collections::VecDeque<T>,
    [T] std::collections::BTreeSet<T>,
    [T, S] std::collections::HashSet<T, S>,
    [K, V] std::collections::BTreeMap<K, V>,
    [K, V, S] std::collections::HashMap<K, V, S>,
    [A] (A,),
    [A, B] (A, B),
    [A, B, C] (A, B, C),
    [A, B, C, D] (A, B, C, D),
    [A, B, C, D, E] (A, B, C, D, E),
    [A, B, C, D, E, F] (A, B, C, D, E, F),
    [T] std::collections::BinaryHeap<T>,
    [T] std::collections::LinkedList<T>,
    [T] std::sync::Mutex<T>,
    [T] std::sync::RwLock<T>,
    [T] std::cell::RefCell<T>,
    [T] std::cell::Cell<T>,
    [T] std::marker::PhantomData<T>,
    [T] std::pin::Pin<T>,
);

#[cfg(feature = "indexmap")]
never_fails_generic!(
    [K, V, S] indexmap::IndexMap<K, V, S>,
    [T, S] indexmap::IndexSet<T, S>,
);

impl<T, const N: usize> Outcome for [T; N] {
    type Value = Self;
    type Error = Infallible;
    fn is_failure(&self) -> bool {
        false
    }
    fn into_result(self) -> Result<Self, Infallible> {
        Ok(self)
    }
}
