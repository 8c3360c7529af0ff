//! When the database was unreachable, as this process saw it: from the first call that failed for
//! it to the next that succeeded. A retry that waited out an outage is not to be counted against
//! a grace window the outage used up.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The most outages remembered; older ones fall off.
const KEPT: usize = 64;

#[derive(Debug)]
pub(crate) struct Outages {
    /// Whether an outage is going on: the fast path of every successful call reads only this.
    down: AtomicBool,
    /// When the latest outage ended, in nanoseconds after `origin` (0: none yet): lets
    /// [`Outages::within`] answer without the lock when none touches its window.
    last_end: AtomicU64,
    origin: Instant,
    state: Mutex<State>,
}

impl Default for Outages {
    fn default() -> Self {
        Self {
            down: AtomicBool::new(false),
            last_end: AtomicU64::new(0),
            origin: Instant::now(),
            state: Mutex::default(),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    since: Option<Instant>,
    past: VecDeque<(Instant, Instant)>,
}

impl Outages {
    /// A call that started at `started` failed because the database did not answer.
    pub(crate) fn failed(&self, started: Instant) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = state.since.map_or(started, |since| since.min(started));
        state.since = Some(since);
        self.down.store(true, Ordering::Release);
    }

    /// A call succeeded: an outage going on, if any, is over.
    pub(crate) fn answered(&self) {
        if !self.down.load(Ordering::Acquire) {
            return;
        }
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(since) = state.since.take() {
            if state.past.len() == KEPT {
                state.past.pop_front();
            }
            let now = Instant::now();
            state.past.push_back((since, now));
            let after =
                u64::try_from(now.duration_since(self.origin).as_nanos()).unwrap_or(u64::MAX);
            self.last_end.store(after.max(1), Ordering::Release);
        }
        self.down.store(false, Ordering::Release);
    }

    /// How much of the last `window` the database was unreachable, the ongoing outage included.
    pub(crate) fn within(&self, window: Duration) -> Duration {
        let now = Instant::now();
        let from = now.checked_sub(window).unwrap_or(now);
        // The common case, on every refresh: no outage now, none ended inside the window.
        // `down` first: an outage that just ended stored its end before clearing `down`.
        let down = self.down.load(Ordering::Acquire);
        let last_end = self.last_end.load(Ordering::Acquire);
        if !down && (last_end == 0 || self.origin + Duration::from_nanos(last_end) < from) {
            return Duration::ZERO;
        }
        let state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state
            .past
            .iter()
            .copied()
            .chain(state.since.map(|since| (since, now)))
            .map(|(start, end)| end.saturating_duration_since(start.max(from)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_counts_from_its_first_failure_to_the_next_answer_and_only_inside_the_window() {
        let outages = Outages::default();
        assert_eq!(outages.within(Duration::from_secs(60)), Duration::ZERO);

        let started = Instant::now().checked_sub(Duration::from_secs(3)).unwrap();
        outages.failed(started);
        outages.failed(Instant::now());
        let ongoing = outages.within(Duration::from_secs(60));
        outages.answered();
        let over = outages.within(Duration::from_secs(60));
        outages.answered();

        assert!(ongoing >= Duration::from_secs(3), "{ongoing:?}");
        assert!(
            over >= Duration::from_secs(3) && over < Duration::from_secs(4),
            "{over:?}"
        );
        assert_eq!(
            outages.within(Duration::from_secs(60)),
            over,
            "answered twice, one outage"
        );
        assert!(outages.within(Duration::from_secs(1)) <= Duration::from_secs(1));
    }
}
