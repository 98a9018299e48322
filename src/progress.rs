//! Progress: off, an indicatif bar, or a callback.
//!
//! Every entry point takes `.progress(..)`, sync and async, iterator mode
//! included. It is off by default.
//!
//! - [`Progress::from(true)`](Progress#impl-From<bool>-for-Progress) or
//!   [`Bar::default()`]: an indicatif bar on stderr reading "Waiting" (wait)
//!   or "Gathering" (gather), with count, rate and ETA, redrawn every
//!   `miniters` completions (default `max(1, total / 100)`).
//! - [`Bar`]: desc, unit, colour, miniters, template, your own
//!   [`ProgressBar`], or a [`MultiProgress`] to join.
//! - [`Progress::callback`]: `f(completed, total, elapsed)`.
//!
//! Bars draw only when stderr is a terminal (indicatif hides them otherwise),
//! and nothing is ever written to stdout. A bar ends at the true count (never
//! moved to 100% by indicatif); unless every child completed, how the call
//! ended replaces its description:
//!
//! - all children completed: `Gathering: 100%|██████████| 3/3 result [..]`;
//! - a wait returned early (`FirstCompleted`, `FirstException`):
//!   `Done:  33%|███▍      | 1/3 result [..]`;
//! - timed out: `Timeout:  33%|..| 1/3 result [..]`;
//! - failed (fail-fast): `Failed:  67%|..| 2/3 result [..]`;
//! - dropped before it ended (a stream dropped mid-way, a panic):
//!   `Cancelled:  33%|..| 1/3 result [..]`.
//!
//! # Callback calling rule
//!
//! The callback is called on the thread polling the call, once with
//! `completed = 0` when the call first runs, then at the end of each poll of
//! the engine whose completed count differs from the last call's (so several
//! completions seen in one poll make one call), and when the call ends
//! (success, failure or timeout) only if its final count differs from the
//! last call's. So no call repeats the one before it, and the last call
//! carries the final count: 4 children completing one by one make 5 calls,
//! `(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)`. In iterator mode each yielded
//! item ends a poll. A panic in the callback propagates out of the `.await`
//! or `.run()` that polled it, like a panic in a child; the children are
//! dropped with the call, nothing is left half-updated.

use std::fmt;
use std::time::Duration;

use crate::timer::Instant;

#[cfg(feature = "progress")]
use indicatif::{HumanCount, MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

type Callback = Box<dyn FnMut(usize, usize, Duration) + Send>;

/// What to report progress to. See the [module docs](self).
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use concurry::{async_gather, Progress};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let progress = Progress::callback(move |done, total, _elapsed| log.lock().unwrap().push((done, total)));
/// async_gather([1, 2].map(std::future::ready)).progress(progress).await.unwrap();
/// assert_eq!(*seen.lock().unwrap(), [(0, 2), (2, 2)]);
/// # }
/// ```
#[derive(Default)]
pub struct Progress(Kind);

#[derive(Default)]
enum Kind {
    #[default]
    Off,
    #[cfg(feature = "progress")]
    Bar(Box<Bar>),
    Callback(Callback),
}

impl Progress {
    /// No progress reporting (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// let out = concurry::gather([std::future::ready(1)]).progress(concurry::Progress::off()).run().unwrap();
    /// assert_eq!(out, [1]);
    /// ```
    pub fn off() -> Self {
        Self(Kind::Off)
    }

    pub(crate) fn is_on(&self) -> bool {
        !matches!(self.0, Kind::Off)
    }

    /// Report to `f(completed, total, elapsed)`; see the calling rule in the
    /// [module docs](self).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::Progress;
    /// let progress = Progress::callback(|done, total, elapsed| eprintln!("{done}/{total} after {elapsed:?}"));
    /// concurry::gather([std::future::ready(1)]).progress(progress).run().unwrap();
    /// ```
    pub fn callback(f: impl FnMut(usize, usize, Duration) + Send + 'static) -> Self {
        Self(Kind::Callback(Box::new(f)))
    }
}

#[cfg(feature = "progress")]
impl From<bool> for Progress {
    /// `true` is the default bar, `false` is off.
    fn from(on: bool) -> Self {
        if on { Self(Kind::Bar(Box::default())) } else { Self::off() }
    }
}

#[cfg(feature = "progress")]
impl From<Bar> for Progress {
    fn from(bar: Bar) -> Self {
        Self(Kind::Bar(Box::new(bar)))
    }
}

#[cfg(feature = "progress")]
impl From<ProgressBar> for Progress {
    /// Your own bar, used as it is (its length is set to the total).
    fn from(bar: ProgressBar) -> Self {
        Self(Kind::Bar(Box::new(Bar::default().with_bar(bar))))
    }
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Off => f.write_str("Progress::Off"),
            #[cfg(feature = "progress")]
            Kind::Bar(b) => f.debug_tuple("Progress::Bar").field(b).finish(),
            Kind::Callback(_) => f.write_str("Progress::Callback(..)"),
        }
    }
}

/// A configured progress bar.
///
/// # Examples
///
/// ```
/// use concurry::{gather, progress::Bar};
///
/// let bar = Bar::default().desc("Processing batches").unit("batch").colour("green").miniters(10);
/// let out = gather(vec![std::future::ready(1); 20]).progress(bar).run().unwrap();
/// assert_eq!(out.len(), 20);
/// ```
#[cfg(feature = "progress")]
#[derive(Debug, Default)]
pub struct Bar {
    desc: Option<String>,
    unit: Option<String>,
    colour: Option<String>,
    miniters: Option<u64>,
    template: Option<String>,
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    target: Option<ProgressDrawTarget>,
}

#[cfg(feature = "progress")]
impl Bar {
    /// The text before the bar (default "Waiting" or "Gathering").
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let term = indicatif::InMemoryTerm::new(2, 80);
    /// let target = indicatif::ProgressDrawTarget::term_like(Box::new(term.clone()));
    /// let bar = Bar::default().desc("Downloading").draw_target(target);
    /// concurry::gather([std::future::ready(1)]).progress(bar).run().unwrap();
    /// assert!(term.contents().starts_with("Downloading: 100%|"));
    /// ```
    pub fn desc(mut self, desc: impl Into<String>) -> Self {
        self.desc = Some(desc.into());
        self
    }
    /// The name of one item, shown after the count and in the rate (default
    /// "result"): `2/2 file [00:00:00<00:00:00, 9,816 file/s]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let term = indicatif::InMemoryTerm::new(2, 80);
    /// let target = indicatif::ProgressDrawTarget::term_like(Box::new(term.clone()));
    /// let bar = Bar::default().unit("file").draw_target(target);
    /// concurry::gather([1, 2].map(std::future::ready)).progress(bar).run().unwrap();
    /// let screen = term.contents();
    /// assert!(screen.contains("| 2/2 file [") && screen.ends_with(" file/s]"), "{screen}");
    /// ```
    pub fn unit(mut self, unit: impl Into<String>) -> Self {
        self.unit = Some(unit.into());
        self
    }
    /// The bar's colour, in indicatif's style syntax: a name ("black", "red",
    /// "green", "yellow", "blue", "magenta", "cyan", "white"), a number from 0
    /// to 255 or `#rrggbb`, joined with dots to attributes ("green.bold"),
    /// and after a `/` the style of the unfilled part ("cyan/blue"). Colours
    /// show where the terminal takes them (indicatif follows `CLICOLOR` and
    /// `CLICOLOR_FORCE`). It applies to the default template; in your own
    /// [`template`](Self::template) write it after a colon, `{wide_bar:.green}`.
    ///
    /// A colour indicatif does not know ("chartreuse") is ignored, as
    /// indicatif ignores unknown style names, and so is a string that is not
    /// a style at all (one with a space or a brace): the bar is then drawn in
    /// the terminal's own colour. A bad colour never panics and never hides
    /// the bar or anything else on its line.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let term = indicatif::InMemoryTerm::new(2, 80);
    /// let target = indicatif::ProgressDrawTarget::term_like(Box::new(term.clone()));
    /// let bar = Bar::default().colour("cyan").draw_target(target);
    /// concurry::gather([std::future::ready(1)]).progress(bar).run().unwrap();
    /// assert!(term.contents().starts_with("Gathering: 100%|█████"));
    /// ```
    pub fn colour(mut self, colour: impl Into<String>) -> Self {
        self.colour = Some(colour.into());
        self
    }
    /// Redraw after at least this many completions (default
    /// `max(1, total / 100)`; 0 counts as 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let bar = Bar::default().miniters(5);
    /// concurry::gather([std::future::ready(1)]).progress(bar).run().unwrap();
    /// ```
    pub fn miniters(mut self, n: u64) -> Self {
        self.miniters = Some(n.max(1));
        self
    }
    /// An indicatif template, replacing the default one,
    /// `{msg}: {percent:>3}%|{wide_bar}| {pos}/{len} {unit} [{elapsed_precise}<{eta_precise}, {rate}]`.
    /// Besides indicatif's keys it can use `{unit}` (see [`unit`](Self::unit))
    /// and `{rate}` (`9,816 result/s`: whole numbers from 10 a second up, one
    /// decimal below). A bad template falls back to the default.
    ///
    /// A style goes after a colon: `{wide_bar:.green}`. Written
    /// `{wide_bar.green}`, indicatif reads an unknown key and draws no bar.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let term = indicatif::InMemoryTerm::new(2, 80);
    /// let target = indicatif::ProgressDrawTarget::term_like(Box::new(term.clone()));
    /// let bar = Bar::default().template("{msg} {pos}/{len} {unit}s").unit("job").draw_target(target);
    /// concurry::gather([std::future::ready(1)]).progress(bar).run().unwrap();
    /// assert_eq!(term.contents(), "Gathering 1/1 jobs");
    /// ```
    pub fn template(mut self, template: impl Into<String>) -> Self {
        self.template = Some(template.into());
        self
    }
    /// Use this bar rather than making one; its style is kept.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let mine = indicatif::ProgressBar::hidden();
    /// concurry::gather([std::future::ready(1), std::future::ready(2)]).progress(Bar::default().with_bar(mine.clone())).run().unwrap();
    /// assert_eq!(mine.position(), 2);
    /// ```
    pub fn with_bar(mut self, bar: ProgressBar) -> Self {
        self.bar = Some(bar);
        self
    }
    /// Join this `MultiProgress`, so that several calls show at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let multi = indicatif::MultiProgress::with_draw_target(indicatif::ProgressDrawTarget::hidden());
    /// concurry::gather([std::future::ready(1)]).progress(Bar::default().desc("first").multi(&multi)).run().unwrap();
    /// concurry::gather([std::future::ready(2)]).progress(Bar::default().desc("second").multi(&multi)).run().unwrap();
    /// ```
    pub fn multi(mut self, multi: &MultiProgress) -> Self {
        self.multi = Some(multi.clone());
        self
    }
    /// Draw here rather than on stderr (for instance indicatif's in-memory
    /// terminal, in tests).
    ///
    /// # Examples
    ///
    /// ```
    /// use concurry::progress::Bar;
    /// let term = indicatif::InMemoryTerm::new(2, 80);
    /// let target = indicatif::ProgressDrawTarget::term_like(Box::new(term.clone()));
    /// concurry::gather([std::future::ready(1)]).progress(Bar::default().draw_target(target)).run().unwrap();
    /// assert!(term.contents().starts_with("Gathering: 100%"));
    /// ```
    pub fn draw_target(mut self, target: ProgressDrawTarget) -> Self {
        self.target = Some(target);
        self
    }

    fn style(&self) -> ProgressStyle {
        let bar = match self.colour.as_deref().filter(|c| is_style(c)) {
            Some(colour) => format!("{{wide_bar:.{colour}}}"),
            None => "{wide_bar}".to_owned(),
        };
        let default = format!(
            "{{msg}}: {{percent:>3}}%|{bar}| {{pos}}/{{len}} {{unit}} [{{elapsed_precise}}<{{eta_precise}}, {{rate}}]"
        );
        let unit = self.unit.clone().unwrap_or_else(|| "result".to_owned());
        let per = unit.clone();
        self.template
            .as_deref()
            .and_then(|t| ProgressStyle::with_template(t).ok())
            .or_else(|| ProgressStyle::with_template(&default).ok())
            .unwrap_or_else(ProgressStyle::default_bar)
            .progress_chars("█▉▊▋▌▍▎▏ ")
            .with_key("unit", move |_: &ProgressState, w: &mut dyn fmt::Write| {
                let _ = w.write_str(&unit);
            })
            .with_key("rate", move |state: &ProgressState, w: &mut dyn fmt::Write| {
                let _ = write_rate(w, state.per_sec(), &per);
            })
    }

    fn build(self, total: usize, label: &str) -> (ProgressBar, u64) {
        let miniters = self.miniters.unwrap_or((total as u64 / 100).max(1));
        let style = self.style();
        let msg = self.desc.unwrap_or_else(|| label.to_owned());
        let bar = match self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar
            }
            None => {
                let target = self.target.unwrap_or_else(ProgressDrawTarget::stderr);
                let bar = ProgressBar::with_draw_target(Some(total as u64), target).with_style(style);
                bar.set_message(msg);
                bar
            }
        };
        let bar = match self.multi {
            Some(multi) => multi.add(bar),
            None => bar,
        };
        (bar, miniters)
    }
}

/// Whether `colour` is a style in indicatif's template syntax (dotted names,
/// then optionally `/` and the unfilled part's style), safe to put in a
/// template: anything else (a space, a brace) would break it.
#[cfg(feature = "progress")]
fn is_style(colour: &str) -> bool {
    !colour.is_empty() && colour.chars().all(|c| c.is_ascii_alphanumeric() || "_#./".contains(c))
}

/// A rate as people read it: whole numbers with thousands separators from 10
/// a second up (`9,816 result/s`), one decimal below (`2.5 result/s`), and
/// `?` while there is none (no time has passed).
#[cfg(feature = "progress")]
fn write_rate(w: &mut dyn fmt::Write, per_sec: f64, unit: &str) -> fmt::Result {
    if !per_sec.is_finite() || per_sec < 0.0 {
        write!(w, "? {unit}/s")
    } else if per_sec < 9.95 {
        write!(w, "{per_sec:.1} {unit}/s")
    } else {
        write!(w, "{} {unit}/s", HumanCount(per_sec.round() as u64))
    }
}

/// How a call ended, for the final report.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Success,
    Timeout,
    Failed,
    Cancelled,
}

enum Sink {
    Off,
    #[cfg(feature = "progress")]
    Pending(Box<Bar>),
    #[cfg(feature = "progress")]
    Bar {
        bar: ProgressBar,
        miniters: u64,
        drawn: u64,
    },
    Callback(Callback),
}

/// The engine's side: turns counts into bar updates or callback calls.
pub(crate) struct Tracker {
    sink: Sink,
    // Set whenever the sink is on (the engine starts the clock for it).
    started: Option<Instant>,
    reported: Option<usize>,
}

impl Default for Tracker {
    fn default() -> Self {
        Self::new(Progress::off(), None)
    }
}

impl Tracker {
    pub(crate) fn new(progress: Progress, started: Option<Instant>) -> Self {
        let sink = match progress.0 {
            Kind::Off => Sink::Off,
            #[cfg(feature = "progress")]
            Kind::Bar(b) => Sink::Pending(b),
            Kind::Callback(f) => Sink::Callback(f),
        };
        Self { sink, started, reported: None }
    }

    /// Reports `completed` if it changed since the last report (the first
    /// report is the start, at 0).
    pub(crate) fn update(&mut self, completed: usize, total: usize, label: &str) {
        if matches!(self.sink, Sink::Off) {
            return;
        }
        if self.reported.is_none() {
            self.report(0, total, label);
        }
        if self.reported != Some(completed) {
            self.report(completed, total, label);
        }
    }

    /// The final report. A callback gets the final count if it differs from
    /// the last call's; a bar ends at the true count, marked with how the
    /// call ended.
    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    pub(crate) fn finish(&mut self, completed: usize, total: usize, label: &str, end: End) {
        self.update(completed, total, label);
        #[cfg(feature = "progress")]
        if let Sink::Bar { bar, .. } = std::mem::replace(&mut self.sink, Sink::Off) {
            // Not `finish()` unless all completed: it moves the bar to its length.
            bar.set_position(completed as u64);
            match end {
                End::Success if completed == total => bar.finish(),
                End::Success => bar.abandon_with_message("Done"),
                End::Timeout => bar.abandon_with_message("Timeout"),
                End::Failed => bar.abandon_with_message("Failed"),
                End::Cancelled => bar.abandon_with_message("Cancelled"),
            }
        }
    }

    #[cfg_attr(not(feature = "progress"), allow(unused_variables))]
    fn report(&mut self, completed: usize, total: usize, label: &str) {
        self.reported = Some(completed);
        #[cfg(feature = "progress")]
        if let Sink::Pending(_) = self.sink {
            if let Sink::Pending(config) = std::mem::replace(&mut self.sink, Sink::Off) {
                let (bar, miniters) = config.build(total, label);
                self.sink = Sink::Bar { bar, miniters, drawn: 0 };
            }
        }
        match &mut self.sink {
            Sink::Callback(f) => f(completed, total, self.started.map(|s| s.elapsed()).unwrap_or_default()),
            #[cfg(feature = "progress")]
            Sink::Bar { bar, miniters, drawn } => {
                let pos = completed as u64;
                if pos >= *drawn + *miniters || pos == total as u64 {
                    *drawn = pos;
                    bar.set_position(pos);
                }
            }
            Sink::Off => {}
            #[cfg(feature = "progress")]
            Sink::Pending(_) => {}
        }
    }
}

#[cfg(feature = "progress")]
impl Drop for Tracker {
    /// A call dropped before it ended (a stream dropped mid-way, a panic):
    /// left alone, indicatif would finish the bar at its length.
    fn drop(&mut self) {
        if let (Sink::Bar { bar, .. }, Some(completed)) = (&self.sink, self.reported) {
            bar.set_position(completed as u64);
            bar.abandon_with_message("Cancelled");
        }
    }
}

#[cfg(all(test, feature = "progress"))]
mod tests {
    use super::write_rate;

    fn rate(per_sec: f64) -> String {
        let mut out = String::new();
        write_rate(&mut out, per_sec, "result").unwrap();
        out
    }

    // Defect 11: the rate read `9,815.9522/s`, with no unit.
    #[test]
    fn rates_read_as_people_read_them() {
        assert_eq!(rate(9815.9522), "9,816 result/s");
        assert_eq!(rate(1_234_567.8), "1,234,568 result/s");
        assert_eq!(rate(10.2), "10 result/s");
        assert_eq!(rate(9.96), "10 result/s");
        assert_eq!(rate(2.54), "2.5 result/s");
        assert_eq!(rate(0.0), "0.0 result/s");
        assert_eq!(rate(f64::INFINITY), "? result/s");
        assert_eq!(rate(f64::NAN), "? result/s");
    }
}
