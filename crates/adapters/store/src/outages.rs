//! When the database was unreachable, as this process saw it: from the first call that failed for
//! it to the next that succeeded. A retry that waited out an outage is not to be counted against
//! a grace window the outage used up.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The most outages remembered; older ones fall off.
const KEPT: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Outages {
    /// Whether an outage is going on: the fast path of every successful call reads only this.
    down: AtomicBool,
    state: Mutex<State>,
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
            state.past.push_back((since, Instant::now()));
        }
        self.down.store(false, Ordering::Release);
    }

    /// How much of the last `window` the database was unreachable, the ongoing outage included.
    pub(crate) fn within(&self, window: Duration) -> Duration {
        let now = Instant::now();
        let from = now.checked_sub(window).unwrap_or(now);
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
