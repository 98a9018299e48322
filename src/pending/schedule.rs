//! The scheduling loop of one set: which child to poll next, with which
//! waker, and when a round may return `Pending`.
//!
//! A round polls the fresh children in index order (as many as the limit
//! lets start), then the children whose waker woke, until none is left. Each
//! child is polled with a waker that names it (see `wakers`), so a wake
//! polls that child and no other: a child needing `k` wakes is polled `k + 1`
//! times, as `FuturesUnordered` polls it (once more if the child polled
//! just before it woke itself and completed in the same poll: see
//! `Wakers::after_spare`).
//!
//! # The liveness rule
//!
//! A round ([`Pending::poll_round`]) returns `Poll::Pending` in two places
//! only, and each must leave a wake on its way, or the call hangs:
//!
//! 1. nothing left to poll: no fresh child may start, `again`, `now` and
//!    `queue` are empty, and the task's waker was registered with this
//!    round's `cx` *before* the ready list was last found empty (a wake that
//!    came before the registration pushed on the ready list, which that last
//!    look sees; one after it wakes the task);
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
//! | none (waiting) | its own (`Wakers::kept`), or none if it kept none | its wake: pushes it on the ready list and wakes the task |
//! | `again`, then `now` | its own, or none (it woke during its poll without keeping the spare) | this round, after the current pass; a round cut short leaves it there for the next |
//! | `queue` | its own | taken from the ready list: this round |
//! | probes (`Deep::scope`) | parked with the engine | the engine's check timer wakes them for one check |

use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::Pending;
use crate::index_set::IndexSet;
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

/// The children to poll again, by where their wake was seen. A child is in
/// at most one of them (its waker's `QUEUED` flag stays up from the wake to
/// the poll, so a second wake lists it nowhere).
#[derive(Default)]
pub(super) struct Lists {
    /// Woke during their own poll: polled again once the current pass is
    /// done (bits for the first 64: a small call allocates nothing).
    again: IndexSet,
    /// The pass in progress, taken from `again`: lowest index first.
    now: IndexSet,
    /// Woke afterwards, from anywhere: taken from the ready list, popped
    /// from the back (wake order).
    queue: Vec<u32>,
}

impl Lists {
    fn is_empty(&self) -> bool {
        self.again.is_empty() && self.now.is_empty() && self.queue.is_empty()
    }
}

/// The part of a set that only probes need.
#[derive(Default)]
pub(super) struct Deep {
    /// Probes parked for the next check. They stay with the children, so a
    /// set handed back by `wait` and waited on again still checks them.
    pub(super) scope: Scope,
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
            let Self { slab, wakers, lists, .. } = self;
            let mut woke = false;
            let polled = slab.poll_live(index, |fut: Pin<&mut F>| {
                let (polled, again) = wakers.poll(index, |cx| fut.poll(cx));
                woke = again;
                polled
            });
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
                Some(Poll::Pending) => {
                    idle_polls += 1;
                    if woke {
                        lists.again.push(index as u32, 0);
                    }
                }
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
        // Sized once, if at all: the children still to reach, or the room
        // the limit leaves.
        let expected = room.min(self.slab.unreached());
        let mut reached = 0usize;
        let mut stop = None;
        loop {
            let Self { slab, keys, live, lists, wakers, .. } = &mut *self;
            let spare = wakers.spare();
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
                        match spare.check_spare() {
                            Some(true) => lists.again.push(index as u32, expected),
                            Some(false) => {}
                            // It kept the spare: the pass goes on with a new one.
                            None => {
                                kept_by = Some(index);
                                return ControlFlow::Break(());
                            }
                        }
                        if room == 0 {
                            return ControlFlow::Break(());
                        }
                    }
                }
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
            if wakers.keep_spare(index) {
                lists.again.push(index as u32, expected);
            }
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

    /// The next child to poll again: the pass in progress first, then the
    /// children whose waker woke from elsewhere, then (after a look at the
    /// ready list) a new pass over those that woke during their poll.
    /// `None`: nothing listed, and the ready list was found empty.
    #[inline(always)]
    fn next_to_poll(&mut self) -> Option<u32> {
        loop {
            if let Some(i) = self.lists.now.pop() {
                return Some(i);
            }
            if let Some(i) = self.lists.queue.pop() {
                return Some(i);
            }
            // Between two passes, the ready list first: a child that wakes
            // itself at every poll cannot keep the others waiting.
            let took_ready = self.wakers.take_ready(&mut self.lists.queue);
            if !self.lists.again.is_empty() {
                self.lists.again.take(&mut self.lists.now);
            } else if !took_ready {
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
