//! Restart strategies with Flink's names and options: whether a failed job restarts, and after
//! how long. Pure: the JobMaster asks on each failure with the current time.

use std::collections::VecDeque;
use std::time::Duration;

/// `restart-strategy.type` and its options.
#[derive(Debug, Clone, PartialEq)]
pub enum RestartStrategy {
    /// `none`: a failure fails the job.
    None,
    /// `fixed-delay`: up to `attempts` restarts, `delay` apart.
    FixedDelay { attempts: u32, delay: Duration },
    /// `exponential-delay`: the delay grows by `multiplier` up to `max`, and starts over after
    /// `reset_after` without failures; at most `attempts` restarts.
    ExponentialDelay {
        initial: Duration,
        max: Duration,
        multiplier: f64,
        reset_after: Duration,
        attempts: u32,
    },
    /// `failure-rate`: restarts unless more than `max_failures` happen within `interval`.
    FailureRate {
        max_failures: u32,
        interval: Duration,
        delay: Duration,
    },
}

/// A strategy with its memory of past failures.
#[derive(Debug, Clone)]
pub struct RestartBackoff {
    strategy: RestartStrategy,
    restarts: u32,
    current: Duration,
    last_failure: Option<i64>,
    failures: VecDeque<i64>,
}

impl RestartBackoff {
    pub fn new(strategy: RestartStrategy) -> Self {
        let current = match &strategy {
            RestartStrategy::ExponentialDelay { initial, .. } => *initial,
            _ => Duration::ZERO,
        };
        Self {
            strategy,
            restarts: 0,
            current,
            last_failure: None,
            failures: VecDeque::new(),
        }
    }

    pub fn strategy(&self) -> &RestartStrategy {
        &self.strategy
    }

    /// A failure at `now`: restart after the returned delay, or `None` to fail the job.
    pub fn on_failure(&mut self, now: i64) -> Option<Duration> {
        let delay = match &self.strategy {
            RestartStrategy::None => None,
            RestartStrategy::FixedDelay { attempts, delay } => {
                (self.restarts < *attempts).then_some(*delay)
            }
            RestartStrategy::ExponentialDelay {
                initial,
                max,
                multiplier,
                reset_after,
                attempts,
            } => {
                if let Some(last) = self.last_failure {
                    if now - last >= reset_after.as_millis() as i64 {
                        self.current = *initial;
                    }
                }
                let d = self.current;
                self.current = Duration::from_secs_f64(
                    (self.current.as_secs_f64() * multiplier.max(1.0)).min(max.as_secs_f64()),
                );
                (self.restarts < *attempts).then_some(d.min(*max))
            }
            RestartStrategy::FailureRate {
                max_failures,
                interval,
                delay,
            } => {
                self.failures.push_back(now);
                let window = interval.as_millis() as i64;
                while self.failures.front().is_some_and(|t| now - t > window) {
                    self.failures.pop_front();
                }
                (self.failures.len() as u32 <= *max_failures).then_some(*delay)
            }
        };
        self.last_failure = Some(now);
        if delay.is_some() {
            self.restarts += 1;
        }
        delay
    }

    /// Restarts so far (Flink's `numRestarts`).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_delay_counts_attempts() {
        let mut b = RestartBackoff::new(RestartStrategy::FixedDelay {
            attempts: 2,
            delay: Duration::from_millis(10),
        });
        assert_eq!(b.on_failure(0), Some(Duration::from_millis(10)));
        assert_eq!(b.on_failure(1), Some(Duration::from_millis(10)));
        assert_eq!(b.on_failure(2), None);
        assert_eq!(b.restarts(), 2);
        assert_eq!(
            RestartBackoff::new(RestartStrategy::None).on_failure(0),
            None
        );
    }

    #[test]
    fn exponential_delay_grows_caps_and_resets() {
        let mut b = RestartBackoff::new(RestartStrategy::ExponentialDelay {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(300),
            multiplier: 2.0,
            reset_after: Duration::from_secs(10),
            attempts: 10,
        });
        assert_eq!(b.on_failure(0), Some(Duration::from_millis(100)));
        assert_eq!(b.on_failure(1), Some(Duration::from_millis(200)));
        assert_eq!(b.on_failure(2), Some(Duration::from_millis(300)));
        assert_eq!(b.on_failure(3), Some(Duration::from_millis(300)));
        assert_eq!(b.on_failure(20_000), Some(Duration::from_millis(100)));
    }

    #[test]
    fn failure_rate_fails_when_too_many_within_the_interval() {
        let mut b = RestartBackoff::new(RestartStrategy::FailureRate {
            max_failures: 2,
            interval: Duration::from_secs(1),
            delay: Duration::ZERO,
        });
        assert!(b.on_failure(0).is_some());
        assert!(b.on_failure(100).is_some());
        assert!(b.on_failure(200).is_none());
        let mut b = RestartBackoff::new(RestartStrategy::FailureRate {
            max_failures: 1,
            interval: Duration::from_secs(1),
            delay: Duration::ZERO,
        });
        assert!(b.on_failure(0).is_some());
        assert!(
            b.on_failure(5000).is_some(),
            "the first failure left the window"
        );
    }
}
