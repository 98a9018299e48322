//! The scheduling loop of one set: which child to poll next, with which
//! waker, and when a round may return `Pending`.
//!
//! # The liveness rule
//!
//! A round ([`Pending::poll_round`]) returns `Poll::Pending` in two places
//! only, and each must leave a wake on its way, or the call hangs:
//!
//! 1. nothing left to poll: the task's waker was registered (`register`)
//!    with this round's `cx`, *then* `next_to_poll` found every list empty,
//!    which takes `RESCAN` down and drains the ready queue after that
//!    registration (a wake that came before it raised a flag that this look
//!    sees), `sweep_due` is clear, and the parented children were polled in
//!    this round with this `cx`;
//! 2. more polls than live children since the last completion (a child
//!    that keeps waking itself): the task woke itself (`wake_by_ref`) first.
//!
//! Any new early return of `Pending` must meet one of these. Where each
//! child waits, and what polls it again:
//!
//! | list | the waker its child holds | what polls it again |
//! |---|---|---|
//! | fresh (`slab.unreached`) | none yet | the first pass of the next round (`can_start`, a slot free under a limit) |
//! | `once`, then `rescan_once` | the shared waker | its wake raises `RESCAN` and wakes the task (once registered); `next_to_poll` takes `RESCAN` down and moves `once` to `rescan_once` |
//! | `Deep::twice`, then `rescan_twice` | the shared waker (rescanned once, still pending) | the same; rescanned twice, it gets its own waker |
//! | `Deep::own` (`promoted`) | an `OwnWaker` of its own | its wake pushes it on `ready`, raises `any_ready` and wakes the task; `next_to_poll` moves `ready` to `queue`; a wake of the shared waker queues every promoted child too (it may have kept the shared one) |
//! | `parented` (at most `SMALL_SET` live) | the task's waker, from the round that last polled it | every round sweeps them once (`poll_parented`); a round cut short owes a sweep (`sweep_due`), and so does a wake of the shared waker (a kept waker) |
//! | probes (`Deep::scope`) | parked with the engine | the engine's check timer wakes them for one check |

use std::future::Future;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::task::{Context, Poll};

use futures::task::waker_ref;

use super::Pending;
use super::wakers::{OwnWaker, REGISTERED, Shared};
use crate::probe::{self, Scope};
use crate::shape::Feed;

/// Tokio's budget is spent with children still to poll: go on next turn.
fn yield_turn(cx: &Context<'_>) -> Poll<Round> {
    cx.waker().wake_by_ref();
    Poll::Ready(Round::Yielded)
}

/// At most this many children left, a child still pending when rescanned
/// waits on the task's own waker and is polled at each round of the call
/// (parented), rather than earning a waker of its own: for a few children
/// polling them all costs less than an allocation each. `join_all` polls up
/// to 30 children on every wake the same way.
pub(super) const SMALL_SET: usize = 32;

/// How many fresh children the first pass reaches between two looks at
/// Tokio's budget.
const FRESH_BUDGET_STRIDE: usize = 16;

/// Where the next child to poll came from.
enum Source {
    Once,
    Own(Arc<OwnWaker>),
}

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

/// The part of a set that only children pending twice or more, and probes,
/// need.
#[derive(Default)]
pub(super) struct Deep {
    pub(super) twice: Vec<u32>,
    pub(super) rescan_twice: Vec<u32>,
    pub(super) queue: Vec<u32>,
    // Indexed by child; sized on first use.
    pub(super) own: Vec<Option<Arc<OwnWaker>>>,
    // The children that have a waker of their own (some may have finished).
    pub(super) promoted: Vec<u32>,
    // Probes parked for the next check. They stay with the children, so a
    // set handed back by `wait` and waited on again still checks them.
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
        let loan = probe::lend(self.scope());
        let polled = self.run(cx, on_child);
        loan.give_back(|| self.scope_mut());
        polled
    }

    /// One round. The children on the task's own waker (`parented`) are
    /// polled once per round, after the other work, so that left-over
    /// rescans go first; a round that ended before reaching them polls them
    /// first next time. Either way a child that spends the budget, or wakes
    /// itself, at every poll cannot starve the others.
    fn run(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Poll<Round> {
        let mut swept = self.parented.is_empty();
        if self.sweep_due && !swept {
            swept = true;
            self.sweep_due = false;
            match self.poll_parented(cx, on_child) {
                None => {}
                // The rest of the round's work goes first next time: so
                // rounds alternate, and hogs among the parented children
                // (rotated to the back as they spend the budget) cannot
                // starve the other lists either.
                Some(Round::Yielded) => return yield_turn(cx),
                Some(round) => return Poll::Ready(round),
            }
        }
        let polled = self.run_on(cx, on_child, &mut swept);
        self.sweep_due = (self.sweep_due || !swept) && !self.parented.is_empty();
        polled
    }

    fn run_on(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
        swept: &mut bool,
    ) -> Poll<Round> {
        // Polls since the last completion. More than there are children
        // means someone keeps waking itself without finishing: yield to the
        // executor rather than spin here. Tokio's budget, once spent, makes
        // task handles answer `Pending` for nothing: yield then too.
        let mut idle_polls = 0usize;
        let idle_limit = self.live.max(1);
        loop {
            // The first pass, in index order, in a loop of its own: no queue
            // to consult. Under a limit it stops when the limit is reached,
            // and goes on from here as children finish.
            if self.can_start() {
                if !tokio::task::coop::has_budget_remaining() {
                    return yield_turn(cx);
                }
                let mut room = self.limit - self.in_flight();
                // Fresh children are polled with the shared waker: one
                // context for all.
                let shared = waker_ref(&self.shared);
                let mut shared_cx = Context::from_waker(&shared);
                let missing_before = self.slab.missing();
                let (live, once) = (&mut self.live, &mut self.once);
                let unreached = self.slab.unreached();
                let mut reached = 0usize;
                let mut stop = None;
                let _ = self.slab.poll_fresh_run(&mut shared_cx, &mut self.keys, |index, polled, keys| {
                    match polled {
                        Poll::Ready(out) => {
                            *live -= 1;
                            if on_child(index, out, keys).is_break() {
                                stop = Some(Round::Stopped);
                                return ControlFlow::Break(());
                            }
                        }
                        Poll::Pending => {
                            // Sized once, if at all: the children still to
                            // reach, or the room the limit leaves.
                            once.push(index as u32, room.min(unreached));
                            room -= 1;
                            if room == 0 {
                                return ControlFlow::Break(());
                            }
                        }
                    }
                    // The budget is a thread-local: look every few children,
                    // so a run of ready ones pays for it rarely. A task handle
                    // reached after the budget ran out just answers `Pending`
                    // and is met again in a rescan.
                    reached += 1;
                    if reached % FRESH_BUDGET_STRIDE == 0 && !tokio::task::coop::has_budget_remaining() {
                        stop = Some(Round::Yielded);
                        return ControlFlow::Break(());
                    }
                    ControlFlow::Continue(())
                });
                // An input that ended before its stated length has fewer
                // children than counted.
                self.live -= self.slab.missing() - missing_before;
                match stop {
                    Some(Round::Yielded) => return yield_turn(cx),
                    Some(round) => return Poll::Ready(round),
                    None => {}
                }
            }
            if self.live == 0 {
                return Poll::Ready(Round::Exhausted);
            }
            if !tokio::task::coop::has_budget_remaining() {
                return yield_turn(cx);
            }
            if idle_polls > idle_limit {
                // The liveness rule, case 2: the task is woken before it waits.
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let next = match self.next_to_poll() {
                Some(next) => Some(next),
                None if !*swept || self.sweep_due => {
                    if self.sweep_due {
                        // Owed to a wake of the shared waker (see
                        // `next_to_poll`): counted as idle work, so that a
                        // child that wakes a kept waker at every poll makes
                        // the call yield rather than spin here.
                        self.sweep_due = false;
                        idle_polls += self.parented.len();
                    }
                    match self.poll_parented(cx, on_child) {
                        None => *swept = true,
                        Some(Round::Yielded) => return yield_turn(cx),
                        Some(round) => return Poll::Ready(round),
                    }
                    continue;
                }
                None => {
                    // Registered only now, so that a call that completes in
                    // its first poll never clones the task's waker; a wake
                    // that came before the registration raised a flag: look
                    // again.
                    self.shared.register(cx.waker());
                    match self.next_to_poll() {
                        // The wake was for a child on the task's waker.
                        None if self.sweep_due => continue,
                        next => next,
                    }
                }
            };
            let Some((index, source)) = next else {
                // The liveness rule, case 1 (module docs): registered, then
                // every list found empty, and the parented children swept.
                debug_assert!(*swept && !self.sweep_due, "Pending with the parented children owed a sweep");
                debug_assert!(self.rescan_once.is_empty(), "Pending with children left to rescan");
                debug_assert!(
                    self.shared.state.load(Ordering::Relaxed) & REGISTERED != 0,
                    "Pending before the task's waker was registered"
                );
                return Poll::Pending;
            };
            let polled = match &source {
                Source::Own(w) => {
                    w.queued.store(false, Ordering::Release);
                    self.slab.poll(index, &mut Context::from_waker(&waker_ref(w)))
                }
                Source::Once => {
                    let polled = if self.live <= SMALL_SET {
                        self.slab.poll_live(index, cx)
                    } else {
                        self.slab.poll_live(index, &mut Context::from_waker(&waker_ref(&self.shared)))
                    };
                    match polled {
                        Some(polled) => polled,
                        // Finished since it was listed: nothing to do.
                        None => continue,
                    }
                }
            };
            match polled {
                Poll::Ready(out) => {
                    idle_polls = 0;
                    self.live -= 1;
                    if let (Source::Own(_), Some(deep)) = (&source, &mut self.deep) {
                        deep.own[index] = None;
                    }
                    if on_child(index, out, &self.keys).is_break() {
                        return Poll::Ready(Round::Stopped);
                    }
                }
                Poll::Pending => {
                    idle_polls += 1;
                    if let Source::Once = source {
                        if self.live <= SMALL_SET {
                            // Polled with the task's waker just above.
                            self.parented.push(index as u32);
                        } else {
                            self.deep().twice.push(index as u32);
                        }
                    }
                }
            }
        }
    }

    /// Polls every child that waits on the task's own waker, as `join_all`
    /// does at each poll: they wake the task directly and re-register its
    /// current waker here. `Some` ends the round: `Stopped` when `on_child`
    /// breaks, `Yielded` when Tokio's budget ran out first (the next sweep
    /// then starts with the children this one did not reach).
    fn poll_parented(
        &mut self,
        cx: &mut Context<'_>,
        on_child: &mut impl FnMut(usize, F::Output, &L) -> ControlFlow<()>,
    ) -> Option<Round> {
        // Polled so far: `parented[..i]`; a finished child's place takes the
        // last one, not polled yet.
        let mut i = 0;
        while let Some(&index) = self.parented.get(i) {
            if !tokio::task::coop::has_budget_remaining() {
                self.parented.rotate_left(i);
                return Some(Round::Yielded);
            }
            match self.slab.poll_live(index as usize, cx) {
                Some(Poll::Pending) => i += 1,
                Some(Poll::Ready(out)) => {
                    self.parented.swap_remove(i);
                    self.live -= 1;
                    if on_child(index as usize, out, &self.keys).is_break() {
                        return Some(Round::Stopped);
                    }
                }
                None => {
                    self.parented.swap_remove(i);
                }
            }
        }
        None
    }

    // Inlined into the loop of `run`: returned through memory, its result
    // cost a store-forwarding stall per child.
    #[inline(always)]
    fn next_to_poll(&mut self) -> Option<(usize, Source)> {
        loop {
            if let Some(deep) = &mut self.deep {
                if let Some(i) = deep.rescan_twice.pop() {
                    if self.slab.is_live(i as usize) {
                        // Rescanned twice and still pending: it gets its own waker.
                        let waker = deep.own_waker(i, &self.shared, self.slab.capacity());
                        return Some((i as usize, Source::Own(waker)));
                    }
                    continue;
                }
            }
            if let Some(i) = self.rescan_once.pop() {
                // Whether it is still live, the poll itself tells.
                return Some((i as usize, Source::Once));
            }
            if let Some(deep) = &mut self.deep {
                if let Some(i) = deep.queue.pop() {
                    match deep.own.get(i as usize).and_then(Clone::clone) {
                        Some(w) => return Some((i as usize, Source::Own(w))),
                        None => continue,
                    }
                }
            }
            // The lists are empty here; swapping (not taking) hands their
            // buffers back, so steady wake-ups allocate nothing.
            let mut refilled = false;
            if self.shared.take_rescan() {
                // A child now on the task's waker may have kept the shared
                // waker it was first given, and woken that: sweep them too
                // (without this, such a child was never polled again).
                if !self.parented.is_empty() {
                    self.sweep_due = true;
                }
                self.once.take(&mut self.rescan_once);
                if let Some(deep) = &mut self.deep {
                    std::mem::swap(&mut deep.rescan_twice, &mut deep.twice);
                    deep.rescan_twice.reverse();
                    deep.queue_promoted();
                }
                refilled = true;
            }
            // Only own wakers raise `any_ready`, and only a set with a
            // `Deep` part has any.
            if self.deep.is_some() && self.shared.any_ready.swap(false, Ordering::AcqRel) {
                let queue = &mut self.deep.get_or_insert_with(Box::default).queue;
                let mut ready = self.shared.ready.lock().unwrap_or_else(PoisonError::into_inner);
                // Popped from the back: in wake order, ahead of anything
                // `queue_promoted` put there.
                ready.reverse();
                if queue.is_empty() {
                    std::mem::swap(queue, &mut *ready);
                } else {
                    queue.append(&mut ready);
                }
                refilled = true;
            }
            if !refilled {
                return None;
            }
        }
    }
}

impl Deep {
    /// A wake of the shared waker can also come from a child that kept it
    /// after earning a waker of its own (it stored the first waker it was
    /// given, a pattern Tokio's tasks and `FuturesUnordered` tolerate). So
    /// such a wake queues every own-waker child too: a few wasted polls,
    /// never a lost wake-up. Children that replace their waker when polled
    /// (Tokio's timers, channels and task handles) never wake the shared
    /// waker once they have their own, so this costs them nothing.
    fn queue_promoted(&mut self) {
        let own = &self.own;
        self.promoted.retain(|&i| own.get(i as usize).is_some_and(Option::is_some));
        for &i in &self.promoted {
            if let Some(w) = &self.own[i as usize] {
                if !w.queued.swap(true, Ordering::AcqRel) {
                    self.queue.push(i);
                }
            }
        }
    }

    fn own_waker(&mut self, index: u32, shared: &Arc<Shared>, capacity: usize) -> Arc<OwnWaker> {
        if self.own.is_empty() {
            self.own.resize_with(capacity, || None);
        }
        let promoted = &mut self.promoted;
        self.own[index as usize]
            .get_or_insert_with(|| {
                promoted.push(index);
                Arc::new(OwnWaker { index, queued: AtomicBool::new(false), shared: shared.clone() })
            })
            .clone()
    }
}
