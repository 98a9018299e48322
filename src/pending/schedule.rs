//! The scheduling loop of one set: which child to poll next, with which
//! waker, and when a round may return `Pending`.
//!
//! A round polls the fresh children in index order (as many as the limit
//! lets start), then the children whose waker woke, until none is left. Each
//! child is polled with a waker that names it (see `wakers`), so a wake
//! polls that child and no other: a child needing `k` wakes is polled `k + 1`
//! times, as `FuturesUnordered` polls it. (A waker a child kept and woke
//! after it completed sets a bit the loop skips; a spare such a child left
//! behind may name a later child, which is then polled once for nothing.)
//!
//! # The liveness rule
//!
//! A round ([`Pending::poll_round`]) returns `Poll::Pending` in two places
//! only, and each must leave a wake on its way, or the call hangs:
//!
//! 1. nothing left to poll: no fresh child may start, `Lists` is empty,
//!    and the task's waker was registered with this round's `cx` *before*
//!    the bitmap was last found clear (`any_ready` down: a wake that came
//!    before the registration raised it, which that last look sees; one
//!    after it wakes the task);
//! 2. more polls than live children since the last completion (a child
//!    that keeps waking itself): the task woke itself (`wake_by_ref`) first.
//!
//! Any new early return of `Pending` must meet one of these; the first is
//! checked by `debug_assert!`s where it returns. (A round cut short by
//! Tokio's budget returns `Round::Yielded` after waking the task; it looks
//! at the budget only once it polled a child, so it makes progress also
//! where no one refills the budget.) Where each child waits, and
//! what polls it again:
//!
//! | list | the waker its child holds | what polls it again |
//! |---|---|---|
//! | fresh (`slab.unreached`) | none yet | the first pass of a round (`can_start`: a slot free under the limit) |
//! | none (waiting) | its own (`Wakers::kept`), or none if it kept none | its wake: sets its bit (`Shared::woke`), and wakes the task if it raised `any_ready` |
//! | `Lists` (taken) | its own, or none (it woke during its poll without keeping the spare) | this round: taken from the bitmap once the lists ran dry |
//! | probes (`Deep::scope`) | parked with the engine | the engine's check timer wakes them for one check |

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Pending;
use super::wakers::{ChildWaker, High};
use crate::probe::{self, Scope};
use crate::shape::Feed;

use futures::task::waker_ref;

/// Tokio's budget is spent with children still to poll: go on next turn.
fn yield_turn(cx: &Context<'_>) -> Poll<Round> {
    cx.waker().wake_by_ref();
    Poll::Ready(Round::Yielded)
}

/// How many fresh children the first pass reaches between two looks at
/// Tokio's budget.
const FRESH_BUDGET_STRIDE: usize = 16;

/// How a round of polling ended.
pub(crate) enum Round {
    /// Every child has finished.
    Exhausted,
    /// The caller's callback asked to stop.
    Stopped,
    /// Tokio's budget for this task is spent, with children still to poll:
    /// the task was woken to go on at its next turn.
    Yielded,
}

/// The children to poll again: their bits were set and taken from the
/// bitmap. A child that wakes again before its poll is polled once more
/// later (its bit is set again).
#[derive(Default)]
pub(super) struct Lists {
    /// Children 0 to 63, a bit each (a small call allocates nothing),
    /// lowest first.
    low: u64,
    /// The others, popped from the back.
    high: High,
}

impl Lists {
    fn is_empty(&self) -> bool {
        self.low == 0 && self.high.as_ref().is_none_or(|h| h.is_empty())
    }

    fn pop(&mut self) -> Option<u32> {
        if self.low != 0 {
            let index = self.low.trailing_zeros();
            self.low &= self.low - 1;
            return Some(index);
        }
        self.high.as_mut()?.pop()
    }
}

/// The part of a set that only probes need.
#[derive(Default)]
pub(super) struct Deep {
    /// Probes parked for the next check. They stay with the children, so a
    /// set handed back by `wait` and waited on again still checks them.
    pub(super) scope: Scope,
    /// The names `.names(..)` gave the call the set came from, by position
    /// in that call's input: a later call names its children by them.
    pub(super) names: Option<std::sync::Arc<[std::borrow::Cow<'static, str>]>>,
}

impl<L: Feed<F>, F: Future> Pending<L, F> {
    /// Polls the children that need it and hands each output to `on_child`,
    /// until every child finished, `on_child` breaks, or nothing is left to
    /// poll (`Pending`: a wake-up is registered, or the task was asked to
    /// yield and woken).
    pub(crate) fn poll_round(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Round> {
        // A child that panics unwinds through the round and leaves the set
        // half way through a poll (a waker mid-hand-over, a child counted
        // but not listed). Polled again after that (a caller that caught
        // the panic), the call says so, as an `async fn` resumed after
        // panicking does, rather than wait for ever.
        assert!(!self.in_round, "a concurry call was polled again after one of its children panicked");
        self.in_round = true;
        let loan = probe::lend(self.scope());
        let polled = self.run(cx, on_child);
        loan.give_back(|| self.scope_mut());
        self.in_round = false;
        polled
    }

    fn run(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Round> {
        // Polls since the last completion. More than there are children
        // means someone keeps waking itself without finishing: yield to the
        // executor rather than spin here. Tokio's budget, once spent, makes
        // task handles answer `Pending` for nothing: yield then too.
        let mut idle_polls = 0usize;
        let idle_limit = self.live.max(1);
        // The task's waker was registered in this round.
        let mut registered = false;
        // A child was polled in this round. Tokio's budget is looked at only
        // after one was: a round always makes progress, also where no one
        // refills the budget (a `block_on` of another executor, inside a
        // task that spent it).
        let mut polled_one = false;
        loop {
            if self.can_start() {
                let first = self.first_pass(on_child, polled_one);
                polled_one = true;
                if let Some(round) = first {
                    return match round {
                        Round::Yielded => yield_turn(cx),
                        round => Poll::Ready(round),
                    };
                }
            }
            if self.live == 0 {
                return Poll::Ready(Round::Exhausted);
            }
            if polled_one && !tokio::task::coop::has_budget_remaining() {
                return yield_turn(cx);
            }
            if idle_polls > idle_limit {
                // The liveness rule, case 2: the task is woken before it waits.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let Some(index) = self.next_to_poll() else {
                if !registered {
                    // Registered only now, so that a call that completes in
                    // its first poll never clones the task's waker; a wake
                    // that came before it is on the ready list: look again.
                    self.wakers.register(cx);
                    registered = true;
                    continue;
                }
                // The liveness rule, case 1 (module docs).
                debug_assert!(self.lists.is_empty(), "Pending with children listed to poll");
                debug_assert!(self.wakers.registered(), "Pending before the task's waker was registered");
                debug_assert!(!self.can_start(), "Pending with a child free to start");
                return Poll::Pending;
            };
            let index = index as usize;
            polled_one = true;
            let Self { slab, wakers, .. } = self;
            let polled = slab.poll_live(index, |fut: Pin<&mut F>| wakers.poll(index, |cx| fut.poll(cx)));
            match polled {
                // Finished since it was listed (a wake that came late).
                None => {}
                Some(Poll::Ready(out)) => {
                    idle_polls = 0;
                    self.live -= 1;
                    if on_child(index, out, &self.keys).is_break() {
                        return Poll::Ready(Round::Stopped);
                    }
                }
                Some(Poll::Pending) => idle_polls += 1,
            }
        }
    }

    /// The first pass: reaches fresh children in index order, as many as the
    /// limit lets start, polling each with the spare waker (the slab's loop
    /// runs with one context until a child keeps the spare). `Some` ends the
    /// round.
    fn first_pass(
        &mut self,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
        polled_one: bool,
    ) -> Option<Round> {
        if polled_one && !tokio::task::coop::has_budget_remaining() {
            return Some(Round::Yielded);
        }
        let mut room = self.limit - self.in_flight();
        let missing_before = self.slab.missing();
        let mut reached = 0usize;
        let mut stop = None;
        loop {
            let Self { slab, keys, live, wakers, .. } = &mut *self;
            let spare = wakers.spare_for(slab.reached());
            let waker = waker_ref(spare);
            let mut cx = Context::from_waker(&waker);
            let mut kept_by = None;
            let _ = slab.poll_fresh_run(&mut cx, keys, |index, polled, keys| {
                match polled {
                    Poll::Ready(out) => {
                        *live -= 1;
                        if on_child(index, out, keys).is_break() {
                            stop = Some(Round::Stopped);
                            return ControlFlow::Break(());
                        }
                    }
                    Poll::Pending => {
                        room -= 1;
                        if !ChildWaker::is_alone(spare) {
                            // It kept the spare: the pass goes on with a new one.
                            kept_by = Some(index);
                            return ControlFlow::Break(());
                        }
                        if room == 0 {
                            return ControlFlow::Break(());
                        }
                    }
                }
                // Children are reached in index order: the spare is named
                // for the next.
                spare.name(index + 1);
                // The budget is a thread-local: look every few children, so
                // a run of ready ones pays for it rarely. A task handle
                // reached after the budget ran out answers `Pending` and
                // wakes its waker, which lists it again.
                reached += 1;
                if reached % FRESH_BUDGET_STRIDE == 0 && !tokio::task::coop::has_budget_remaining() {
                    stop = Some(Round::Yielded);
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
            let Some(index) = kept_by else { break };
            wakers.keep_spare(index);
            if room == 0 || !slab.has_fresh() {
                break;
            }
            // Kept wakers come from children that wait on something, and
            // from task handles that answered `Pending` because the budget
            // ran out (they keep it to wake the task's next turn).
            if !tokio::task::coop::has_budget_remaining() {
                stop = Some(Round::Yielded);
                break;
            }
        }
        // An input that ended before its stated length has fewer children
        // than counted.
        self.live -= self.slab.missing() - missing_before;
        stop
    }

    /// The next child to poll again: those taken from the bitmap first, then
    /// (taken now) those whose bits are set. `None`: nothing taken is left,
    /// and no bit was found set.
    #[inline(always)]
    fn next_to_poll(&mut self) -> Option<u32> {
        loop {
            if let Some(i) = self.lists.pop() {
                return Some(i);
            }
            let Lists { low, high } = &mut self.lists;
            if !self.wakers.take_ready(low, high) {
                return None;
            }
        }
    }
}

impl<L, F> Pending<L, F> {
    /// What the set's probes parked and asked for, if any ever did.
    pub(crate) fn scope(&self) -> Option<&Scope> {
        self.deep.as_ref().map(|d| &d.scope)
    }

    pub(crate) fn scope_mut(&mut self) -> &mut Scope {
        &mut self.deep.get_or_insert_with(Box::default).scope
    }
}
