//! The one engine behind all four entry points.
//!
//! Internal invariant: the engine owns a [`Pending`] set of `total` children
//! with indices in `0..pending.capacity()`. [`Engine::poll_drive`] hands each
//! child's output to its callback exactly once, and never polls a child after
//! it completed (the slab drops it on completion). `Drive::Exhausted` follows
//! the last output; `Drive::TimedOut` is returned only when no child can make
//! progress now, so a zero timeout over children that are all complete still
//! succeeds. After `take_pending` the engine holds nothing and reports
//! `Exhausted`.
//!
//! What wakes it:
//! - a child's waker: each names its child (`pending::wakers`), so a wake
//!   polls that child alone, and a child needing k wakes is polled k + 1
//!   times;
//! - the check timer, only while some child is parked as unable to wake
//!   anyone (a [probe](crate::probe)); it sleeps for the schedule's next
//!   interval, then wakes every parked probe for one check. A burst of
//!   missed ticks cannot happen: it is one timer, re-armed per check;
//! - one timer for the deadline, made on the first poll of a call with a
//!   timeout.
//!
//! Both are [`Timer`]s (`src/timer.rs`), which pick the clock and the
//! driver: the caller's runtime for an async call, the crate's timer thread
//! for a blocking one.
//!
//! Tokio's cooperative budget: spawned-task handles answer `Pending` once the
//! task has spent its budget (about 128 completions a turn), and defer their
//! wake-up. Polling on regardless would re-poll them for nothing, which made
//! `FuturesUnordered` quadratic over 100k tasks (futures-rs#2526,
//! tokio#3493). So before each child poll the children's scheduler checks the
//! budget and, when it is spent, yields (waking itself) instead. Inline
//! futures spend no budget, so this never slows a gather of plain futures.
//! A yield never skips the deadline, the check timer or the return
//! condition: both timers are polled after every round, outside the budget
//! (as `tokio::time::timeout` polls its delay), so a child that spends the
//! whole budget on every poll cannot hold them off.

use std::borrow::Cow;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::Pending;
use crate::Waited;
use crate::error::{BoxError, ConfigError, Error, Interrupted, Key, Stop};
use crate::pending::Round;
use crate::polling::Polling;
use crate::probe;
use crate::progress::{End, Progress, Tracker};
use crate::shape::{Feed, Keys};
use crate::timer::{Instant, Timer, after};

/// How many pending children a timeout's message names.
const PENDING_NAMES: usize = 5;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Which entry point a call came from: its name, label and default pacing.
/// A reference to a constant, so that it costs the call's future one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry(&'static EntryInfo);

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct EntryInfo {
    name: &'static str,
    gathers: bool,
    blocking: bool,
}

impl Entry {
    pub(crate) const WAIT: Self = Self(&EntryInfo { name: "wait", gathers: false, blocking: true });
    pub(crate) const ASYNC_WAIT: Self = Self(&EntryInfo { name: "async_wait", gathers: false, blocking: false });
    pub(crate) const GATHER: Self = Self(&EntryInfo { name: "gather", gathers: true, blocking: true });
    pub(crate) const ASYNC_GATHER: Self = Self(&EntryInfo { name: "async_gather", gathers: true, blocking: false });
    pub(crate) const TRY_GATHER: Self = Self(&EntryInfo { name: "try_gather", gathers: true, blocking: true });
    pub(crate) const ASYNC_TRY_GATHER: Self =
        Self(&EntryInfo { name: "async_try_gather", gathers: true, blocking: false });
    /// A race is a wait for the first completion, under its own name.
    pub(crate) const RACE: Self = Self(&EntryInfo { name: "race", gathers: false, blocking: true });
    pub(crate) const ASYNC_RACE: Self = Self(&EntryInfo { name: "async_race", gathers: false, blocking: false });

    /// The entry point's name, as the user called it.
    pub(crate) fn name(self) -> &'static str {
        self.0.name
    }

    fn label(self) -> &'static str {
        if self.0.gathers { "Gathering" } else { "Waiting" }
    }

    /// The blocking entry points follow the configured algorithm; the async
    /// ones a fixed interval (100 µs by default).
    fn default_polling(self) -> Polling {
        if self.0.blocking {
            crate::config::sync_polling().schedule()
        } else {
            let every = crate::config::async_poll_interval(!self.0.gathers);
            // Validated when the config was set.
            crate::polling::Fixed::new(every).map(Polling::Fixed).unwrap_or_else(|_| Polling::Fixed(Default::default()))
        }
    }
}

/// The per-call settings every builder shares: the entry point, and the
/// options set, boxed and absent for a plain call (the builder is the
/// call's future, moved a few times per call: it stays small).
#[derive(Debug)]
pub(crate) struct Options {
    pub(crate) entry: Entry,
    pub(crate) set: Option<Box<Settings>>,
}

#[derive(Debug, Default)]
pub(crate) struct Settings {
    /// The option set last, to name it should it come after the call began.
    pub(crate) last: &'static str,
    pub(crate) timeout: Option<Duration>,
    pub(crate) polling: Option<Polling>,
    pub(crate) progress: Progress,
    pub(crate) limit: Option<usize>,
    pub(crate) cancel: Option<CancellationToken>,
    pub(crate) names: Option<Vec<Cow<'static, str>>>,
}

impl Options {
    pub(crate) fn new(entry: Entry) -> Self {
        Self { entry, set: None }
    }

    /// The settings, to change option `name`.
    pub(crate) fn set(&mut self, name: &'static str) -> &mut Settings {
        let set = self.set.get_or_insert_with(Box::default);
        set.last = name;
        set
    }

    /// Marks option `name` as set if the builder's call has `begun` (see
    /// [`Options::late`]): for what a builder keeps outside the settings
    /// (`keep_partial`, the return condition) and for `.run()`, `.stream()`.
    pub(crate) fn touch(&mut self, begun: bool, name: &'static str) {
        if begun {
            self.set(name);
        }
    }

    /// Options found on a builder whose call has begun (its first poll took
    /// the options it had): they would be silently ignored, so the call ends
    /// with this error instead.
    #[cold]
    pub(crate) fn late(&mut self) -> ConfigError {
        let name = self.set.take().map_or("an option", |set| set.last);
        ConfigError::new(
            name,
            "set after the call began",
            "a call's options are fixed when it is first polled (`.await`, `.run()`, `.stream()`); \
             set every option on the builder before that",
        )
    }

    /// The options set so far, for the call that starts now; fresh ones of
    /// the same entry point stay behind.
    pub(crate) fn take(&mut self) -> Self {
        std::mem::replace(self, Self::new(self.entry))
    }
}

/// The option methods every builder shares, written once: `timeout`,
/// `polling` and `progress`, each setting a field of the builder's
/// `options`. `$timeout_doc` says what the timeout bounds for that builder;
/// `$entry` names its blocking entry point, for the examples.
macro_rules! option_methods {
    ($entry:literal, $timeout_doc:literal) => {
        #[doc = $timeout_doc]
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        ///
        #[doc = concat!("let slow = vec![Box::pin(std::future::pending::<u8>()) as std::pin::Pin<Box<dyn Future<Output = u8> + Send>>];")]
        #[doc = concat!("let err = concurry::", $entry, "(slow).timeout(Duration::from_millis(10)).run().unwrap_err();")]
        /// assert!(err.is_timeout());
        /// ```
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.options.set("timeout").timeout = Some(timeout);
            self
        }

        /// How often to check children that cannot wake the engine
        /// ([probes](crate::probe)); see [`Polling`](crate::Polling).
        ///
        /// # Examples
        ///
        /// ```
        /// use concurry::{polling::Fixed, probe::thread};
        ///
        /// let threads = vec![thread(std::thread::spawn(|| 1))];
        #[doc = concat!("let out = concurry::", $entry, "(threads).polling(Fixed::new(std::time::Duration::from_millis(1))?).run();")]
        /// assert!(out.is_ok());
        /// # Ok::<(), concurry::ConfigError>(())
        /// ```
        pub fn polling(mut self, polling: impl Into<crate::Polling>) -> Self {
            self.options.set("polling").polling = Some(polling.into());
            self
        }

        /// Report progress (off by default); see [`Progress`](crate::Progress).
        ///
        /// # Examples
        ///
        /// ```
        /// use concurry::Progress;
        ///
        /// let seen = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        /// let counter = seen.clone();
        /// let progress = Progress::callback(move |done, _, _| counter.store(done, std::sync::atomic::Ordering::SeqCst));
        #[doc = concat!("concurry::", $entry, "([std::future::ready(1), std::future::ready(2)]).progress(progress).run().unwrap();")]
        /// assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
        /// ```
        pub fn progress(mut self, progress: impl Into<crate::Progress>) -> Self {
            self.options.set("progress").progress = progress.into();
            self
        }

        /// Poll at most `n` children at once: the others start, in input
        /// order, as running ones finish; like `buffer_unordered(n)`, with
        /// keys, progress, timeouts and partial results as without a
        /// limit. Over a [`lazy`](crate::lazy()) input, the futures
        /// themselves are made only as slots free, so a million inputs at
        /// limit 100 hold about 100 futures at a time.
        ///
        /// A limit bounds children that start when first polled: futures.
        /// A spawned task or a thread runs from its spawn, whatever the
        /// limit; the limit then only bounds how many are being waited on,
        /// so spawn lazily (`lazy(items.map(|i| async move { .. }))`)
        /// to bound the work itself. Probes are checked only while
        /// started, so a probed process not yet started is not checked.
        /// On a timeout or a cancellation, children that never started
        /// come back pending, untouched.
        ///
        /// `n = 0` ends the call at once with [`Error::Config`](crate::Error::Config).
        ///
        /// # Examples
        ///
        /// ```
        /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
        ///
        /// let (running, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        /// let work = (0..50).map(|i| {
        ///     let (running, peak) = (&running, &peak);
        ///     async move {
        ///         peak.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
        ///         tokio::task::yield_now().await;
        ///         running.fetch_sub(1, SeqCst);
        ///         i
        ///     }
        /// });
        #[doc = concat!("let out = concurry::", $entry, "(concurry::lazy(work)).limit(4).run().unwrap();")]
        /// assert_eq!(peak.load(SeqCst), 4);
        #[doc = concat!("assert!(concurry::", $entry, "([std::future::ready(1)]).limit(0).run().is_err());")]
        /// ```
        pub fn limit(mut self, n: usize) -> Self {
            self.options.set("limit").limit = Some(n);
            self
        }

        /// End the call when `token` is cancelled, as a timeout does, but
        /// with [`Error::Cancelled`](crate::Error::Cancelled): the counts,
        /// and with `.keep_partial()` the completed outputs and the
        /// children still pending. Iterator mode yields what completed,
        /// then the error. For graceful shutdown: tokio-util's
        /// `CancellationToken`, cancelled on Ctrl-C or by the service.
        ///
        /// A token that fires is a deadline that passes at that instant,
        /// with the same rules as `.timeout(..)`: what is complete when the
        /// call sees the token is taken first, and the return condition is
        /// checked before the token. So a token cancelled before the call
        /// still gives every child one poll: an empty input, or children
        /// that are all ready, succeed; the rest end with `Cancelled`.
        ///
        /// # Examples
        ///
        /// ```
        /// let token = tokio_util::sync::CancellationToken::new();
        /// token.cancel();
        /// let never = vec![std::future::pending::<u8>()];
        #[doc = concat!("let err = concurry::", $entry, "(never).cancel_on(token).run().unwrap_err();")]
        /// assert!(err.is_cancelled());
        /// assert!(err.to_string().starts_with("cancelled after"));
        /// ```
        pub fn cancel_on(mut self, token: tokio_util::sync::CancellationToken) -> Self {
            self.options.set("cancel").cancel = Some(token);
            self
        }

        /// Name the children, in input order, for messages: a failure reads
        /// `orders failed`, a timeout `still pending: orders`. Without it,
        /// a child is named by its key (a map's key, a nested input's path,
        /// or its position). Give exactly one name per child, none of them
        /// blank: any other count, or a blank name, ends the call with
        /// [`Error::Config`](crate::Error::Config). The [`Pending`](crate::Pending)
        /// set a wait hands back keeps the names, for the calls that wait on
        /// it later.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::{future::{pending, ready}, pin::Pin, time::Duration};
        /// let calls: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> = vec![Box::pin(ready(1)), Box::pin(pending())];
        #[doc = concat!("let err = concurry::", $entry, "(calls).names([\"user\", \"orders\"]).timeout(Duration::from_millis(20)).run().unwrap_err();")]
        /// assert_eq!(err.to_string(), "timed out after 20ms: 1 of 2 completed; still pending: orders");
        /// ```
        pub fn names<N: Into<std::borrow::Cow<'static, str>>>(mut self, names: impl IntoIterator<Item = N>) -> Self {
            self.options.set("names").names = Some(names.into_iter().map(Into::into).collect());
            self
        }
    };
}
pub(crate) use option_methods;

/// The next check's interval: the schedule's, but no shorter than the
/// batch backends parked ask, unless the call set its own polling.
fn paced(interval: Duration, scope: Option<&probe::Scope>) -> Duration {
    match scope {
        Some(scope) if !scope.explicit_polling => interval.max(scope.min_interval),
        _ => interval,
    }
}

/// How a drive of the engine ended.
pub(crate) enum Drive {
    /// Every child has completed.
    Exhausted,
    /// The caller's callback asked to stop.
    Stopped,
    /// The task's cooperative budget ran out with children ready to poll; it
    /// has been woken to go on. Callers return `Pending` unless their
    /// return condition already holds (see `ReturnWhen::FirstCompleted`).
    Yielded,
    /// The deadline passed with children still pending.
    TimedOut,
    /// The cancellation token fired with children still pending.
    Cancelled,
    /// A setting of the call was refused before anything started.
    /// (Boxed: the drive's result then comes back in registers, not
    /// through memory, in every small call.)
    Refused(Box<ConfigError>),
}

pub(crate) struct Engine<L, F> {
    pending: Option<Pending<L, F>>,
    entry: Entry,
    total: usize,
    /// Children a lazy input said it had and did not hand over, as of the
    /// last round (kept for the counts once the set is taken).
    missing: usize,
    /// Everything a call with options (or probes) uses. Boxed, and `None`
    /// for a plain call: the future of a small gather stays small (it is
    /// moved a few times per call), and each check below is one test.
    extras: Option<Box<Extras>>,
    /// The call's span (feature `tracing`; nothing without it).
    span: crate::trace::Span,
}

#[derive(Default)]
struct Extras {
    /// `None` when nothing needs the clock (no timeout, no progress): a
    /// plain gather then never reads it.
    started: Option<Instant>,
    timeout: Option<Duration>,
    deadline: Option<Timer>,
    // Boxed: only calls with probes ever need it.
    polling: Option<Box<Polling>>,
    check_timer: Option<Timer>,
    /// A check woke the parked probes; the round after it polls them, then
    /// `settle_check` tells the schedule what it found.
    check_in_round: bool,
    completed_at_last_check: usize,
    progress: Tracker,
    cancel: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
    refused: Option<ConfigError>,
    /// The children's names from `.names(..)`, by position in the input.
    names: Option<Vec<Cow<'static, str>>>,
}

impl Extras {
    /// The call's cancellation token fired.
    fn cancelled(&mut self, cx: &mut Context<'_>) -> bool {
        self.cancel.as_mut().is_some_and(|c| c.as_mut().poll(cx).is_ready())
    }
}

impl<L, F> std::fmt::Debug for Engine<L, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("entry", &self.entry.name())
            .field("total", &self.total)
            .field("completed", &self.completed())
            .field("timeout", &self.extras.as_ref().and_then(|x| x.timeout))
            .finish_non_exhaustive()
    }
}

impl<L, F> Engine<L, F> {
    /// How many children have completed in this call: derived from the
    /// set, so it cannot drift. (Read before the set is taken.)
    fn completed(&self) -> usize {
        self.pending.as_ref().map_or(self.total_now(), |p| self.total_now() - p.len())
    }

    /// The children of the call: as given, less any a lazy input said it
    /// had and did not hand over (kept once the set is taken).
    fn total_now(&self) -> usize {
        self.total - self.pending.as_ref().map_or(self.missing, Pending::missing)
    }
}

impl<L: Keys + Feed<F>, F: Future> Engine<L, F> {
    /// The clock starts here: at the call, not at the first poll. It is
    /// Tokio's clock, so paused time in tests applies.
    #[inline]
    pub(crate) fn new(pending: Pending<L, F>, options: Options) -> Self {
        let mut engine = Self::unconfigured(pending, options.entry);
        engine.configure(options.set);
        engine
    }

    /// An engine of `entry` over `pending`, before [`configure`](Self::configure).
    /// A plain value, with nothing done to it on the way: built in the
    /// place the caller puts it, where a configured engine was copied
    /// there (a few hundred bytes, several times, in a small call).
    #[inline(always)]
    pub(crate) fn unconfigured(pending: Pending<L, F>, entry: Entry) -> Self {
        Self {
            total: pending.len(),
            missing: 0,
            pending: Some(pending),
            entry,
            extras: None,
            span: crate::trace::none(),
        }
    }

    /// Applies the call's options (`None`: a plain call), once, before the
    /// first poll.
    #[inline]
    pub(crate) fn configure(&mut self, set: Option<Box<Settings>>) {
        #[cfg(feature = "tracing")]
        {
            let (limit, timeout) = set.as_deref().map_or((None, None), |s| (s.limit, s.timeout));
            self.span = crate::trace::call_span(self.entry.name(), self.total, limit, timeout);
        }
        if let Some(pending) = &mut self.pending {
            pending.set_limit(set.as_ref().and_then(|s| s.limit).unwrap_or(usize::MAX));
            pending.set_explicit_polling(set.as_ref().is_some_and(|s| s.polling.is_some()));
        }
        if let Some(set) = set {
            self.extras = Self::extras(*set);
            let total = self.total;
            // A set taken from an earlier call holds fewer children than
            // the positions its keys count: its children are named by the
            // call that began them.
            let fresh = self.pending.as_ref().is_some_and(|p| p.capacity() <= total);
            if let Some(x) = self.extras.as_deref_mut()
                && let Some(names) = &x.names
                && x.refused.is_none()
            {
                let given = given_names(names);
                if !L::POSITIONAL || !fresh {
                    x.refused = Some(ConfigError::new(
                        "names",
                        given,
                        "names are for the children of a `Vec`, an array, a tuple or a lazy input, in input \
                         order; a map's children are named by their keys, and a `Pending` set's by the call it \
                         came from",
                    ));
                } else if names.len() != total {
                    x.refused = Some(ConfigError::new(
                        "names",
                        given,
                        format!("the call has {total} children: give one name per child, in input order"),
                    ));
                } else if let Some(blank) = names.iter().position(|n| n.trim().is_empty()) {
                    x.refused = Some(ConfigError::new(
                        "names",
                        given,
                        format!("name {blank} is blank: messages name a child by it, so give each child a word"),
                    ));
                }
            }
        }
    }

    #[cold]
    fn extras(set: Settings) -> Option<Box<Extras>> {
        let Settings { timeout, polling, progress, limit, cancel, names, .. } = set;
        let plain = timeout.is_none()
            && polling.is_none()
            && !progress.is_on()
            && cancel.is_none()
            && limit != Some(0)
            && names.is_none();
        (!plain).then(|| {
            let needs_clock = timeout.is_some() || progress.is_on() || cancel.is_some();
            let started = needs_clock.then(crate::timer::now);
            let refused = (limit == Some(0)).then(|| {
                ConfigError::new(
                    "limit",
                    "0",
                    "a call runs at least 1 child at a time; give `.limit(n)` an n of 1 or more",
                )
            });
            Box::new(Extras {
                started,
                timeout,
                polling: polling.map(Box::new),
                progress: Tracker::new(progress, started),
                cancel: cancel.map(|token| Box::pin(token.cancelled_owned())),
                refused,
                names,
                ..Extras::default()
            })
        })
    }

    /// Polls the children that need it, handing each output to `on_child`
    /// (which may stop the drive), until all are done, the deadline passes,
    /// or there is nothing to do until a wake-up.
    ///
    /// The check timer and the deadline are looked at after every round,
    /// also when the round yielded for Tokio's budget: a child that spends
    /// the budget on every poll cannot hold them off. Both are polled
    /// outside the budget, as `tokio::time::timeout` polls its delay.
    pub(crate) fn poll_drive(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Drive> {
        let _entered = crate::trace::enter(&self.span);
        // A turn whose budget was spent before this drive polls no child:
        // it is no evidence that nothing is complete (a stream read in a
        // task that took 128 items already), so it cannot end the call.
        let mut spent_before = false;
        if let Some(extras) = self.extras.as_deref_mut() {
            if let Some(refused) = extras.refused.take() {
                self.finish(End::Failed);
                return Poll::Ready(Drive::Refused(Box::new(refused)));
            }
            spent_before = !tokio::task::coop::has_budget_remaining();
        }
        let completed_before = self.completed();
        let yielded = loop {
            let Some(pending) = self.pending.as_mut() else { return Poll::Ready(Drive::Exhausted) };
            let yielded = match pending.poll_round(cx, on_child) {
                Poll::Ready(Round::Stopped) => return Poll::Ready(Drive::Stopped),
                Poll::Ready(Round::Exhausted) => {
                    self.report();
                    return Poll::Ready(Drive::Exhausted);
                }
                Poll::Ready(Round::Yielded) => true,
                Poll::Pending => false,
            };
            self.settle_check();
            // After a yield the task is woken already: the probes a check
            // wakes now are polled at its next turn.
            if self.poll_check(cx).is_pending() || yielded {
                break yielded;
            }
        };
        // A turn cut short by the budget while children were completing
        // goes on before the deadline counts: what is complete is taken
        // first (a zero timeout over finished tasks succeeds), and the
        // deadline fires at the first turn that completes nothing. A fired
        // token is a deadline that passed at that instant: the same rule.
        let progressed = yielded && (self.completed() > completed_before || spent_before);
        if !progressed && self.poll_deadline(cx) {
            return Poll::Ready(Drive::TimedOut);
        }
        if !progressed && self.extras.as_deref_mut().is_some_and(|x| x.cancelled(cx)) {
            return Poll::Ready(Drive::Cancelled);
        }
        self.report();
        if yielded { Poll::Ready(Drive::Yielded) } else { Poll::Pending }
    }

    /// After the round that polled the probes a check woke: tells the
    /// schedule whether that check saw a completion, then arms the timer
    /// for the next check. So the next interval already reacts to what this
    /// check found (Exponential resets at once, not one check late).
    fn settle_check(&mut self) {
        let completed = self.completed();
        let Some(x) = self.extras.as_deref_mut() else { return };
        if !std::mem::take(&mut x.check_in_round) {
            return;
        }
        let (Some(polling), Some(timer)) = (x.polling.as_mut(), x.check_timer.as_mut()) else { return };
        if completed > x.completed_at_last_check {
            polling.record_completion();
        } else {
            polling.record_no_completion();
        }
        x.completed_at_last_check = completed;
        let scope = self.pending.as_ref().and_then(|p| p.scope());
        timer.reset(after(crate::timer::now(), paced(polling.next_interval(), scope)));
    }

    /// Fires the check timer if it is due and anything is parked on it:
    /// wakes every parked probe, for the next round to poll.
    fn poll_check(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(scope) = self.pending.as_mut().and_then(Pending::parked_scope) else { return Poll::Pending };
        let x = self.extras.get_or_insert_with(Box::default);
        if x.check_in_round {
            return Poll::Pending;
        }
        let entry = self.entry;
        let polling = x.polling.get_or_insert_with(|| Box::new(entry.default_polling()));
        let timer = x
            .check_timer
            .get_or_insert_with(|| Timer::at(after(crate::timer::now(), paced(polling.next_interval(), Some(scope)))));
        if timer.poll_due(cx).is_pending() {
            return Poll::Pending;
        }
        x.check_in_round = true;
        scope.check = probe::next_check();
        for waker in scope.parked.drain(..) {
            waker.wake();
        }
        Poll::Ready(())
    }

    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(x) = self.extras.as_deref_mut() else { return false };
        let (Some(timeout), Some(started)) = (x.timeout, x.started) else { return false };
        // A deadline past the clock's range never comes, as for
        // `tokio::time::timeout(Duration::MAX, ..)`.
        let Some(at) = started.checked_add(timeout) else { return false };
        x.deadline.get_or_insert_with(|| Timer::at(at)).poll_due(cx).is_ready()
    }

    /// Progress for the end of a poll (stream items end a poll too).
    pub(crate) fn report(&mut self) {
        let (completed, total) = (self.completed(), self.total_now());
        if let Some(x) = self.extras.as_deref_mut() {
            x.progress.update(completed, total, self.entry.label());
        }
    }

    /// The final progress report.
    pub(crate) fn finish(&mut self, end: End) {
        let (completed, total) = (self.completed(), self.total_now());
        if let Some(x) = self.extras.as_deref_mut() {
            x.progress.finish(completed, total, self.entry.label(), end);
        }
    }

    /// Every child that may start now has been polled at least once (under
    /// a limit, those waiting for a free slot do not count).
    pub(crate) fn all_reached(&self) -> bool {
        self.pending.as_ref().is_none_or(|p| !p.can_start())
    }

    /// How many children the call was given.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// The bound of child indices: the size of the slots a gather needs.
    pub(crate) fn capacity(&self) -> usize {
        self.pending.as_ref().map_or(0, Pending::capacity)
    }

    /// The children still pending (an empty set's keys once all completed).
    pub(crate) fn take_pending(&mut self) -> Option<Pending<L, F>> {
        self.missing = self.pending.as_ref().map_or(self.missing, Pending::missing);
        // Only a set with children left is waited on again: a finished
        // call's empty set needs no copy of the names.
        let names = self.extras.as_deref().and_then(|x| x.names.as_deref());
        if let (Some(pending), Some(names)) = (self.pending.as_mut(), names)
            && !pending.is_empty()
        {
            pending.keep_names(names);
        }
        self.pending.take()
    }

    /// Drops every child still pending, now.
    pub(crate) fn cancel(&mut self) {
        self.pending = None;
    }

    /// Ends the call on its deadline, or on its cancellation token: marks
    /// the progress, and hands back, as the policy `P` says, the outputs
    /// `done` picks (by key) with the children still pending, or nothing
    /// (dropping the children now).
    pub(crate) fn interrupted<T>(
        &mut self,
        drive: &Drive,
        done: impl FnOnce(&Pending<L, F>) -> Vec<(L::Key, T)>,
    ) -> (Error, Waited<L, F, T>) {
        let cancelled = matches!(drive, Drive::Cancelled);
        self.finish(if cancelled { End::Cancelled } else { End::Timeout });
        let completed = self.completed();
        let pending = self.take_pending().expect("the engine holds its children until it finishes");
        let names = pending.live_indices().take(PENDING_NAMES).map(|i| self.name_in(&pending, i).0).collect();
        let waited = Waited { done: done(&pending), pending };
        let x = self.extras.as_deref();
        let elapsed = x.and_then(|x| x.started).map(|s| s.elapsed()).unwrap_or_default();
        let timeout = x.and_then(|x| x.timeout).filter(|_| !cancelled);
        let total = self.total - self.missing;
        let stop = Stop { cancelled, timeout, elapsed };
        let stopped = Box::new(Interrupted::new(self.entry.name(), stop, completed, total, names));
        let error = if cancelled { Error::Cancelled(stopped) } else { Error::Timeout(stopped) };
        let _entered = crate::trace::enter(&self.span);
        crate::trace::interrupted(&error);
        (error, waited)
    }

    /// The error for child `index`'s failure: which child, and its error.
    pub(crate) fn failed(&self, index: usize, error: BoxError) -> Error {
        let pending = self.pending.as_ref().expect("the engine holds its children until it finishes");
        let (name, worded) = self.name_in(pending, index);
        let key = Key::new(index, name, worded);
        let _entered = crate::trace::enter(&self.span);
        crate::trace::child_failed(&key, &error);
        Error::failed(key, error)
    }

    /// Child `index`'s name: the one `.names(..)` gave this call or the call
    /// its `Pending` set came from, or its key's (see
    /// `child_name`), and whether it is a word of the user's.
    fn name_in(&self, pending: &Pending<L, F>, index: usize) -> (String, bool) {
        let given = self.extras.as_deref().and_then(|x| x.names.as_ref()).and_then(|n| n.get(index));
        given.map_or_else(|| pending.name(index), |name| (name.to_string(), true))
    }

    pub(crate) fn entry(&self) -> Entry {
        self.entry
    }
}

/// The names a call was given, as a refusal quotes them: the first few
/// and how many in all (`["user", "orders"] (2 names)`).
fn given_names(names: &[std::borrow::Cow<'static, str>]) -> String {
    const SHOWN: usize = 5;
    let shown: Vec<_> = names.iter().take(SHOWN).map(|n| format!("{n:?}")).collect();
    let more = if names.len() > SHOWN { ", ..." } else { "" };
    let count = if names.len() == 1 { "1 name".to_string() } else { format!("{} names", names.len()) };
    format!("[{}{more}] ({count})", shown.join(", "))
}
