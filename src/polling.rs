//! Polling schedules: how often the engine checks children that cannot wake
//! it (threads, processes, outside systems).
//!
//! Each schedule is a small pure state machine with the same four methods:
//! [`next_interval`](Polling::next_interval) says how long to sleep before the
//! next check, [`record_completion`](Polling::record_completion) and
//! [`record_no_completion`](Polling::record_no_completion) feed back what a
//! check saw, and [`reset`](Polling::reset) returns to the start. Their
//! defaults are the spec's numbers and live in [`config`](crate::config).
//!
//! Tokio's timer has a resolution of 1 ms: an interval below 1 ms sleeps to the
//! next millisecond boundary, so it delivers at most about 1,000 checks a
//! second, never a burst (the engine re-arms one `Sleep` per check rather than
//! running an `Interval`, whose missed ticks fire back to back).
//!
//! Measured on a 2-core machine (2026-11-26, `cargo run --release -p
//! concurry-bench --bin polling_costs`): the async functions' 100 µs default delivered 805 checks
//! in one second on a probe that never finished, for 31.5 ms of CPU. Waiting
//! with the blocking `gather` on 16 OS threads that finish over 1.5 s:
//!
//! | algorithm | median lateness | worst lateness | CPU per second of waiting |
//! |---|---|---|---|
//! | fixed (10 ms) | 4.4 ms | 9.9 ms | 6.3 ms |
//! | adaptive | 17.4 ms | 26.9 ms | 5.1 ms |
//! | exponential | 40.5 ms | 95.0 ms | 3.6 ms |
//! | progressive | 8.8 ms | 10.2 ms | 9.0 ms |
//!
//! Futures never wait on this schedule: they wake the engine themselves.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{ConfigError, ParseError};

/// The four polling algorithms of the spec, by name.
///
/// Parse one from the spec's strings, case-insensitively; a bad string is an
/// error that lists the valid ones.
///
/// # Examples
///
/// ```
/// use concurry::PollingAlgorithm;
///
/// let alg: PollingAlgorithm = "Adaptive".parse()?;
/// assert_eq!(alg, PollingAlgorithm::Adaptive);
///
/// let err = "sometimes".parse::<PollingAlgorithm>().unwrap_err();
/// assert!(err.to_string().contains("fixed, adaptive, exponential, progressive"));
/// # Ok::<(), concurry::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PollingAlgorithm {
    /// A constant interval (10 ms by default).
    Fixed,
    /// Speeds up on completions, slows down after empty checks (the default).
    #[default]
    Adaptive,
    /// Doubles after each empty check, back to the start on a completion.
    Exponential,
    /// Steps through fixed levels, a few checks at each.
    Progressive,
}

impl PollingAlgorithm {
    const NAMES: &'static [&'static str] = &["fixed", "adaptive", "exponential", "progressive"];

    /// The spec's string for this algorithm.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(concurry::PollingAlgorithm::Exponential.as_str(), "exponential");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Adaptive => "adaptive",
            Self::Exponential => "exponential",
            Self::Progressive => "progressive",
        }
    }

    /// A fresh schedule of this algorithm with the current run-time
    /// [defaults](crate::config::Defaults).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::PollingAlgorithm;
    ///
    /// let mut schedule = PollingAlgorithm::Exponential.schedule();
    /// assert_eq!(schedule.next_interval(), Duration::from_millis(1));
    /// ```
    pub fn schedule(self) -> Polling {
        let d = crate::config::defaults();
        match self {
            Self::Fixed => Polling::Fixed(d.fixed),
            Self::Adaptive => Polling::Adaptive(d.adaptive),
            Self::Exponential => Polling::Exponential(d.exponential),
            Self::Progressive => Polling::Progressive(d.progressive),
        }
    }
}

impl fmt::Display for PollingAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for PollingAlgorithm {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, ParseError> {
        let all = [Self::Fixed, Self::Adaptive, Self::Exponential, Self::Progressive];
        all.into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseError::new("polling algorithm", s, Self::NAMES))
    }
}

fn check_interval(name: &'static str, d: Duration) -> Result<(), ConfigError> {
    if d.is_zero() { Err(ConfigError::new(name, format!("{d:?}"), "must be greater than zero")) } else { Ok(()) }
}

fn check_bounds(min: Duration, initial: Duration, max: Duration) -> Result<(), ConfigError> {
    check_interval("min_interval", min)?;
    if max < min {
        return Err(ConfigError::new(
            "max_interval",
            format!("{max:?}"),
            format!("must be at least min_interval ({min:?})"),
        ));
    }
    if initial < min || initial > max {
        return Err(ConfigError::new(
            "initial_interval",
            format!("{initial:?}"),
            format!("must lie between min_interval ({min:?}) and max_interval ({max:?})"),
        ));
    }
    Ok(())
}

fn check_factor(name: &'static str, f: f64, below_one: bool) -> Result<(), ConfigError> {
    let ok = f.is_finite() && if below_one { f > 0.0 && f < 1.0 } else { f > 1.0 };
    if ok {
        Ok(())
    } else {
        let range = if below_one { "strictly between 0 and 1" } else { "a finite number greater than 1" };
        Err(ConfigError::new(name, f.to_string(), format!("must be {range}")))
    }
}

// Whole nanoseconds, rounded, so that 7 ms x 1.3 is exactly 9.1 ms.
fn scale(d: Duration, factor: f64, min: Duration, max: Duration) -> Duration {
    let nanos = (d.as_nanos() as f64 * factor).round().min(u64::MAX as f64) as u64;
    Duration::from_nanos(nanos).clamp(min, max)
}

/// A constant interval.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::polling::Fixed;
///
/// let mut fixed = Fixed::new(Duration::from_millis(5))?;
/// fixed.record_no_completion();
/// assert_eq!(fixed.next_interval(), Duration::from_millis(5));
/// # Ok::<(), concurry::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fixed {
    interval: Duration,
}

impl Fixed {
    /// A schedule that always answers `interval`.
    ///
    /// # Errors
    ///
    /// A zero interval is refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Fixed;
    ///
    /// assert_eq!(Fixed::new(Duration::from_millis(3))?.next_interval(), Duration::from_millis(3));
    /// assert!(Fixed::new(Duration::ZERO).is_err());
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn new(interval: Duration) -> Result<Self, ConfigError> {
        check_interval("fixed interval", interval)?;
        Ok(Self { interval })
    }

    /// How long to wait before the next check.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Fixed;
    ///
    /// let mut s = Fixed::new(Duration::from_millis(10))?;
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn next_interval(&self) -> Duration {
        self.interval
    }
    /// A check saw completions: no change.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Fixed;
    ///
    /// let mut s = Fixed::new(Duration::from_millis(10))?;
    /// s.record_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_completion(&mut self) {}
    /// A check saw none: no change.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Fixed;
    ///
    /// let mut s = Fixed::new(Duration::from_millis(10))?;
    /// s.record_no_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_no_completion(&mut self) {}
    /// Back to the start: no change.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Fixed;
    ///
    /// let mut s = Fixed::new(Duration::from_millis(10))?;
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.reset();
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn reset(&mut self) {}
}

/// Speeds up when checks find completions and slows down when they don't.
///
/// A check that saw completions multiplies the interval by `speedup` (0.7).
/// Each empty check adds to a run of empty checks; once that run reaches
/// `empty_threshold` (3), that check and every further empty one multiply
/// the interval by `slowdown` (1.3). A completion ends the run. The interval
/// always stays within `min ..= max` (1 ms ..= 100 ms), starting at 10 ms.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::polling::Adaptive;
///
/// let mut a = Adaptive::default();
/// assert_eq!(a.next_interval(), Duration::from_millis(10));
/// a.record_completion();
/// assert_eq!(a.next_interval(), Duration::from_millis(7));
/// a.record_no_completion();
/// a.record_no_completion();
/// assert_eq!(a.next_interval(), Duration::from_millis(7));
/// a.record_no_completion(); // the third empty check in a row
/// assert_eq!(a.next_interval(), Duration::from_micros(9_100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adaptive {
    initial: Duration,
    min: Duration,
    max: Duration,
    speedup: f64,
    slowdown: f64,
    empty_threshold: u32,
    current: Duration,
    empty_run: u32,
}

impl Adaptive {
    /// An adaptive schedule with every parameter given.
    ///
    /// # Errors
    ///
    /// A zero `min`, `max < min`, `initial` outside `min..=max`, a `speedup`
    /// outside `(0, 1)`, a `slowdown` not above 1, or a zero `empty_threshold`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Adaptive;
    ///
    /// let ms = Duration::from_millis;
    /// assert!(Adaptive::new(ms(10), ms(1), ms(100), 0.5, 2.0, 2).is_ok());
    /// let err = Adaptive::new(ms(10), ms(1), ms(100), 1.5, 2.0, 2).unwrap_err();
    /// assert!(err.to_string().contains("speedup"));
    /// ```
    pub fn new(
        initial: Duration,
        min: Duration,
        max: Duration,
        speedup: f64,
        slowdown: f64,
        empty_threshold: u32,
    ) -> Result<Self, ConfigError> {
        check_bounds(min, initial, max)?;
        check_factor("speedup", speedup, true)?;
        check_factor("slowdown", slowdown, false)?;
        if empty_threshold == 0 {
            return Err(ConfigError::new("empty_threshold", "0", "must be at least 1"));
        }
        Ok(Self { initial, min, max, speedup, slowdown, empty_threshold, current: initial, empty_run: 0 })
    }

    /// How long to wait before the next check.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Adaptive;
    ///
    /// let mut s = Adaptive::default();
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn next_interval(&self) -> Duration {
        self.current
    }
    /// A check saw completions: speed up and end the run of empty checks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Adaptive;
    ///
    /// let mut s = Adaptive::default();
    /// s.record_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(7));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_completion(&mut self) {
        self.current = scale(self.current, self.speedup, self.min, self.max);
        self.empty_run = 0;
    }
    /// A check saw none: slow down once the run reaches the threshold.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Adaptive;
    ///
    /// let mut s = Adaptive::default();
    /// for _ in 0..3 {
    ///     s.record_no_completion();
    /// }
    /// assert_eq!(s.next_interval(), Duration::from_millis(13));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_no_completion(&mut self) {
        self.empty_run = self.empty_run.saturating_add(1);
        if self.empty_run >= self.empty_threshold {
            self.current = scale(self.current, self.slowdown, self.min, self.max);
        }
    }
    /// Back to the initial interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Adaptive;
    ///
    /// let mut s = Adaptive::default();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.reset();
    /// assert_eq!(s.next_interval(), Duration::from_millis(10));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn reset(&mut self) {
        self.current = self.initial;
        self.empty_run = 0;
    }
}

/// Doubles the interval after each empty check; a completion resets it.
///
/// Starts at 1 ms, multiplies by `factor` (2) per empty check, at most 500 ms.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::polling::Exponential;
///
/// let mut e = Exponential::default();
/// e.record_no_completion();
/// e.record_no_completion();
/// assert_eq!(e.next_interval(), Duration::from_millis(4));
/// e.record_completion();
/// assert_eq!(e.next_interval(), Duration::from_millis(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exponential {
    initial: Duration,
    max: Duration,
    factor: f64,
    current: Duration,
}

impl Exponential {
    /// An exponential schedule with every parameter given.
    ///
    /// # Errors
    ///
    /// A zero `initial`, `max < initial`, or a `factor` not above 1.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Exponential;
    ///
    /// let s = Exponential::new(Duration::from_millis(2), Duration::from_millis(64), 4.0)?;
    /// assert_eq!(s.next_interval(), Duration::from_millis(2));
    /// assert!(Exponential::new(Duration::ZERO, Duration::from_millis(64), 4.0).is_err());
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn new(initial: Duration, max: Duration, factor: f64) -> Result<Self, ConfigError> {
        check_bounds(initial, initial, max)?;
        check_factor("factor", factor, false)?;
        Ok(Self { initial, max, factor, current: initial })
    }

    /// How long to wait before the next check.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Exponential;
    ///
    /// let mut s = Exponential::default();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn next_interval(&self) -> Duration {
        self.current
    }
    /// A check saw completions: back to the initial interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Exponential;
    ///
    /// let mut s = Exponential::default();
    /// s.record_no_completion();
    /// s.record_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_completion(&mut self) {
        self.current = self.initial;
    }
    /// A check saw none: multiply by the factor, up to the maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Exponential;
    ///
    /// let mut s = Exponential::default();
    /// s.record_no_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(2));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_no_completion(&mut self) {
        self.current = scale(self.current, self.factor, self.initial, self.max);
    }
    /// Back to the initial interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Exponential;
    ///
    /// let mut s = Exponential::default();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.reset();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn reset(&mut self) {
        self.current = self.initial;
    }
}

/// Steps through fixed levels, a number of checks at each.
///
/// Levels 1, 5, 10, 50 and 100 ms, five checks at each; it stays at the last
/// level. A completion returns to the first level.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::polling::Progressive;
///
/// let mut p = Progressive::default();
/// let seen: Vec<u64> = (0..11)
///     .map(|_| {
///         let ms = p.next_interval().as_millis() as u64;
///         p.record_no_completion();
///         ms
///     })
///     .collect();
/// assert_eq!(seen, [1, 1, 1, 1, 1, 5, 5, 5, 5, 5, 10]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Progressive {
    levels: Vec<Duration>,
    checks_per_level: u32,
    level: usize,
    checks: u32,
}

impl Progressive {
    /// A progressive schedule over `levels`, `checks_per_level` checks each.
    ///
    /// # Errors
    ///
    /// No levels, a zero level, levels not in increasing order, or zero
    /// checks per level.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Progressive;
    ///
    /// let s = Progressive::new(vec![Duration::from_millis(2), Duration::from_millis(20)], 3)?;
    /// assert_eq!(s.next_interval(), Duration::from_millis(2));
    /// assert!(Progressive::new(vec![], 3).is_err());
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn new(levels: Vec<Duration>, checks_per_level: u32) -> Result<Self, ConfigError> {
        if levels.is_empty() {
            return Err(ConfigError::new("levels", "[]", "must hold at least one interval"));
        }
        for d in &levels {
            check_interval("levels", *d)?;
        }
        if levels.windows(2).any(|w| w[1] < w[0]) {
            return Err(ConfigError::new("levels", format!("{levels:?}"), "must not decrease"));
        }
        if checks_per_level == 0 {
            return Err(ConfigError::new("checks_per_level", "0", "must be at least 1"));
        }
        Ok(Self { levels, checks_per_level, level: 0, checks: 0 })
    }

    /// How long to wait before the next check.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Progressive;
    ///
    /// let mut s = Progressive::default();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn next_interval(&self) -> Duration {
        self.levels[self.level]
    }
    /// A check saw completions: back to the first level.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Progressive;
    ///
    /// let mut s = Progressive::default();
    /// for _ in 0..5 {
    ///     s.record_no_completion();
    /// }
    /// s.record_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_completion(&mut self) {
        self.reset();
    }
    /// A check saw none: count it, and move up a level after enough.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Progressive;
    ///
    /// let mut s = Progressive::default();
    /// for _ in 0..5 {
    ///     s.record_no_completion();
    /// }
    /// assert_eq!(s.next_interval(), Duration::from_millis(5));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_no_completion(&mut self) {
        self.checks += 1;
        if self.checks >= self.checks_per_level && self.level + 1 < self.levels.len() {
            self.level += 1;
            self.checks = 0;
        }
    }
    /// Back to the first level.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::polling::Progressive;
    ///
    /// let mut s = Progressive::default();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.reset();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn reset(&mut self) {
        self.level = 0;
        self.checks = 0;
    }
}

/// A configured schedule of any algorithm: what the builders'
/// `.polling(...)` takes, from a [`PollingAlgorithm`] (current defaults) or a
/// schedule with its own parameters.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use concurry::{Polling, PollingAlgorithm, polling::Fixed};
///
/// let a: Polling = PollingAlgorithm::Fixed.into();
/// let b: Polling = Fixed::new(Duration::from_millis(2))?.into();
/// assert_eq!(a.next_interval(), Duration::from_millis(10));
/// assert_eq!(b.next_interval(), Duration::from_millis(2));
/// # Ok::<(), concurry::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Polling {
    /// See [`Fixed`].
    Fixed(Fixed),
    /// See [`Adaptive`].
    Adaptive(Adaptive),
    /// See [`Exponential`].
    Exponential(Exponential),
    /// See [`Progressive`].
    Progressive(Progressive),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Polling::Fixed($s) => $e,
            Polling::Adaptive($s) => $e,
            Polling::Exponential($s) => $e,
            Polling::Progressive($s) => $e,
        }
    };
}

impl Polling {
    /// How long to wait before the next check.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{Polling, PollingAlgorithm};
    ///
    /// let mut s = Polling::from(PollingAlgorithm::Exponential);
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn next_interval(&self) -> Duration {
        dispatch!(self, s => s.next_interval())
    }
    /// Feed back that a check saw completions.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{Polling, PollingAlgorithm};
    ///
    /// let mut s = Polling::from(PollingAlgorithm::Exponential);
    /// s.record_no_completion();
    /// s.record_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_completion(&mut self) {
        dispatch!(self, s => s.record_completion())
    }
    /// Feed back that a check saw none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{Polling, PollingAlgorithm};
    ///
    /// let mut s = Polling::from(PollingAlgorithm::Exponential);
    /// s.record_no_completion();
    /// assert_eq!(s.next_interval(), Duration::from_millis(2));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn record_no_completion(&mut self) {
        dispatch!(self, s => s.record_no_completion())
    }
    /// Back to the start.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{Polling, PollingAlgorithm};
    ///
    /// let mut s = Polling::from(PollingAlgorithm::Exponential);
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.record_no_completion();
    /// s.reset();
    /// assert_eq!(s.next_interval(), Duration::from_millis(1));
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn reset(&mut self) {
        dispatch!(self, s => s.reset())
    }
    /// Which algorithm this is.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use concurry::{Polling, PollingAlgorithm};
    ///
    /// let mut s = Polling::from(PollingAlgorithm::Exponential);
    /// assert_eq!(s.algorithm(), PollingAlgorithm::Exponential);
    /// # Ok::<(), concurry::ConfigError>(())
    /// ```
    pub fn algorithm(&self) -> PollingAlgorithm {
        match self {
            Self::Fixed(_) => PollingAlgorithm::Fixed,
            Self::Adaptive(_) => PollingAlgorithm::Adaptive,
            Self::Exponential(_) => PollingAlgorithm::Exponential,
            Self::Progressive(_) => PollingAlgorithm::Progressive,
        }
    }
}

impl From<PollingAlgorithm> for Polling {
    fn from(a: PollingAlgorithm) -> Self {
        a.schedule()
    }
}

/// A fixed interval: `.polling(Duration::from_millis(5))` checks every 5 ms.
/// A zero interval, which [`Fixed::new`] refuses, is taken as 1 µs (Tokio's
/// timer then checks about once a millisecond), never as a busy loop.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// let p = concurry::Polling::from(Duration::from_millis(5));
/// assert_eq!(p.next_interval(), Duration::from_millis(5));
/// let h = std::thread::spawn(|| 1);
/// assert_eq!(concurry::try_gather([concurry::probe::thread(h)]).polling(Duration::from_millis(1)).run().unwrap(), [1]);
/// ```
impl From<Duration> for Polling {
    fn from(interval: Duration) -> Self {
        Polling::Fixed(Fixed { interval: interval.max(Duration::from_micros(1)) })
    }
}

macro_rules! from_schedule {
    ($($t:ident),*) => {$(
        impl From<$t> for Polling {
            fn from(s: $t) -> Self {
                Polling::$t(s)
            }
        }
        impl Default for $t {
            /// The current run-time default ([`config`](crate::config)).
            fn default() -> Self {
                match PollingAlgorithm::$t.schedule() {
                    Polling::$t(s) => s,
                    _ => unreachable!("schedule() returns its own algorithm"),
                }
            }
        }
    )*};
}
from_schedule!(Fixed, Adaptive, Exponential, Progressive);

#[cfg(test)]
mod tests {
    use super::*;

    fn run(mut p: Polling, checks: &[bool]) -> Vec<u64> {
        checks
            .iter()
            .map(|&completed| {
                let us = p.next_interval().as_micros() as u64;
                if completed {
                    p.record_completion();
                } else {
                    p.record_no_completion();
                }
                us
            })
            .collect()
    }

    #[test]
    fn fixed_never_changes() {
        let p = Fixed::new(Duration::from_millis(10)).unwrap().into();
        assert_eq!(run(p, &[true, false, false, false]), [10_000; 4]);
    }

    #[test]
    fn adaptive_sequence() {
        let p = Polling::Adaptive(
            Adaptive::new(Duration::from_millis(10), Duration::from_millis(1), Duration::from_millis(100), 0.7, 1.3, 3)
                .unwrap(),
        );
        // completion x0.7; two empties keep it; the 3rd and 4th multiply by 1.3.
        let seq = run(p, &[true, false, false, false, false, true, false]);
        assert_eq!(seq, [10_000, 7_000, 7_000, 7_000, 9_100, 11_830, 8_281]);
    }

    #[test]
    fn adaptive_is_bounded() {
        let mut a = Adaptive::default();
        for _ in 0..100 {
            a.record_completion();
        }
        assert_eq!(a.next_interval(), Duration::from_millis(1));
        for _ in 0..100 {
            a.record_no_completion();
        }
        assert_eq!(a.next_interval(), Duration::from_millis(100));
        a.reset();
        assert_eq!(a.next_interval(), Duration::from_millis(10));
    }

    #[test]
    fn exponential_sequence() {
        let p = Polling::Exponential(Exponential::default());
        let seq = run(p, &[false; 12]);
        let ms: Vec<u64> = seq.iter().map(|us| us / 1000).collect();
        assert_eq!(ms, [1, 2, 4, 8, 16, 32, 64, 128, 256, 500, 500, 500]);
        let p = Polling::Exponential(Exponential::default());
        assert_eq!(run(p, &[false, false, true, false]), [1_000, 2_000, 4_000, 1_000]);
    }

    #[test]
    fn progressive_sequence() {
        let p = Polling::Progressive(Progressive::default());
        let ms: Vec<u64> = run(p, &[false; 27]).iter().map(|us| us / 1000).collect();
        let mut want = vec![];
        for level in [1, 5, 10, 50, 100] {
            want.extend([level; 5]);
        }
        want.extend([100, 100]);
        assert_eq!(ms, want);
        let p = Polling::Progressive(Progressive::default());
        let ms: Vec<u64> =
            run(p, &[false, false, false, false, false, false, true, false]).iter().map(|us| us / 1000).collect();
        assert_eq!(ms, [1, 1, 1, 1, 1, 5, 5, 1]);
    }

    #[test]
    fn bad_parameters_name_the_value() {
        let ms = Duration::from_millis;
        let e = Fixed::new(Duration::ZERO).unwrap_err().to_string();
        assert!(e.contains("fixed interval") && e.contains("greater than zero"), "{e}");
        let e = Adaptive::new(ms(10), ms(20), ms(100), 0.7, 1.3, 3).unwrap_err().to_string();
        assert!(e.contains("initial_interval"), "{e}");
        let e = Exponential::new(ms(1), ms(500), 1.0).unwrap_err().to_string();
        assert!(e.contains("factor"), "{e}");
        let e = Progressive::new(vec![ms(5), ms(1)], 5).unwrap_err().to_string();
        assert!(e.contains("levels"), "{e}");
        let e = Adaptive::new(ms(10), ms(1), ms(100), 0.7, f64::NAN, 3).unwrap_err().to_string();
        assert!(e.contains("slowdown"), "{e}");
    }

    #[test]
    fn parse_is_case_insensitive() {
        for (s, a) in [
            ("fixed", PollingAlgorithm::Fixed),
            ("ADAPTIVE", PollingAlgorithm::Adaptive),
            ("Exponential", PollingAlgorithm::Exponential),
            (" progressive ", PollingAlgorithm::Progressive),
        ] {
            assert_eq!(s.parse::<PollingAlgorithm>().unwrap(), a);
        }
        let e = "".parse::<PollingAlgorithm>().unwrap_err().to_string();
        assert!(e.contains("valid values are: fixed, adaptive, exponential, progressive"), "{e}");
    }
}
