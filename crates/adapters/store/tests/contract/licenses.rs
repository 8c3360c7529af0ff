//! Licenses: a license belongs to its app and only names that app's users and tenants, a device
//! takes at most one seat and never more seats than the license has (even in a race), a check says
//! exactly why a key or device is not good, and revoked is final.

use std::collections::HashSet;
use std::sync::Arc;

use auth_domain::ids::{AppId, LicenseId, UserId};
use auth_domain::license::{License, LicenseAction, LicenseStatus, VerifyCode};
use auth_domain::{AuditKind, Tenant, TenantSlug};
use auth_ports::{
    Activate, ActivateOutcome, Activation, CreateLicenseError, DeactivateOutcome, Digest,
    LicenseRef, LicenseStore as _, NewLicense, StatusOutcome, TenantStore as _,
};
use auth_store::Store;
use auth_store::test_support::audit_events;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::support::{
    activate, app, contract, count_events, count_rows, digest, event, license, license_id, login,
    phone, t0, tenant, user_id,
};

fn slug(raw: &str) -> TenantSlug {
    TenantSlug::parse(raw).unwrap()
}

/// Creates the app's tenant `slug` with its `tenant_created` record.
async fn create_tenant(store: &Store, app_id: &AppId, slug: &str) -> Tenant {
    let tenant = tenant(app_id, slug);
    store
        .create_tenant(
            tenant.clone(),
            event(app_id, AuditKind::TenantCreated, tenant.created_at),
        )
        .await
        .unwrap();
    tenant
}

/// Tries to store `license` under the key that hashes to `key`.
async fn try_create(
    store: &Store,
    license: License,
    key: Digest,
) -> Result<(), CreateLicenseError> {
    let audit = event(
        &license.app_id,
        AuditKind::LicenseGenerated,
        license.created_at,
    );
    let new = NewLicense {
        license,
        key_hash: key,
    };
    store.create_license(new, audit).await
}

/// Stores `license` under the key that hashes to `key`, with its `license_generated` record.
async fn create(store: &Store, license: License, key: Digest) -> License {
    try_create(store, license.clone(), key).await.unwrap();
    license
}

async fn take_seat(store: &Store, cmd: Activate) -> ActivateOutcome {
    let audit = event(&cmd.app_id, AuditKind::LicenseActivated, cmd.now);
    store.activate(cmd, audit).await.unwrap()
}

/// The license, activation and `new` of an activation that must have succeeded.
fn activated(outcome: ActivateOutcome) -> (License, Activation, bool) {
    match outcome {
        ActivateOutcome::Activated {
            license,
            activation,
            new,
        } => (license, activation, new),
        other => panic!("the device must hold a seat, got {other:?}"),
    }
}

/// Checks the key that hashes to `key`, with device `device` (hashed as `digest(device)`) if given.
async fn check(
    store: &Store,
    app_id: &AppId,
    key: Digest,
    device: Option<u8>,
    now: OffsetDateTime,
) -> (Option<License>, VerifyCode) {
    let audit = event(app_id, AuditKind::LicenseVerifyFailed, now);
    store
        .check(app_id, key, device.map(digest), now, audit)
        .await
        .unwrap()
}

async fn deactivate(
    store: &Store,
    app_id: &AppId,
    key: Digest,
    device: u8,
    now: OffsetDateTime,
) -> DeactivateOutcome {
    let audit = event(app_id, AuditKind::LicenseDeactivated, now);
    store
        .deactivate(app_id, key, digest(device), now, audit)
        .await
        .unwrap()
}

async fn set_status(
    store: &Store,
    app_id: &AppId,
    license: LicenseRef,
    action: LicenseAction,
    now: OffsetDateTime,
) -> StatusOutcome {
    let kind = match action {
        LicenseAction::Suspend => AuditKind::LicenseSuspended,
        LicenseAction::Reinstate => AuditKind::LicenseReinstated,
        LicenseAction::Revoke => AuditKind::LicenseRevoked,
    };
    store
        .change_status(app_id, license, action, now, event(app_id, kind, now))
        .await
        .unwrap()
}

/// The license a state change left, which must have been found.
fn done(outcome: StatusOutcome) -> License {
    match outcome {
        StatusOutcome::Done(license) => license,
        other => panic!("the license must have been found, got {other:?}"),
    }
}

/// One page of the app's licenses.
async fn list(
    store: &Store,
    app_id: &AppId,
    user: Option<&UserId>,
    tenant: Option<&str>,
    after: Option<&LicenseId>,
    limit: u32,
) -> Vec<License> {
    store
        .list_licenses(
            app_id,
            user.cloned(),
            tenant.map(slug),
            after.cloned(),
            limit,
        )
        .await
        .unwrap()
}

/// The app's license `id` as it is stored now.
async fn stored(store: &Store, app_id: &AppId, id: &LicenseId) -> License {
    list(store, app_id, None, None, None, 1000)
        .await
        .into_iter()
        .find(|license| license.id == *id)
        .unwrap()
}

contract!(a_license_is_stored_with_its_generated_record);
async fn a_license_is_stored_with_its_generated_record(store: Store) {
    let app = app(&store).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    create_tenant(&store, &app.id, "school").await;
    let plain = license(&app.id, 3);
    let owned = License {
        user_id: Some(user.id.clone()),
        tenant: Some("school".to_owned()),
        expires_at: Some(t0() + Duration::days(365)),
        metadata: json!({ "plan": "annual", "seats_bought": 5 }),
        ..license(&app.id, 5)
    };

    let first = try_create(&store, plain.clone(), digest(1)).await;
    let second = try_create(&store, owned.clone(), digest(2)).await;

    assert_eq!(first, Ok(()));
    assert_eq!(second, Ok(()));
    let mut by_id = [plain, owned];
    by_id.sort_by_key(|license| license.id.clone());
    assert_eq!(list(&store, &app.id, None, None, None, 10).await, by_id);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "login",
            "tenant_created",
            "license_generated",
            "license_generated"
        ]
    );
}

contract!(a_license_for_another_apps_user_or_tenant_writes_nothing);
async fn a_license_for_another_apps_user_or_tenant_writes_nothing(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let (_, foreign_user) = login(&store, &other.id, &phone(1), digest(10), t0()).await;
    create_tenant(&store, &other.id, "school").await;
    let before = audit_events(&store, app.id.as_str()).await;
    let before_other = audit_events(&store, other.id.as_str()).await;

    let foreign_user_license = License {
        user_id: Some(foreign_user.id.clone()),
        ..license(&app.id, 1)
    };
    let foreign_id = try_create(&store, foreign_user_license, digest(1)).await;
    let unknown_user_license = License {
        user_id: Some(user_id()),
        ..license(&app.id, 1)
    };
    let unknown_id = try_create(&store, unknown_user_license, digest(1)).await;
    // The slug exists, but only in the other app.
    let foreign_tenant_license = License {
        tenant: Some("school".to_owned()),
        ..license(&app.id, 1)
    };
    let foreign_tenant = try_create(&store, foreign_tenant_license, digest(1)).await;
    let unknown_tenant_license = License {
        tenant: Some("nowhere".to_owned()),
        ..license(&app.id, 1)
    };
    let unknown_tenant = try_create(&store, unknown_tenant_license, digest(1)).await;

    assert_eq!(foreign_id, Err(CreateLicenseError::UserNotFound));
    assert_eq!(unknown_id, Err(CreateLicenseError::UserNotFound));
    assert_eq!(foreign_tenant, Err(CreateLicenseError::TenantNotFound));
    assert_eq!(unknown_tenant, Err(CreateLicenseError::TenantNotFound));
    assert_eq!(count_rows(&store, "licenses", &app.id).await, 0);
    assert_eq!(count_rows(&store, "licenses", &other.id).await, 0);
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);
    assert_eq!(audit_events(&store, other.id.as_str()).await, before_other);

    // Nothing kept the key: the app's own user and tenant can have a license under it.
    let (_, user) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    create_tenant(&store, &app.id, "school").await;
    let own = License {
        user_id: Some(user.id.clone()),
        tenant: Some("school".to_owned()),
        ..license(&app.id, 1)
    };
    assert_eq!(try_create(&store, own.clone(), digest(1)).await, Ok(()));
    assert_eq!(list(&store, &app.id, None, None, None, 10).await, [own]);
    assert_eq!(count_events(&store, &app.id, "license_generated").await, 1);
}

contract!(a_device_takes_one_seat_and_no_more_seats_than_the_license_has);
async fn a_device_takes_one_seat_and_no_more_seats_than_the_license_has(store: Store) {
    let app = app(&store).await;
    let created = create(&store, license(&app.id, 2), digest(1)).await;
    let at = t0() + Duration::minutes(1);
    let first_cmd = activate(&app.id, digest(1), 1, at);
    let first_activation = Activation {
        id: first_cmd.activation_id.clone(),
        license_id: created.id.clone(),
        device_name: Some("Device 1".to_owned()),
        created_at: at,
    };
    let one_seat = License {
        active_seats: 1,
        ..created.clone()
    };

    let first = take_seat(&store, first_cmd).await;

    assert_eq!(
        first,
        ActivateOutcome::Activated {
            license: one_seat.clone(),
            activation: first_activation.clone(),
            new: true,
        }
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "license_generated", "license_activated"]
    );

    // The same device again gets the seat it holds, and nothing is written.
    let before = audit_events(&store, app.id.as_str()).await;
    let again = take_seat(
        &store,
        activate(&app.id, digest(1), 1, at + Duration::minutes(1)),
    )
    .await;
    assert_eq!(
        again,
        ActivateOutcome::Activated {
            license: one_seat,
            activation: first_activation.clone(),
            new: false,
        }
    );
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 1);

    let (license, activation, new) =
        activated(take_seat(&store, activate(&app.id, digest(1), 2, at)).await);
    let full = take_seat(&store, activate(&app.id, digest(1), 3, at)).await;

    let two_seats = License {
        active_seats: 2,
        ..created.clone()
    };
    assert!(new);
    assert_eq!(license, two_seats);
    assert_ne!(activation.id, first_activation.id);
    assert_eq!(full, ActivateOutcome::LimitReached);
    assert_eq!(stored(&store, &app.id, &created.id).await, two_seats);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 2);
    assert_eq!(count_events(&store, &app.id, "license_activated").await, 2);
    assert_eq!(
        count_events(&store, &app.id, "license_activation_failed").await,
        1
    );

    // A device that holds a seat keeps getting it on a full license.
    let holder = take_seat(&store, activate(&app.id, digest(1), 1, at)).await;
    assert_eq!(
        holder,
        ActivateOutcome::Activated {
            license: two_seats,
            activation: first_activation,
            new: false,
        }
    );
    assert_eq!(count_events(&store, &app.id, "license_activated").await, 2);
}

contract!(activating_an_unknown_or_another_apps_key_finds_nothing);
async fn activating_an_unknown_or_another_apps_key_finds_nothing(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let foreign = create(&store, license(&other.id, 5), digest(1)).await;

    let foreign_key = take_seat(&store, activate(&app.id, digest(1), 1, t0())).await;
    let unknown_key = take_seat(&store, activate(&app.id, digest(99), 1, t0())).await;

    assert_eq!(foreign_key, ActivateOutcome::NotFound);
    assert_eq!(unknown_key, ActivateOutcome::NotFound);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "license_activation_failed",
            "license_activation_failed"
        ]
    );
    assert_eq!(
        audit_events(&store, other.id.as_str()).await,
        ["app_created", "license_generated"]
    );
    assert_eq!(stored(&store, &other.id, &foreign.id).await, foreign);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 0);
    assert_eq!(count_rows(&store, "activations", &other.id).await, 0);
}

contract!(a_suspended_revoked_or_expired_license_gives_no_seat);
async fn a_suspended_revoked_or_expired_license_gives_no_seat(store: Store) {
    let app = app(&store).await;
    let suspended = create(&store, license(&app.id, 5), digest(1)).await;
    let revoked = create(&store, license(&app.id, 5), digest(2)).await;
    let expires_at = t0() + Duration::days(30);
    let expiring = License {
        expires_at: Some(expires_at),
        ..license(&app.id, 5)
    };
    let expiring = create(&store, expiring, digest(3)).await;
    let suspend = LicenseRef::Id(suspended.id.clone());
    done(set_status(&store, &app.id, suspend, LicenseAction::Suspend, t0()).await);
    let revoke = LicenseRef::Id(revoked.id.clone());
    done(set_status(&store, &app.id, revoke, LicenseAction::Revoke, t0()).await);
    let now = t0() + Duration::minutes(1);

    // A second before it expires, the license still gives seats.
    let last_second = expires_at - Duration::seconds(1);
    let (_, _, new) =
        activated(take_seat(&store, activate(&app.id, digest(3), 1, last_second)).await);
    assert!(new);

    let outcomes = [
        take_seat(&store, activate(&app.id, digest(1), 1, now)).await,
        take_seat(&store, activate(&app.id, digest(2), 1, now)).await,
        take_seat(&store, activate(&app.id, digest(3), 2, expires_at)).await,
        take_seat(
            &store,
            activate(&app.id, digest(3), 3, expires_at + Duration::days(1)),
        )
        .await,
    ];

    assert_eq!(
        outcomes,
        [
            ActivateOutcome::Refused(VerifyCode::Suspended),
            ActivateOutcome::Refused(VerifyCode::Revoked),
            ActivateOutcome::Refused(VerifyCode::Expired),
            ActivateOutcome::Refused(VerifyCode::Expired),
        ]
    );
    assert_eq!(
        count_events(&store, &app.id, "license_activation_failed").await,
        4
    );
    assert_eq!(count_events(&store, &app.id, "license_activated").await, 1);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 1);
    assert_eq!(stored(&store, &app.id, &suspended.id).await.active_seats, 0);
    assert_eq!(stored(&store, &app.id, &revoked.id).await.active_seats, 0);
    assert_eq!(stored(&store, &app.id, &expiring.id).await.active_seats, 1);
}

contract!(concurrent_activations_from_many_devices_take_the_last_seat_once);
async fn concurrent_activations_from_many_devices_take_the_last_seat_once(store: Store) {
    const RACERS: u8 = 20;
    let app = app(&store).await;
    let created = create(&store, license(&app.id, 1), digest(1)).await;
    let barrier = Arc::new(Barrier::new(usize::from(RACERS)));

    let racers: Vec<_> = (1..=RACERS)
        .map(|device| {
            let cmd = activate(&app.id, digest(1), device, t0());
            let audit = event(&app.id, AuditKind::LicenseActivated, cmd.now);
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.activate(cmd, audit).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap().unwrap());
    }

    let winners = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, ActivateOutcome::Activated { new: true, .. }))
        .count();
    let refused = outcomes
        .iter()
        .filter(|outcome| **outcome == ActivateOutcome::LimitReached)
        .count();
    assert_eq!(winners, 1, "{outcomes:?}");
    assert_eq!(refused, usize::from(RACERS) - 1, "{outcomes:?}");
    assert_eq!(stored(&store, &app.id, &created.id).await.active_seats, 1);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 1);
    assert_eq!(count_events(&store, &app.id, "license_activated").await, 1);
    assert_eq!(
        count_events(&store, &app.id, "license_activation_failed").await,
        usize::from(RACERS) - 1
    );
}

contract!(concurrent_activations_from_one_device_share_one_seat);
async fn concurrent_activations_from_one_device_share_one_seat(store: Store) {
    const RACERS: usize = 10;
    let app = app(&store).await;
    let created = create(&store, license(&app.id, 1), digest(1)).await;
    let barrier = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let cmd = activate(&app.id, digest(1), 7, t0());
            let audit = event(&app.id, AuditKind::LicenseActivated, cmd.now);
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.activate(cmd, audit).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(activated(racer.await.unwrap().unwrap()));
    }

    let one_seat = License {
        active_seats: 1,
        ..created.clone()
    };
    let ids: HashSet<_> = outcomes
        .iter()
        .map(|(_, activation, _)| activation.id.clone())
        .collect();
    let new = outcomes.iter().filter(|(_, _, new)| *new).count();
    assert_eq!(ids.len(), 1, "{outcomes:?}");
    assert_eq!(new, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|(license, _, _)| *license == one_seat),
        "{outcomes:?}"
    );
    assert_eq!(stored(&store, &app.id, &created.id).await, one_seat);
    assert_eq!(count_rows(&store, "activations", &app.id).await, 1);
    assert_eq!(count_events(&store, &app.id, "license_activated").await, 1);
    assert_eq!(
        count_events(&store, &app.id, "license_activation_failed").await,
        0
    );
}

contract!(a_check_says_whether_the_key_and_the_device_are_good);
async fn a_check_says_whether_the_key_and_the_device_are_good(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    create(&store, license(&other.id, 1), digest(9)).await;
    let created = create(&store, license(&app.id, 2), digest(1)).await;
    let now = t0() + Duration::minutes(1);

    // Good answers write nothing.
    let before = audit_events(&store, app.id.as_str()).await;
    let no_device = check(&store, &app.id, digest(1), None, now).await;
    assert_eq!(no_device, (Some(created.clone()), VerifyCode::Valid));
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    // No device holds a seat yet.
    let not_activated = check(&store, &app.id, digest(1), Some(1), now).await;
    assert_eq!(
        not_activated,
        (Some(created.clone()), VerifyCode::NotActivated)
    );

    activated(take_seat(&store, activate(&app.id, digest(1), 1, now)).await);
    let one_seat = License {
        active_seats: 1,
        ..created.clone()
    };
    let before = audit_events(&store, app.id.as_str()).await;
    let holder = check(&store, &app.id, digest(1), Some(1), now).await;
    let bare = check(&store, &app.id, digest(1), None, now).await;
    assert_eq!(holder, (Some(one_seat.clone()), VerifyCode::Valid));
    assert_eq!(bare, (Some(one_seat.clone()), VerifyCode::Valid));
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    // A seat is free, but this device holds none.
    let mismatch = check(&store, &app.id, digest(1), Some(2), now).await;
    let unknown = check(&store, &app.id, digest(99), None, now).await;
    let unknown_with_device = check(&store, &app.id, digest(99), Some(1), now).await;
    let foreign = check(&store, &app.id, digest(9), None, now).await;

    assert_eq!(mismatch, (Some(one_seat), VerifyCode::DeviceMismatch));
    assert_eq!(unknown, (None, VerifyCode::NotFound));
    assert_eq!(unknown_with_device, (None, VerifyCode::NotFound));
    assert_eq!(foreign, (None, VerifyCode::NotFound));
    assert_eq!(
        count_events(&store, &app.id, "license_verify_failed").await,
        5
    );
    assert_eq!(
        audit_events(&store, other.id.as_str()).await,
        ["app_created", "license_generated"]
    );
}

contract!(a_check_of_a_suspended_revoked_or_expired_license_fails_for_every_device);
async fn a_check_of_a_suspended_revoked_or_expired_license_fails_for_every_device(store: Store) {
    let app = app(&store).await;
    let suspended = create(&store, license(&app.id, 2), digest(1)).await;
    create(&store, license(&app.id, 2), digest(2)).await;
    let expires_at = t0() + Duration::days(30);
    let expiring = License {
        expires_at: Some(expires_at),
        ..license(&app.id, 2)
    };
    create(&store, expiring, digest(3)).await;
    // Device 1 holds a seat on each: the license's standing still comes first.
    for key in 1..=3 {
        activated(take_seat(&store, activate(&app.id, digest(key), 1, t0())).await);
    }
    let suspend = LicenseRef::Id(suspended.id.clone());
    done(set_status(&store, &app.id, suspend, LicenseAction::Suspend, t0()).await);
    let revoke = LicenseRef::Key(digest(2));
    done(set_status(&store, &app.id, revoke, LicenseAction::Revoke, t0()).await);
    let now = t0() + Duration::minutes(1);

    let before = audit_events(&store, app.id.as_str()).await;
    let last_second = check(
        &store,
        &app.id,
        digest(3),
        Some(1),
        expires_at - Duration::seconds(1),
    )
    .await;
    assert_eq!(last_second.1, VerifyCode::Valid);
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    let checks = [
        check(&store, &app.id, digest(1), None, now).await,
        check(&store, &app.id, digest(1), Some(1), now).await,
        check(&store, &app.id, digest(1), Some(2), now).await,
        check(&store, &app.id, digest(2), None, now).await,
        check(&store, &app.id, digest(2), Some(1), now).await,
        check(&store, &app.id, digest(3), None, expires_at).await,
        check(&store, &app.id, digest(3), Some(1), expires_at).await,
        check(
            &store,
            &app.id,
            digest(3),
            Some(2),
            expires_at + Duration::days(1),
        )
        .await,
    ];

    let codes: Vec<VerifyCode> = checks.iter().map(|(_, code)| *code).collect();
    assert_eq!(
        codes,
        [
            VerifyCode::Suspended,
            VerifyCode::Suspended,
            VerifyCode::Suspended,
            VerifyCode::Revoked,
            VerifyCode::Revoked,
            VerifyCode::Expired,
            VerifyCode::Expired,
            VerifyCode::Expired,
        ]
    );
    // Each license was found: only its standing is wrong.
    assert!(
        checks.iter().all(|(license, _)| license.is_some()),
        "{checks:?}"
    );
    assert_eq!(
        count_events(&store, &app.id, "license_verify_failed").await,
        checks.len()
    );
}

contract!(deactivating_frees_the_seat_for_another_device);
async fn deactivating_frees_the_seat_for_another_device(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let foreign = create(&store, license(&other.id, 1), digest(9)).await;
    activated(take_seat(&store, activate(&other.id, digest(9), 2, t0())).await);
    let created = create(&store, license(&app.id, 1), digest(1)).await;
    let (_, first, _) = activated(take_seat(&store, activate(&app.id, digest(1), 1, t0())).await);
    let now = t0() + Duration::minutes(1);
    let full = take_seat(&store, activate(&app.id, digest(1), 2, now)).await;
    assert_eq!(full, ActivateOutcome::LimitReached);

    let freed = deactivate(&store, &app.id, digest(1), 1, now).await;

    assert_eq!(freed, DeactivateOutcome::Deactivated(created.clone()));
    assert_eq!(
        count_events(&store, &app.id, "license_deactivated").await,
        1
    );
    assert_eq!(
        check(&store, &app.id, digest(1), Some(1), now).await,
        (Some(created.clone()), VerifyCode::NotActivated)
    );
    let (license, _, new) =
        activated(take_seat(&store, activate(&app.id, digest(1), 2, now)).await);
    assert!(new);
    assert_eq!(license.active_seats, 1);

    let again = deactivate(&store, &app.id, digest(1), 1, now).await;
    let never_held = deactivate(&store, &app.id, digest(1), 3, now).await;
    let unknown = deactivate(&store, &app.id, digest(99), 2, now).await;
    // Device 2 holds a seat on the other app's license, which this app cannot see.
    let foreign_key = deactivate(&store, &app.id, digest(9), 2, now).await;

    assert_eq!(again, DeactivateOutcome::NotActivated);
    assert_eq!(never_held, DeactivateOutcome::NotActivated);
    assert_eq!(unknown, DeactivateOutcome::NotFound);
    assert_eq!(foreign_key, DeactivateOutcome::NotFound);
    assert_eq!(
        count_events(&store, &app.id, "license_deactivated").await,
        1
    );
    assert_eq!(stored(&store, &app.id, &created.id).await.active_seats, 1);
    assert_eq!(
        stored(&store, &other.id, &foreign.id).await,
        License {
            active_seats: 1,
            ..foreign
        }
    );
    assert_eq!(
        count_events(&store, &other.id, "license_deactivated").await,
        0
    );

    // Once the seat is free again, the first device comes back as a new activation.
    let later = now + Duration::minutes(1);
    let freed_again = deactivate(&store, &app.id, digest(1), 2, later).await;
    let (license, back, new) =
        activated(take_seat(&store, activate(&app.id, digest(1), 1, later)).await);
    assert_eq!(freed_again, DeactivateOutcome::Deactivated(created.clone()));
    assert!(new);
    assert_ne!(back.id, first.id);
    assert_eq!(back.created_at, later);
    assert_eq!(
        license,
        License {
            active_seats: 1,
            ..created
        }
    );
    assert_eq!(
        count_events(&store, &app.id, "license_deactivated").await,
        2
    );
}

contract!(status_changes_are_idempotent_and_revoked_is_final);
async fn status_changes_are_idempotent_and_revoked_is_final(store: Store) {
    let app = app(&store).await;
    let created = create(&store, license(&app.id, 1), digest(1)).await;
    activated(take_seat(&store, activate(&app.id, digest(1), 1, t0())).await);
    let held = License {
        active_seats: 1,
        ..created.clone()
    };
    let suspended = License {
        status: LicenseStatus::Suspended,
        ..held.clone()
    };
    let now = t0() + Duration::minutes(1);
    let by_id = || LicenseRef::Id(created.id.clone());
    let by_key = || LicenseRef::Key(digest(1));

    let suspend = set_status(&store, &app.id, by_id(), LicenseAction::Suspend, now).await;
    assert_eq!(suspend, StatusOutcome::Done(suspended.clone()));
    assert_eq!(count_events(&store, &app.id, "license_suspended").await, 1);

    let before = audit_events(&store, app.id.as_str()).await;
    let suspend_again = set_status(&store, &app.id, by_key(), LicenseAction::Suspend, now).await;
    assert_eq!(suspend_again, StatusOutcome::Done(suspended));
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    let reinstate = set_status(&store, &app.id, by_key(), LicenseAction::Reinstate, now).await;
    assert_eq!(reinstate, StatusOutcome::Done(held.clone()));
    assert_eq!(count_events(&store, &app.id, "license_reinstated").await, 1);
    // The device kept its seat through the suspension.
    assert_eq!(
        check(&store, &app.id, digest(1), Some(1), now).await,
        (Some(held.clone()), VerifyCode::Valid)
    );
    let before = audit_events(&store, app.id.as_str()).await;
    let reinstate_again = set_status(&store, &app.id, by_id(), LicenseAction::Reinstate, now).await;
    assert_eq!(reinstate_again, StatusOutcome::Done(held));
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    let revoked = done(set_status(&store, &app.id, by_id(), LicenseAction::Revoke, now).await);
    assert_eq!(revoked.id, created.id);
    assert_eq!(revoked.status, LicenseStatus::Revoked);
    assert_eq!(count_events(&store, &app.id, "license_revoked").await, 1);

    let reinstate_revoked =
        set_status(&store, &app.id, by_key(), LicenseAction::Reinstate, now).await;
    let suspend_revoked = set_status(&store, &app.id, by_id(), LicenseAction::Suspend, now).await;
    assert_eq!(reinstate_revoked, StatusOutcome::Revoked);
    assert_eq!(suspend_revoked, StatusOutcome::Revoked);

    let before = audit_events(&store, app.id.as_str()).await;
    let revoke_again = set_status(&store, &app.id, by_key(), LicenseAction::Revoke, now).await;
    assert_eq!(revoke_again, StatusOutcome::Done(revoked.clone()));
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);

    assert_eq!(stored(&store, &app.id, &created.id).await, revoked);
    assert_eq!(count_events(&store, &app.id, "license_suspended").await, 1);
    assert_eq!(count_events(&store, &app.id, "license_reinstated").await, 1);
    assert_eq!(count_events(&store, &app.id, "license_revoked").await, 1);
}

contract!(status_changes_cannot_reach_another_apps_licenses);
async fn status_changes_cannot_reach_another_apps_licenses(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let foreign = create(&store, license(&other.id, 1), digest(9)).await;
    let own = create(&store, license(&app.id, 1), digest(1)).await;
    let now = t0() + Duration::minutes(1);

    let outcomes = [
        set_status(
            &store,
            &app.id,
            LicenseRef::Id(foreign.id.clone()),
            LicenseAction::Suspend,
            now,
        )
        .await,
        set_status(
            &store,
            &app.id,
            LicenseRef::Key(digest(9)),
            LicenseAction::Revoke,
            now,
        )
        .await,
        set_status(
            &store,
            &app.id,
            LicenseRef::Id(license_id()),
            LicenseAction::Suspend,
            now,
        )
        .await,
        set_status(
            &store,
            &app.id,
            LicenseRef::Key(digest(99)),
            LicenseAction::Revoke,
            now,
        )
        .await,
    ];

    assert!(
        outcomes
            .iter()
            .all(|outcome| *outcome == StatusOutcome::NotFound),
        "{outcomes:?}"
    );
    assert_eq!(stored(&store, &other.id, &foreign.id).await, foreign);
    assert_eq!(stored(&store, &app.id, &own.id).await, own);
    assert_eq!(
        audit_events(&store, other.id.as_str()).await,
        ["app_created", "license_generated"]
    );
    for name in ["license_suspended", "license_reinstated", "license_revoked"] {
        assert_eq!(count_events(&store, &app.id, name).await, 0, "{name}");
    }
}

contract!(licenses_are_listed_in_id_order_page_by_page_by_user_and_by_tenant);
async fn licenses_are_listed_in_id_order_page_by_page_by_user_and_by_tenant(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    // The other app's licenses sort first and name a tenant of the same slug: none may show up.
    let (_, foreign_user) = login(&store, &other.id, &phone(1), digest(10), t0()).await;
    create_tenant(&store, &other.id, "school").await;
    let foreign_school = License {
        tenant: Some("school".to_owned()),
        ..license(&other.id, 1)
    };
    let foreign_school = create(&store, foreign_school, digest(9)).await;
    let foreign_owned = License {
        user_id: Some(foreign_user.id.clone()),
        ..license(&other.id, 1)
    };
    let foreign_owned = create(&store, foreign_owned, digest(8)).await;
    let (_, alice) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (_, bob) = login(&store, &app.id, &phone(2), digest(30), t0()).await;
    create_tenant(&store, &app.id, "school").await;
    create_tenant(&store, &app.id, "college").await;
    let mut created = Vec::new();
    for (key, user, tenant) in [
        (1, Some(&alice), Some("school")),
        (2, Some(&bob), Some("school")),
        (3, Some(&alice), None),
        (4, None, Some("college")),
        (5, None, None),
        (6, Some(&alice), Some("college")),
    ] {
        let owned = License {
            user_id: user.map(|user| user.id.clone()),
            tenant: tenant.map(str::to_owned),
            ..license(&app.id, 1)
        };
        created.push(create(&store, owned, digest(key)).await);
    }
    created.sort_by_key(|license| license.id.clone());
    let pick = |indexes: &[usize]| -> Vec<License> {
        indexes
            .iter()
            .map(|index| created[*index].clone())
            .collect()
    };
    let id = |index: usize| Some(created[index].id.clone());

    assert_eq!(list(&store, &app.id, None, None, None, 100).await, created);
    assert_eq!(
        list(&store, &app.id, None, None, None, 2).await,
        created[..2]
    );
    assert_eq!(
        list(&store, &app.id, None, None, id(1).as_ref(), 2).await,
        created[2..4]
    );
    assert_eq!(
        list(&store, &app.id, None, None, id(3).as_ref(), 2).await,
        created[4..]
    );
    assert!(
        list(&store, &app.id, None, None, id(5).as_ref(), 2)
            .await
            .is_empty()
    );

    let alices = created
        .iter()
        .enumerate()
        .filter(|(_, license)| license.user_id.as_ref() == Some(&alice.id))
        .map(|(index, _)| index)
        .collect::<Vec<_>>();
    assert_eq!(alices.len(), 3);
    assert_eq!(
        list(&store, &app.id, Some(&alice.id), None, None, 100).await,
        pick(&alices[..])
    );
    assert_eq!(
        list(&store, &app.id, Some(&alice.id), None, None, 2).await,
        pick(&alices[..2])
    );
    assert_eq!(
        list(
            &store,
            &app.id,
            Some(&alice.id),
            None,
            id(alices[1]).as_ref(),
            2
        )
        .await,
        pick(&alices[2..])
    );
    let schools: Vec<License> = created
        .iter()
        .filter(|license| license.tenant.as_deref() == Some("school"))
        .cloned()
        .collect();
    let colleges: Vec<License> = created
        .iter()
        .filter(|license| license.tenant.as_deref() == Some("college"))
        .cloned()
        .collect();
    assert_eq!(schools.len(), 2);
    assert_eq!(
        list(&store, &app.id, None, Some("school"), None, 100).await,
        schools
    );
    assert_eq!(
        list(&store, &app.id, None, Some("college"), None, 100).await,
        colleges
    );
    // Both filters: the user's licenses in the tenant.
    let alices_colleges: Vec<License> = colleges
        .iter()
        .filter(|license| license.user_id.as_ref() == Some(&alice.id))
        .cloned()
        .collect();
    assert_eq!(alices_colleges.len(), 1);
    assert_eq!(
        list(&store, &app.id, Some(&alice.id), Some("college"), None, 100).await,
        alices_colleges
    );

    assert!(
        list(&store, &app.id, Some(&foreign_user.id), None, None, 100)
            .await
            .is_empty()
    );
    assert!(
        list(&store, &app.id, None, Some("nowhere"), None, 100)
            .await
            .is_empty()
    );
    let mut foreign = [foreign_school.clone(), foreign_owned];
    foreign.sort_by_key(|license| license.id.clone());
    assert_eq!(
        list(&store, &other.id, None, None, None, 100).await,
        foreign
    );
    assert_eq!(
        list(&store, &other.id, None, Some("school"), None, 100).await,
        [foreign_school]
    );
}
