//! Run-time defaults: the spec's `global_config.defaults`.
//!
//! Every entry point reads these at call time (and only the values it needs),
//! so a change applies to every later call, from any thread. A setting given
//! on a call (`.polling(..)`: an algorithm, a schedule, or a `Duration` for a
//! fixed interval) beats the default.
//!
//! | setting | default |
//! |---|---|
//! | `async_wait_poll_interval`, `async_gather_poll_interval` | 100 µs |
//! | `polling` (sync `wait`/`gather`) | `PollingAlgorithm::Adaptive` |
//! | `fixed` | 10 ms |
//! | `adaptive` | 10 ms start, x0.7 / x1.3 after 3 empty checks, 1 ms ..= 100 ms |
//! | `exponential` | 1 ms start, x2, at most 500 ms |
//! | `progressive` | 1, 5, 10, 50, 100 ms, 5 checks each |
//!
//! # Examples
//!
//! ```rust,standalone_crate
//! use std::time::Duration;
//! use concurry::{config, PollingAlgorithm};
//!
//! config::update(|d| {
//!     d.polling = PollingAlgorithm::Exponential;
//!     d.async_gather_poll_interval = Duration::from_millis(1);
//! })?;
//! assert_eq!(config::defaults().polling, PollingAlgorithm::Exponential);
//! config::reset();
//! assert_eq!(config::defaults().polling, PollingAlgorithm::Adaptive);
//! # Ok::<(), concurry::ConfigError>(())
//! ```

use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use crate::error::ConfigError;
use crate::polling::{Adaptive, Exponential, Fixed, PollingAlgorithm, Progressive};

/// The defaults every call starts from. See the [module docs](self).
///
/// # Examples
///
/// ```
/// let d = concurry::config::Defaults::spec();
/// assert_eq!(d.polling, concurry::PollingAlgorithm::Adaptive);
/// assert_eq!(d.fixed.next_interval(), std::time::Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Defaults {
    /// How often `async_wait` checks children that cannot wake it.
    pub async_wait_poll_interval: Duration,
    /// How often `async_gather` checks children that cannot wake it.
    pub async_gather_poll_interval: Duration,
    /// The algorithm of the blocking `wait` and `gather`.
    pub polling: PollingAlgorithm,
    /// Parameters of [`PollingAlgorithm::Fixed`].
    pub fixed: Fixed,
    /// Parameters of [`PollingAlgorithm::Adaptive`].
    pub adaptive: Adaptive,
    /// Parameters of [`PollingAlgorithm::Exponential`].
    pub exponential: Exponential,
    /// Parameters of [`PollingAlgorithm::Progressive`].
    pub progressive: Progressive,
}

impl Defaults {
    /// The spec's defaults.
    ///
    /// # Examples
    ///
    /// ```
    /// let d = concurry::config::Defaults::spec();
    /// assert_eq!(d.async_wait_poll_interval, std::time::Duration::from_micros(100));
    /// ```
    pub fn spec() -> Self {
        let ms = Duration::from_millis;
        let ok = "the spec's defaults are valid";
        Self {
            async_wait_poll_interval: Duration::from_micros(100),
            async_gather_poll_interval: Duration::from_micros(100),
            polling: PollingAlgorithm::Adaptive,
            fixed: Fixed::new(ms(10)).expect(ok),
            adaptive: Adaptive::new(ms(10), ms(1), ms(100), 0.7, 1.3, 3).expect(ok),
            exponential: Exponential::new(ms(1), ms(500), 2.0).expect(ok),
            progressive: Progressive::new(vec![ms(1), ms(5), ms(10), ms(50), ms(100)], 5).expect(ok),
        }
    }

    // The schedules validate themselves when built; only the plain intervals
    // can be set to something invalid here.
    fn validate(&self) -> Result<(), ConfigError> {
        for (name, d) in [
            ("async_wait_poll_interval", self.async_wait_poll_interval),
            ("async_gather_poll_interval", self.async_gather_poll_interval),
        ] {
            if d.is_zero() {
                return Err(ConfigError::new(name, format!("{d:?}"), "must be greater than zero"));
            }
        }
        Ok(())
    }
}

static DEFAULTS: RwLock<Option<Defaults>> = RwLock::new(None);

fn with<R>(f: impl FnOnce(&Defaults) -> R) -> R {
    // A panic while holding the lock cannot leave `Defaults` half-written
    // (`update` validates a copy), so a poisoned lock is still sound.
    let guard = DEFAULTS.read().unwrap_or_else(PoisonError::into_inner);
    match guard.as_ref() {
        Some(d) => f(d),
        None => f(&Defaults::spec()),
    }
}

/// A copy of the current defaults.
///
/// # Examples
///
/// ```
/// assert!(concurry::config::defaults().async_gather_poll_interval > std::time::Duration::ZERO);
/// ```
pub fn defaults() -> Defaults {
    with(Defaults::clone)
}

pub(crate) fn async_poll_interval(wait: bool) -> Duration {
    with(|d| if wait { d.async_wait_poll_interval } else { d.async_gather_poll_interval })
}

pub(crate) fn fixed_interval() -> Duration {
    with(|d| d.fixed.next_interval())
}

pub(crate) fn sync_polling() -> PollingAlgorithm {
    with(|d| d.polling)
}

/// Change the defaults. The closure edits a copy; the copy replaces the
/// defaults only if every value is valid.
///
/// # Errors
///
/// A zero poll interval. Nothing is changed then.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let err = concurry::config::update(|d| d.async_wait_poll_interval = Duration::ZERO).unwrap_err();
/// assert!(err.to_string().contains("async_wait_poll_interval"));
/// ```
pub fn update(f: impl FnOnce(&mut Defaults)) -> Result<(), ConfigError> {
    let mut next = defaults();
    f(&mut next);
    next.validate()?;
    *DEFAULTS.write().unwrap_or_else(PoisonError::into_inner) = Some(next);
    Ok(())
}

/// Back to the spec's defaults.
///
/// # Examples
///
/// ```rust,standalone_crate
/// concurry::config::reset();
/// assert_eq!(concurry::config::defaults(), concurry::config::Defaults::spec());
/// ```
pub fn reset() {
    *DEFAULTS.write().unwrap_or_else(PoisonError::into_inner) = None;
}
