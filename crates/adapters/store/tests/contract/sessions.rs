//! Refresh-token rotation and logout: each token rotates once, a quick retry is forgiven, a late
//! replay kills the session, and logout revokes exactly what it says.

use std::sync::Arc;

use auth_domain::AuditKind;
use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, SessionId, UserId};
use auth_ports::{
    Digest, LogoutOutcome, RevokeSessions, RotateOutcome, RotateRefresh, SessionStore as _,
    UserQuery,
};
use auth_store::Store;
use auth_store::test_support::{audit_events, execute_sql};
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::support::{SESSION_TTL, app, contract, count_events, digest, event, login, phone, t0};

/// How long a just-rotated token may come back as a retry in these cases.
const GRACE: Duration = Duration::seconds(10);

/// The first refresh token of the case's session, and the successor its rotation names.
const FIRST: u8 = 10;
const SUCCESSOR: u8 = 11;

fn rotate(
    app_id: &AppId,
    presented: Digest,
    successor: Digest,
    now: OffsetDateTime,
) -> RotateRefresh {
    RotateRefresh {
        app_id: app_id.clone(),
        presented_hash: presented,
        successor_hash: successor,
        now,
        reuse_grace: GRACE,
        idle_since: now - IDLE,
        tenant: None,
    }
}

/// How long a token may go unused in these cases.
const IDLE: Duration = Duration::days(14);

async fn rotate_at(
    store: &Store,
    app_id: &AppId,
    presented: Digest,
    successor: Digest,
    now: OffsetDateTime,
) -> RotateOutcome {
    store
        .rotate_refresh(
            rotate(app_id, presented, successor, now),
            event(app_id, AuditKind::Refresh, now),
        )
        .await
        .unwrap()
}

async fn logout_at(
    store: &Store,
    app_id: &AppId,
    presented: Digest,
    all_sessions: bool,
    now: OffsetDateTime,
) -> LogoutOutcome {
    store
        .logout(
            app_id,
            presented,
            all_sessions,
            now,
            event(app_id, AuditKind::Logout, now),
        )
        .await
        .unwrap()
}

contract!(a_refresh_rotates_and_a_quick_retry_gets_the_same_session);
async fn a_refresh_rotates_and_a_quick_retry_gets_the_same_session(store: Store) {
    let app = app(&store).await;
    let (session, user) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);

    let rotated = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), now).await;
    assert_eq!(
        rotated,
        RotateOutcome::Rotated {
            session: session.clone(),
            user: user.clone(),
            tenants: TenantRoles::new(),
        }
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent", "login", "refresh"]
    );

    let retry_at = now + Duration::seconds(1);
    let retried = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), retry_at).await;
    assert_eq!(
        retried,
        RotateOutcome::Retried {
            session: session.clone(),
            user: user.clone(),
            tenants: TenantRoles::new(),
        }
    );
    assert_eq!(
        count_events(&store, &app.id, "refresh_reuse_detected").await,
        0
    );
    // The successor is the session's current token.
    let next = rotate_at(&store, &app.id, digest(SUCCESSOR), digest(12), retry_at).await;
    assert_eq!(
        next,
        RotateOutcome::Rotated {
            session,
            user,
            tenants: TenantRoles::new(),
        }
    );
}

/// The wall clock, as the database's own clock reads it.
#[expect(
    clippy::disallowed_methods,
    reason = "this case is about the database's clock, which fixtures cannot move"
)]
fn wall_clock() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

contract!(a_rotation_applied_long_after_its_request_opens_its_window_when_it_took_effect);
async fn a_rotation_applied_long_after_its_request_opens_its_window_when_it_took_effect(
    store: Store,
) {
    // Arrange: a request that arrived 30 s before the database applied its rotation (a stall), on
    // a session made earlier still.
    let app = app(&store).await;
    let arrived = wall_clock() - Duration::seconds(30);
    let (session, _) = login(
        &store,
        &app.id,
        &phone(1),
        digest(FIRST),
        arrived - Duration::minutes(1),
    )
    .await;
    let rotated = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), arrived).await;

    // Act: the client, told nothing in time, retries now: 30 s after its request, well past the
    // 10 s grace counted from the request, but at once after the rotation took effect.
    let retried = rotate_at(
        &store,
        &app.id,
        digest(FIRST),
        digest(SUCCESSOR),
        wall_clock(),
    )
    .await;

    // Assert
    assert!(
        matches!(rotated, RotateOutcome::Rotated { .. }),
        "{rotated:?}"
    );
    assert!(
        matches!(&retried, RotateOutcome::Retried { session: got, .. } if got.id == session.id),
        "{retried:?}"
    );
    assert_eq!(
        count_events(&store, &app.id, "refresh_reuse_detected").await,
        0
    );
}

/// Postgres only: the database may apply a COMMIT long after the rotation's statement (frozen in
/// between); the deferred trigger moves the rotation's time to the commit itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_postgres_a_rotation_committed_late_takes_effect_at_its_commit() {
    crate::support::on_postgres(|store| async move {
        // Arrange
        let app = app(&store).await;
        login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
        let hex = |d: Digest| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let (first, successor) = (hex(digest(FIRST)), hex(digest(SUCCESSOR)));
        let stated = wall_clock();
        let stated_micros = stated.unix_timestamp_nanos() / 1000;

        // Act: the statement runs now; its transaction commits 1.5 s later.
        execute_sql(
            &store,
            &format!(
                "DO $$ BEGIN \
                 UPDATE refresh_tokens SET rotated_at = {stated_micros}, successor_hash = '\\x{successor}' \
                 WHERE token_hash = '\\x{first}'; \
                 PERFORM pg_sleep(1.5); END $$"
            ),
        )
        .await
        .unwrap();

        // Assert: the stored time is the commit's, not the statement's.
        let committed_after = stated_micros + 1_400_000;
        let moved = execute_sql(
            &store,
            &format!(
                "UPDATE refresh_tokens SET created_at = created_at \
                 WHERE token_hash = '\\x{first}' AND rotated_at >= {committed_after}"
            ),
        )
        .await
        .unwrap();
        assert_eq!(moved, 1, "the rotation kept the statement's time");
    })
    .await;
}

contract!(a_rotated_token_replayed_after_the_grace_window_revokes_the_session);
async fn a_rotated_token_replayed_after_the_grace_window_revokes_the_session(store: Store) {
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);
    let rotated = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), now).await;
    assert!(
        matches!(rotated, RotateOutcome::Rotated { .. }),
        "{rotated:?}"
    );

    let late = now + GRACE + Duration::seconds(1);
    let replayed = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), late).await;

    assert_eq!(replayed, RotateOutcome::Reused);
    let (found, _, _) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(late));
    let successor = rotate_at(&store, &app.id, digest(SUCCESSOR), digest(12), late).await;
    assert_eq!(successor, RotateOutcome::Revoked);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "login",
            "refresh",
            "refresh_reuse_detected"
        ]
    );
}

contract!(concurrent_refreshes_of_one_token_rotate_it_exactly_once);
async fn concurrent_refreshes_of_one_token_rotate_it_exactly_once(store: Store) {
    const RACERS: usize = 10;
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);
    let barrier = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let cmd = rotate(&app.id, digest(FIRST), digest(SUCCESSOR), now);
            let audit = event(&app.id, AuditKind::Refresh, now);
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.rotate_refresh(cmd, audit).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap().unwrap());
    }

    let mut rotations = 0;
    for outcome in &outcomes {
        match outcome {
            RotateOutcome::Rotated { session: got, .. } => {
                assert_eq!(got.id, session.id);
                rotations += 1;
            }
            RotateOutcome::Retried { session: got, .. } => assert_eq!(got.id, session.id),
            other => panic!("a racer with a live token got {other:?}"),
        }
    }
    assert_eq!(rotations, 1, "the token rotates exactly once: {outcomes:?}");
    let (found, _, _) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, None);
    assert_eq!(
        count_events(&store, &app.id, "refresh_reuse_detected").await,
        0
    );
}

contract!(an_unknown_or_another_apps_token_is_invalid);
async fn an_unknown_or_another_apps_token_is_invalid(store: Store) {
    let other = app(&store).await.id;
    let app = app(&store).await;
    login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);

    let unknown = rotate_at(&store, &app.id, digest(99), digest(SUCCESSOR), now).await;
    let foreign = rotate_at(&store, &other, digest(FIRST), digest(SUCCESSOR), now).await;

    assert_eq!(unknown, RotateOutcome::Invalid);
    assert_eq!(foreign, RotateOutcome::Invalid);
    assert_eq!(audit_events(&store, other.as_str()).await, ["app_created"]);
    assert_eq!(count_events(&store, &app.id, "refresh").await, 0);
    // Neither try touched the token: its own app can still rotate it.
    let own = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), now).await;
    assert!(matches!(own, RotateOutcome::Rotated { .. }), "{own:?}");
}

contract!(an_expired_session_cannot_refresh);
async fn an_expired_session_cannot_refresh(store: Store) {
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    assert_eq!(session.expires_at, t0() + SESSION_TTL);

    let mut outcomes = Vec::new();
    for now in [session.expires_at, session.expires_at + Duration::days(1)] {
        outcomes.push(rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), now).await);
    }

    assert_eq!(outcomes, [RotateOutcome::Expired, RotateOutcome::Expired]);
    assert_eq!(count_events(&store, &app.id, "refresh").await, 0);
}

contract!(a_token_unused_past_the_idle_timeout_is_expired_and_its_session_stays);
async fn a_token_unused_past_the_idle_timeout_is_expired_and_its_session_stays(store: Store) {
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let used = t0() + Duration::days(1);
    let rotated = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), used).await;

    let idle = rotate_at(&store, &app.id, digest(SUCCESSOR), digest(12), used + IDLE).await;
    let shorter = store
        .rotate_refresh(
            RotateRefresh {
                idle_since: used,
                ..rotate(
                    &app.id,
                    digest(SUCCESSOR),
                    digest(12),
                    used + Duration::hours(1),
                )
            },
            event(&app.id, AuditKind::Refresh, used),
        )
        .await
        .unwrap();
    let within = rotate_at(
        &store,
        &app.id,
        digest(SUCCESSOR),
        digest(12),
        used + IDLE - Duration::seconds(1),
    )
    .await;

    assert!(
        matches!(rotated, RotateOutcome::Rotated { .. }),
        "{rotated:?}"
    );
    assert_eq!(idle, RotateOutcome::Expired, "idle as long as the timeout");
    assert_eq!(
        shorter,
        RotateOutcome::Expired,
        "idle past a shorter timeout"
    );
    assert!(
        matches!(within, RotateOutcome::Rotated { .. }),
        "an idle token expires, its session does not: {within:?}"
    );
    assert!(session.expires_at > used + IDLE);
    assert_eq!(
        count_events(&store, &app.id, "refresh_reuse_detected").await,
        0
    );
}

contract!(logout_revokes_the_session_and_is_idempotent);
async fn logout_revokes_the_session_and_is_idempotent(store: Store) {
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);

    let first = logout_at(&store, &app.id, digest(FIRST), false, now).await;
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent", "login", "logout"]
    );
    let again = logout_at(
        &store,
        &app.id,
        digest(FIRST),
        false,
        now + Duration::seconds(5),
    )
    .await;

    assert_eq!(first, LogoutOutcome::Revoked(1));
    assert_eq!(again, LogoutOutcome::Revoked(0));
    let (found, _, _) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, Some(now));
    let refreshed = rotate_at(&store, &app.id, digest(FIRST), digest(SUCCESSOR), now).await;
    assert_eq!(refreshed, RotateOutcome::Revoked);
}

contract!(logout_everywhere_revokes_every_session_of_that_user_only);
async fn logout_everywhere_revokes_every_session_of_that_user_only(store: Store) {
    let app = app(&store).await;
    let (phone_session, _) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (laptop_session, _) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (someone_else, _) = login(&store, &app.id, &phone(2), digest(30), t0()).await;
    assert_eq!(phone_session.user_id, laptop_session.user_id);
    let now = t0() + Duration::minutes(1);

    let outcome = logout_at(&store, &app.id, digest(10), true, now).await;

    assert_eq!(outcome, LogoutOutcome::Revoked(2));
    for revoked in [&phone_session, &laptop_session] {
        let (found, _, _) = store
            .find_session(&revoked.app_id, &revoked.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.revoked_at, Some(now));
    }
    let (untouched, _, _) = store
        .find_session(&someone_else.app_id, &someone_else.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.revoked_at, None);
    let refreshed = rotate_at(&store, &app.id, digest(30), digest(31), now).await;
    assert!(
        matches!(refreshed, RotateOutcome::Rotated { .. }),
        "{refreshed:?}"
    );
    assert_eq!(count_events(&store, &app.id, "logout").await, 1);
}

contract!(logout_with_an_unknown_or_another_apps_token_is_invalid);
async fn logout_with_an_unknown_or_another_apps_token_is_invalid(store: Store) {
    let other = app(&store).await.id;
    let app = app(&store).await;
    let (session, _) = login(&store, &app.id, &phone(1), digest(FIRST), t0()).await;
    let now = t0() + Duration::minutes(1);

    let unknown = logout_at(&store, &app.id, digest(99), false, now).await;
    let foreign = logout_at(&store, &other, digest(FIRST), true, now).await;

    assert_eq!(unknown, LogoutOutcome::Invalid);
    assert_eq!(foreign, LogoutOutcome::Invalid);
    let (found, _, _) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, None);
    assert_eq!(count_events(&store, &app.id, "logout").await, 0);
    assert_eq!(audit_events(&store, other.as_str()).await, ["app_created"]);
}

fn users_of(app_id: &AppId, now: OffsetDateTime) -> UserQuery {
    UserQuery {
        app_id: app_id.clone(),
        identifier: None,
        after: None,
        limit: 50,
        now,
    }
}

async fn revoke_at(
    store: &Store,
    app_id: &AppId,
    user_id: &UserId,
    session: Option<&SessionId>,
    now: OffsetDateTime,
) -> u64 {
    let revoke = RevokeSessions {
        app_id: app_id.clone(),
        user_id: user_id.clone(),
        session: session.cloned(),
        now,
    };
    store
        .revoke_sessions(revoke, event(app_id, AuditKind::SessionRevoked, now))
        .await
        .unwrap()
}

contract!(users_list_in_id_order_with_their_live_sessions_and_only_the_apps_own);
async fn users_list_in_id_order_with_their_live_sessions_and_only_the_apps_own(store: Store) {
    let other = app(&store).await;
    login(&store, &other.id, &phone(1), digest(40), t0()).await;
    let app = app(&store).await;
    let (_, busy) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (_, idle) = login(&store, &app.id, &phone(2), digest(30), t0()).await;
    let now = t0() + Duration::minutes(1);
    logout_at(&store, &app.id, digest(30), false, now).await;
    let mut expected = vec![(busy.id.clone(), 2), (idle.id.clone(), 0)];
    expected.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));

    let listed = store.users(users_of(&app.id, now)).await.unwrap();
    let first = store
        .users(UserQuery {
            limit: 1,
            ..users_of(&app.id, now)
        })
        .await
        .unwrap();
    let second = store
        .users(UserQuery {
            limit: 1,
            after: Some(first[0].user.id.clone()),
            ..users_of(&app.id, now)
        })
        .await
        .unwrap();
    let by_phone = store
        .users(UserQuery {
            identifier: Some(phone(2)),
            ..users_of(&app.id, now)
        })
        .await
        .unwrap();
    let after_expiry = store
        .users(users_of(&app.id, t0() + SESSION_TTL))
        .await
        .unwrap();

    let counted: Vec<_> = listed
        .iter()
        .map(|u| (u.user.id.clone(), u.live_sessions))
        .collect();
    assert_eq!(counted, expected);
    assert_eq!(
        [first[0].user.id.clone(), second[0].user.id.clone()],
        [expected[0].0.clone(), expected[1].0.clone()]
    );
    assert_eq!(by_phone.len(), 1);
    assert_eq!(by_phone[0].user, idle);
    assert!(after_expiry.iter().all(|u| u.live_sessions == 0));
}

contract!(a_users_sessions_list_newest_first_and_another_apps_user_is_none);
async fn a_users_sessions_list_newest_first_and_another_apps_user_is_none(store: Store) {
    let other = app(&store).await;
    let (_, stranger) = login(&store, &other.id, &phone(1), digest(40), t0()).await;
    let app = app(&store).await;
    let (older, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let later = t0() + Duration::minutes(5);
    let (newer, _) = login(&store, &app.id, &phone(1), digest(20), later).await;

    let (found, sessions) = store
        .user_sessions(&app.id, &user.id, 50)
        .await
        .unwrap()
        .unwrap();
    let newest = store
        .user_sessions(&app.id, &user.id, 1)
        .await
        .unwrap()
        .unwrap()
        .1;
    let foreign = store
        .user_sessions(&app.id, &stranger.id, 50)
        .await
        .unwrap();

    assert_eq!(found, user);
    assert_eq!(sessions, [newer.clone(), older]);
    assert_eq!(newest, [newer]);
    assert_eq!(foreign, None);
}

contract!(revoking_ends_one_or_every_live_session_and_records_only_a_change);
async fn revoking_ends_one_or_every_live_session_and_records_only_a_change(store: Store) {
    let app = app(&store).await;
    let (phone_session, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (laptop_session, _) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (tablet_session, _) = login(&store, &app.id, &phone(1), digest(30), t0()).await;
    let (someone_else, _) = login(&store, &app.id, &phone(2), digest(50), t0()).await;
    let now = t0() + Duration::minutes(1);

    let one = revoke_at(&store, &app.id, &user.id, Some(&phone_session.id), now).await;
    let again = revoke_at(&store, &app.id, &user.id, Some(&phone_session.id), now).await;
    // Someone else's session named under this user's id is not this user's to end.
    let mismatched = revoke_at(&store, &app.id, &user.id, Some(&someone_else.id), now).await;
    let rest = revoke_at(&store, &app.id, &user.id, None, now).await;

    assert_eq!([one, again, mismatched, rest], [1, 0, 0, 2]);
    for session in [&phone_session, &laptop_session, &tablet_session] {
        let (found, _, _) = store
            .find_session(&session.app_id, &session.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.revoked_at, Some(now));
    }
    let (untouched, _, _) = store
        .find_session(&someone_else.app_id, &someone_else.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.revoked_at, None);
    let refreshed = rotate_at(&store, &app.id, digest(20), digest(21), now).await;
    assert_eq!(refreshed, RotateOutcome::Revoked);
    assert_eq!(count_events(&store, &app.id, "session_revoked").await, 2);
}

contract!(racing_revocations_of_every_session_end_each_once_with_one_record);
async fn racing_revocations_of_every_session_end_each_once_with_one_record(store: Store) {
    const RACERS: usize = 8;
    let app = app(&store).await;
    let mut user = None;
    for n in 0..3 {
        user = Some(
            login(&store, &app.id, &phone(1), digest(10 + n), t0())
                .await
                .1,
        );
    }
    let user = user.unwrap();
    let now = t0() + Duration::minutes(1);
    let barrier = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            let (app_id, user_id) = (app.id.clone(), user.id.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                revoke_at(&store, &app_id, &user_id, None, now).await
            })
        })
        .collect();
    let mut revoked = Vec::new();
    for racer in racers {
        revoked.push(racer.await.unwrap());
    }

    assert_eq!(revoked.iter().sum::<u64>(), 3, "{revoked:?}");
    assert_eq!(count_events(&store, &app.id, "session_revoked").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_on_sqlite_finds_its_session_by_key_instead_of_scanning_them_all() {
    crate::support::on_sqlite(|store: Store| async move {
        let plan = auth_store::test_support::sqlite_rotation_plan(&store).await;

        // Every step searches by a key: a scan of sessions grows with every session ever made.
        assert!(
            plan.iter().all(|step| !step.starts_with("SCAN")),
            "a full scan in the rotation: {plan:#?}"
        );
        assert!(
            plan.iter().any(|step| step.starts_with("SEARCH sessions")),
            "{plan:#?}"
        );
    })
    .await;
}
