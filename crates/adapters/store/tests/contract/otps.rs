//! Codes: the right one logs in exactly once, wrong ones count down to a lock, dead ones stay dead.

use std::sync::Arc;

use auth_domain::claims::TenantRoles;
use auth_domain::{AuditKind, Phone};
use auth_ports::{NewLogin, OtpStore as _, SessionStore as _, VerifyOtp, VerifyOtpOutcome};
use auth_store::Store;
use auth_store::test_support::audit_events;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::support::{
    MAX_ATTEMPTS, OTP_TTL, RIGHT_CODE, WRONG_CODE, app, contract, count_events, count_rows, digest,
    event, login, otp_id, phone, send_code, send_code_for, t0, verify,
};

contract!(the_right_code_logs_in_a_new_user);
async fn the_right_code_logs_in_a_new_user(store: Store) {
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(30);
    let cmd = verify(&app.id, &otp, RIGHT_CODE, now, digest(10));
    let expected = cmd.login.clone();

    let outcome = store
        .verify_otp(cmd, event(&app.id, AuditKind::Login, now))
        .await
        .unwrap();

    let VerifyOtpOutcome::LoggedIn {
        user,
        is_new_user,
        session,
        ..
    } = outcome
    else {
        panic!("the right code must log in");
    };
    assert!(is_new_user);
    assert_eq!(user.id, expected.new_user_id);
    assert_eq!(user.app_id, app.id);
    assert_eq!(user.phone, Some(Phone::parse("+919876500001").unwrap()));
    assert_eq!(user.email, None);
    assert_eq!(session.id, expected.session_id);
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.app_id, app.id);
    assert_eq!(session.created_at, now);
    assert_eq!(session.expires_at, expected.session_expires_at);
    assert_eq!(session.revoked_at, None);
    let found = store.find_session(&app.id, &session.id).await.unwrap();
    assert_eq!(found, Some((session, user, TenantRoles::new())));
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent", "login"]
    );
}

contract!(the_same_login_presented_again_within_the_window_gets_the_same_session);
async fn the_same_login_presented_again_within_the_window_gets_the_same_session(store: Store) {
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(30);
    let first = VerifyOtp {
        retry_grace: Duration::seconds(10),
        ..verify(&app.id, &otp, RIGHT_CODE, now, digest(10))
    };
    // The retry derives the same session id and refresh token; only its user id is fresh.
    let retry = |at: OffsetDateTime, presented| VerifyOtp {
        now: at,
        presented_hash: presented,
        login: NewLogin {
            new_user_id: verify(&app.id, &otp, RIGHT_CODE, at, digest(10))
                .login
                .new_user_id,
            ..first.login.clone()
        },
        ..first.clone()
    };
    let another_login = VerifyOtp {
        login: verify(&app.id, &otp, RIGHT_CODE, now, digest(10)).login,
        ..retry(now + Duration::seconds(2), RIGHT_CODE)
    };
    let present = |cmd: VerifyOtp| {
        let store = store.clone();
        let app_id = app.id.clone();
        async move {
            let at = cmd.now;
            store
                .verify_otp(cmd, event(&app_id, AuditKind::Login, at))
                .await
                .unwrap()
        }
    };

    let logged_in = present(first.clone()).await;
    // Presented when the first one was: it raced the login, and lost.
    let raced = present(retry(now, RIGHT_CODE)).await;
    let retried = present(retry(now + Duration::seconds(2), RIGHT_CODE)).await;
    let wrong = present(retry(now + Duration::seconds(3), WRONG_CODE)).await;
    let other_ids = present(another_login).await;
    let late = present(retry(now + Duration::seconds(10), RIGHT_CODE)).await;

    let VerifyOtpOutcome::LoggedIn { user, session, .. } = logged_in else {
        panic!("the right code must log in");
    };
    let VerifyOtpOutcome::LoggedIn {
        user: again_user,
        session: again_session,
        is_new_user,
        ..
    } = retried
    else {
        panic!("a retry within the window must be answered: {retried:?}");
    };
    assert_eq!((again_user, again_session), (user, session));
    assert!(is_new_user, "the retry repeats the first answer");
    assert_eq!(raced, VerifyOtpOutcome::NotFound);
    assert_eq!(wrong, VerifyOtpOutcome::NotFound);
    assert_eq!(other_ids, VerifyOtpOutcome::NotFound);
    assert_eq!(late, VerifyOtpOutcome::NotFound);
    assert_eq!(count_rows(&store, "sessions", &app.id).await, 1);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent", "login", "login"]
    );
}

contract!(a_second_login_finds_the_same_user);
async fn a_second_login_finds_the_same_user(store: Store) {
    let app = app(&store).await;
    let (_, first_user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let later = t0() + Duration::hours(1);
    let otp = send_code(&store, &app.id, &phone(1), later).await;
    let cmd = verify(&app.id, &otp, RIGHT_CODE, later, digest(20));
    let unused_user_id = cmd.login.new_user_id.clone();

    let outcome = store
        .verify_otp(cmd, event(&app.id, AuditKind::Login, later))
        .await
        .unwrap();

    let VerifyOtpOutcome::LoggedIn {
        user,
        is_new_user,
        session,
        ..
    } = outcome
    else {
        panic!("the right code must log in");
    };
    assert!(!is_new_user);
    assert_eq!(user, first_user);
    assert_ne!(user.id, unused_user_id);
    assert_eq!(session.user_id, first_user.id);
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent", "login", "otp_sent", "login"]
    );
}

contract!(wrong_codes_count_down_then_even_the_right_code_is_locked_out);
async fn wrong_codes_count_down_then_even_the_right_code_is_locked_out(store: Store) {
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(10);

    let mut remaining = Vec::new();
    for _ in 0..MAX_ATTEMPTS {
        let outcome = store
            .verify_otp(
                verify(&app.id, &otp, WRONG_CODE, now, digest(10)),
                event(&app.id, AuditKind::Login, now),
            )
            .await
            .unwrap();
        let VerifyOtpOutcome::WrongCode {
            attempts_remaining,
            identifier,
        } = outcome
        else {
            panic!("a wrong code must be counted");
        };
        assert_eq!(identifier, phone(1));
        remaining.push(attempts_remaining);
    }
    let right = store
        .verify_otp(
            verify(&app.id, &otp, RIGHT_CODE, now, digest(11)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    let wrong_again = store
        .verify_otp(
            verify(&app.id, &otp, WRONG_CODE, now, digest(12)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();

    assert_eq!(remaining, [2, 1, 0]);
    assert_eq!(right, VerifyOtpOutcome::Locked);
    assert_eq!(wrong_again, VerifyOtpOutcome::Locked);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "otp_verify_failed",
            "otp_verify_failed",
            "otp_locked"
        ]
    );
}

contract!(an_expired_code_is_refused);
async fn an_expired_code_is_refused(store: Store) {
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;

    let mut outcomes = Vec::new();
    for now in [t0() + OTP_TTL, t0() + OTP_TTL + Duration::hours(1)] {
        let outcome = store
            .verify_otp(
                verify(&app.id, &otp, RIGHT_CODE, now, digest(10)),
                event(&app.id, AuditKind::Login, now),
            )
            .await
            .unwrap();
        outcomes.push(outcome);
    }

    assert_eq!(
        outcomes,
        [VerifyOtpOutcome::Expired, VerifyOtpOutcome::Expired]
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "otp_sent"]
    );
}

contract!(an_unknown_or_another_apps_code_is_not_found);
async fn an_unknown_or_another_apps_code_is_not_found(store: Store) {
    let other = app(&store).await.id;
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(10);

    let unknown = store
        .verify_otp(
            verify(&app.id, &otp_id(), RIGHT_CODE, now, digest(10)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    let foreign = store
        .verify_otp(
            verify(&other, &otp, RIGHT_CODE, now, digest(11)),
            event(&other, AuditKind::Login, now),
        )
        .await
        .unwrap();

    assert_eq!(unknown, VerifyOtpOutcome::NotFound);
    assert_eq!(foreign, VerifyOtpOutcome::NotFound);
    assert_eq!(audit_events(&store, other.as_str()).await, ["app_created"]);
    // Neither try touched the code: its own app can still use it.
    let own = store
        .verify_otp(
            verify(&app.id, &otp, RIGHT_CODE, now, digest(12)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    assert!(matches!(own, VerifyOtpOutcome::LoggedIn { .. }), "{own:?}");
}

contract!(a_used_code_is_not_found);
async fn a_used_code_is_not_found(store: Store) {
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(10);
    let first = store
        .verify_otp(
            verify(&app.id, &otp, RIGHT_CODE, now, digest(10)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    assert!(
        matches!(first, VerifyOtpOutcome::LoggedIn { .. }),
        "{first:?}"
    );

    let again = store
        .verify_otp(
            verify(&app.id, &otp, RIGHT_CODE, now, digest(11)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();

    assert_eq!(again, VerifyOtpOutcome::NotFound);
    assert_eq!(count_events(&store, &app.id, "login").await, 1);
    assert_eq!(count_rows(&store, "sessions", &app.id).await, 1);
}

contract!(a_newer_code_supersedes_the_older_one_for_the_same_identifier_only);
async fn a_newer_code_supersedes_the_older_one_for_the_same_identifier_only(store: Store) {
    let app = app(&store).await;
    let older = send_code(&store, &app.id, &phone(1), t0()).await;
    let elsewhere = send_code(&store, &app.id, &phone(2), t0() + Duration::seconds(1)).await;
    let newer = send_code(&store, &app.id, &phone(1), t0() + Duration::seconds(2)).await;
    let now = t0() + Duration::seconds(30);

    let mut outcomes = Vec::new();
    for (otp, refresh) in [(&older, 10), (&elsewhere, 11), (&newer, 12)] {
        let outcome = store
            .verify_otp(
                verify(&app.id, otp, RIGHT_CODE, now, digest(refresh)),
                event(&app.id, AuditKind::Login, now),
            )
            .await
            .unwrap();
        outcomes.push(outcome);
    }

    assert_eq!(outcomes[0], VerifyOtpOutcome::NotFound);
    assert!(
        matches!(outcomes[1], VerifyOtpOutcome::LoggedIn { .. }),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[2], VerifyOtpOutcome::LoggedIn { .. }),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "otp_sent",
            "otp_sent",
            "login",
            "login"
        ]
    );
}

contract!(a_code_sent_for_another_caller_is_not_superseded);
async fn a_code_sent_for_another_caller_is_not_superseded(store: Store) {
    let app = app(&store).await;
    let victims = send_code_for(&store, &app.id, &phone(1), "caller-b", t0()).await;
    let attackers_old = send_code_for(&store, &app.id, &phone(1), "caller-a", t0()).await;
    for second in 1..=3 {
        send_code_for(
            &store,
            &app.id,
            &phone(1),
            "caller-a",
            t0() + Duration::seconds(second),
        )
        .await;
    }
    let now = t0() + Duration::seconds(30);

    let attackers = store
        .verify_otp(
            verify(&app.id, &attackers_old, RIGHT_CODE, now, digest(10)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    let victim = store
        .verify_otp(
            verify(&app.id, &victims, RIGHT_CODE, now, digest(11)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();

    assert_eq!(attackers, VerifyOtpOutcome::NotFound);
    assert!(
        matches!(victim, VerifyOtpOutcome::LoggedIn { .. }),
        "{victim:?}"
    );
}

contract!(concurrent_right_answers_log_in_exactly_once);
async fn concurrent_right_answers_log_in_exactly_once(store: Store) {
    const RACERS: u8 = 20;
    let app = app(&store).await;
    let otp = send_code(&store, &app.id, &phone(1), t0()).await;
    let now = t0() + Duration::seconds(10);
    let barrier = Arc::new(Barrier::new(usize::from(RACERS)));

    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let cmd = verify(&app.id, &otp, RIGHT_CODE, now, digest(100 + n));
            let session_id = cmd.login.session_id.clone();
            let audit = event(&app.id, AuditKind::Login, now);
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            let task = tokio::spawn(async move {
                barrier.wait().await;
                store.verify_otp(cmd, audit).await
            });
            (session_id, task)
        })
        .collect();
    let mut outcomes = Vec::new();
    for (session_id, task) in racers {
        outcomes.push((session_id, task.await.unwrap().unwrap()));
    }

    let mut winners = Vec::new();
    for (session_id, outcome) in outcomes {
        match outcome {
            VerifyOtpOutcome::LoggedIn { session, .. } => {
                assert_eq!(session.id, session_id);
                winners.push(session_id);
            }
            VerifyOtpOutcome::NotFound => {
                assert_eq!(
                    store.find_session(&app.id, &session_id).await.unwrap(),
                    None
                );
            }
            other => panic!("a racer with the right code got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one right answer logs in");
    assert!(
        store
            .find_session(&app.id, &winners[0])
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(count_rows(&store, "sessions", &app.id).await, 1);
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
    assert_eq!(count_events(&store, &app.id, "login").await, 1);
}

contract!(purging_removes_only_codes_that_expired_before_the_cutoff);
async fn purging_removes_only_codes_that_expired_before_the_cutoff(store: Store) {
    let app = app(&store).await;
    let old = send_code(&store, &app.id, &phone(1), t0()).await;
    let fresh = send_code(&store, &app.id, &phone(2), t0() + Duration::hours(1)).await;

    let purged = store
        .purge_expired(t0() + OTP_TTL + Duration::minutes(1))
        .await
        .unwrap();

    assert_eq!(purged, 1);
    let now = t0() + Duration::hours(1);
    let gone = store
        .verify_otp(
            verify(&app.id, &old, RIGHT_CODE, now, digest(10)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    let kept = store
        .verify_otp(
            verify(&app.id, &fresh, RIGHT_CODE, now, digest(11)),
            event(&app.id, AuditKind::Login, now),
        )
        .await
        .unwrap();
    assert_eq!(gone, VerifyOtpOutcome::NotFound);
    assert!(matches!(kept, VerifyOtpOutcome::LoggedIn { .. }));
}
