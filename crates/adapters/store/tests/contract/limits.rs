//! Rate limits: fixed windows from a key's first hit, counted atomically in the database.

use std::sync::Arc;

use auth_ports::{RateDecision, RateLimit, RateLimiter as _};
use auth_store::Store;
use time::Duration;
use tokio::sync::Barrier;

use crate::support::{contract, t0};

const WINDOW: Duration = Duration::seconds(60);

contract!(hits_beyond_the_limit_are_refused_until_the_window_ends);
async fn hits_beyond_the_limit_are_refused_until_the_window_ends(store: Store) {
    let key = "otp-send:person";

    let first = store.hit(key, 2, WINDOW, t0()).await.unwrap();
    let second = store
        .hit(key, 2, WINDOW, t0() + Duration::seconds(1))
        .await
        .unwrap();
    let third = store
        .hit(key, 2, WINDOW, t0() + Duration::seconds(2))
        .await
        .unwrap();
    let next_window = store
        .hit(key, 2, WINDOW, t0() + Duration::seconds(61))
        .await
        .unwrap();

    assert_eq!(first, RateDecision::Allowed);
    assert_eq!(second, RateDecision::Allowed);
    let RateDecision::Limited { retry_after } = third else {
        panic!("the third hit within the window must be limited");
    };
    assert!(
        (Duration::seconds(1)..=WINDOW).contains(&retry_after),
        "retry after {retry_after}"
    );
    assert_eq!(next_window, RateDecision::Allowed);
}

contract!(peeking_does_not_count_but_sees_a_reached_limit);
async fn peeking_does_not_count_but_sees_a_reached_limit(store: Store) {
    let key = "otp-verify:person";

    for _ in 0..5 {
        assert_eq!(
            store.peek(key, 2, WINDOW, t0()).await.unwrap(),
            RateDecision::Allowed
        );
    }
    let first = store.hit(key, 2, WINDOW, t0()).await.unwrap();
    let peek_below = store.peek(key, 2, WINDOW, t0()).await.unwrap();
    let second = store.hit(key, 2, WINDOW, t0()).await.unwrap();
    let peek_at_limit = store
        .peek(key, 2, WINDOW, t0() + Duration::seconds(1))
        .await
        .unwrap();

    assert_eq!(first, RateDecision::Allowed);
    assert_eq!(peek_below, RateDecision::Allowed);
    assert_eq!(second, RateDecision::Allowed);
    let RateDecision::Limited { retry_after } = peek_at_limit else {
        panic!("a peek at a reached limit must say limited");
    };
    assert!(
        (Duration::seconds(1)..=WINDOW).contains(&retry_after),
        "retry after {retry_after}"
    );
}

contract!(reset_forgets_the_window);
async fn reset_forgets_the_window(store: Store) {
    let key = "otp-cooldown:person";
    for _ in 0..2 {
        store.hit(key, 1, WINDOW, t0()).await.unwrap();
    }
    assert!(matches!(
        store.peek(key, 1, WINDOW, t0()).await.unwrap(),
        RateDecision::Limited { .. }
    ));

    store.reset(key).await.unwrap();

    assert_eq!(
        store.peek(key, 1, WINDOW, t0()).await.unwrap(),
        RateDecision::Allowed
    );
    assert_eq!(
        store.hit(key, 1, WINDOW, t0()).await.unwrap(),
        RateDecision::Allowed
    );
    store.reset("never-hit").await.unwrap();
}

contract!(keys_are_counted_independently);
async fn keys_are_counted_independently(store: Store) {
    let first = store.hit("ip:one", 1, WINDOW, t0()).await.unwrap();
    let over = store.hit("ip:one", 1, WINDOW, t0()).await.unwrap();
    let other = store.hit("ip:two", 1, WINDOW, t0()).await.unwrap();

    assert_eq!(first, RateDecision::Allowed);
    assert!(matches!(over, RateDecision::Limited { .. }), "{over:?}");
    assert_eq!(other, RateDecision::Allowed);
}

contract!(concurrent_hits_allow_exactly_the_limit);
async fn concurrent_hits_allow_exactly_the_limit(store: Store) {
    const RACERS: usize = 20;
    const LIMIT: u32 = 5;
    let barrier = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.hit("otp-send:crowd", LIMIT, WINDOW, t0()).await
            })
        })
        .collect();
    let mut allowed = 0;
    for racer in racers {
        match racer.await.unwrap().unwrap() {
            RateDecision::Allowed => allowed += 1,
            RateDecision::Limited { .. } => {}
        }
    }

    assert_eq!(allowed, LIMIT);
}

contract!(purging_removes_only_windows_that_have_ended);
async fn purging_removes_only_windows_that_have_ended(store: Store) {
    store
        .hit("short", 1, Duration::seconds(10), t0())
        .await
        .unwrap();
    store
        .hit("long", 1, Duration::seconds(100), t0())
        .await
        .unwrap();

    let purged = store
        .purge_expired(t0() + Duration::seconds(50))
        .await
        .unwrap();

    assert_eq!(purged, 1);
    // The short window is gone, so its key counts from zero again; the long one still refuses.
    assert_eq!(
        store
            .hit(
                "short",
                1,
                Duration::seconds(10),
                t0() + Duration::seconds(50)
            )
            .await
            .unwrap(),
        RateDecision::Allowed
    );
    assert!(matches!(
        store
            .hit(
                "long",
                1,
                Duration::seconds(100),
                t0() + Duration::seconds(50)
            )
            .await
            .unwrap(),
        RateDecision::Limited { .. }
    ));
}

fn counted(key: &str, limit: u32) -> RateLimit {
    RateLimit {
        key: key.to_owned(),
        limit,
        window: WINDOW,
        counted: true,
    }
}

fn checked(key: &str, limit: u32) -> RateLimit {
    RateLimit {
        counted: false,
        ..counted(key, limit)
    }
}

contract!(a_batch_stops_at_its_first_refusal_and_counts_nothing_after_it);
async fn a_batch_stops_at_its_first_refusal_and_counts_nothing_after_it(store: Store) {
    // Arrange: "checked" is at its limit; "full" has room for one more.
    store.hit("batch:checked", 1, WINDOW, t0()).await.unwrap();
    store.hit("batch:full", 2, WINDOW, t0()).await.unwrap();
    let batch = [
        counted("batch:before", 1),
        counted("batch:full", 2),
        counted("batch:full-again", 1),
        checked("batch:checked", 1),
        counted("batch:after", 1),
    ];

    // Act
    let first = store.hit_all(&batch, t0()).await.unwrap();
    let second = store.hit_all(&batch[..2], t0()).await.unwrap();

    // Assert: refused at the checked limit; everything before it counted, nothing after it.
    let refusal = first.expect("the checked limit is reached");
    assert_eq!(refusal.index, 3);
    assert!(
        (Duration::seconds(1)..=WINDOW).contains(&refusal.retry_after),
        "{refusal:?}"
    );
    assert!(
        matches!(
            store.peek("batch:before", 1, WINDOW, t0()).await.unwrap(),
            RateDecision::Limited { .. }
        ),
        "a limit before the refusal was not counted"
    );
    assert_eq!(
        store.peek("batch:after", 1, WINDOW, t0()).await.unwrap(),
        RateDecision::Allowed,
        "a limit after the refusal was counted"
    );
    assert_eq!(
        store.peek("batch:checked", 2, WINDOW, t0()).await.unwrap(),
        RateDecision::Allowed,
        "a checked limit was counted"
    );
    // "before" was counted once already: the second batch is refused there, and "full" untouched.
    assert_eq!(second.map(|refusal| refusal.index), Some(0));
    assert_eq!(
        store.peek("batch:full", 3, WINDOW, t0()).await.unwrap(),
        RateDecision::Allowed,
        "\"full\" holds more than its two hits"
    );
}

contract!(concurrent_batches_sharing_counters_allow_exactly_their_limits);
async fn concurrent_batches_sharing_counters_allow_exactly_their_limits(store: Store) {
    const RACERS: usize = 20;
    const LIMIT: u32 = 5;
    let barrier = Arc::new(Barrier::new(RACERS));

    // Each names the shared counters in another order: none may deadlock or count twice.
    let racers: Vec<_> = (0..RACERS)
        .map(|i| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                let mut batch = vec![
                    counted(&format!("crowd:own:{i}"), 1),
                    counted("crowd:app", LIMIT),
                    counted("crowd:global", 1000),
                ];
                if i % 2 == 1 {
                    batch.reverse();
                }
                barrier.wait().await;
                store.hit_all(&batch, t0()).await
            })
        })
        .collect();
    let mut allowed = 0;
    for racer in racers {
        if racer.await.unwrap().unwrap().is_none() {
            allowed += 1;
        }
    }

    assert_eq!(allowed, LIMIT);
}
