//! What a call tells `tracing` (feature `tracing`, off by default): the one
//! place that emits, so that without the feature nothing is emitted and
//! nothing of it is compiled.
//!
//! - each call is a span, `concurry`, with its entry point (`entry`), its
//!   number of children (`children`), its limit and its timeout (when set);
//!   it is entered while the call is polled, so the children's own events
//!   nest in it;
//! - a child that fails a fail-fast call: a `WARN` event naming it and its
//!   error;
//! - a timeout or a cancellation: a `WARN` event with the counts and the
//!   names of the children still pending;
//! - a batch round trip that failed: a `WARN` event naming the backend, the
//!   failures in a row and the cause.

#[cfg(feature = "tracing")]
mod on {
    use std::fmt::Display;
    use std::time::Duration;

    use crate::error::{Error, Human, Key};

    /// The span of one call.
    pub(crate) type Span = tracing::Span;

    pub(crate) fn call_span(
        entry: &'static str,
        children: usize,
        limit: Option<usize>,
        timeout: Option<Duration>,
    ) -> Span {
        let span = tracing::info_span!(
            "concurry",
            entry,
            children,
            limit = tracing::field::Empty,
            timeout = tracing::field::Empty
        );
        if let Some(limit) = limit {
            span.record("limit", limit);
        }
        if let Some(timeout) = timeout {
            span.record("timeout", tracing::field::display(Human(timeout)));
        }
        span
    }

    pub(crate) fn none() -> Span {
        Span::none()
    }

    /// Enters `span` until the guard drops (it holds its own handle to it).
    pub(crate) fn enter(span: &Span) -> tracing::span::EnteredSpan {
        span.clone().entered()
    }

    pub(crate) fn child_failed(key: &Key, error: &dyn Display) {
        tracing::warn!(child = %key.name(), error = %error, "{key} failed");
    }

    pub(crate) fn interrupted(error: &Error) {
        if let Some(stopped) = error.interrupted() {
            tracing::warn!(
                completed = stopped.completed(),
                total = stopped.total(),
                pending = %stopped.pending_names().join(", "),
                "{error}"
            );
        }
    }

    pub(crate) fn round_trip_failed(backend: &str, failures: u32, cause: &dyn Display) {
        tracing::warn!(backend, failures, cause = %cause, "{backend}'s round trip failed ({failures} in a row): {cause}");
    }
}

#[cfg(not(feature = "tracing"))]
mod on {
    //! Without the feature: nothing, inlined away.
    use std::fmt::Display;

    use crate::error::{Error, Key};

    /// No span.
    #[derive(Debug, Default)]
    pub(crate) struct Span;

    /// No guard.
    pub(crate) struct Entered;

    #[inline(always)]
    pub(crate) fn enter(_: &Span) -> Entered {
        Entered
    }

    #[inline(always)]
    pub(crate) fn none() -> Span {
        Span
    }

    #[inline(always)]
    pub(crate) fn child_failed(_: &Key, _: &dyn Display) {}

    #[inline(always)]
    pub(crate) fn interrupted(_: &Error) {}

    #[inline(always)]
    pub(crate) fn round_trip_failed(_: &str, _: u32, _: &dyn Display) {}
}

pub(crate) use on::*;
