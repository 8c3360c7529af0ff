//! Tenants and roles: slugs are unique per app, role changes are idempotent and race-free, listings
//! page in a stable order, nothing crosses apps, and a login or refresh scoped to a tenant the user
//! is no member of changes nothing at all.

use std::sync::Arc;

use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, OtpId, UserId};
use auth_domain::{AuditKind, Membership, Tenant, TenantSlug};
use auth_ports::{
    CreateTenantError, Digest, MembershipError, OtpStore as _, RoleChange, RotateOutcome,
    RotateRefresh, SessionStore as _, TenantStore as _, UserRef, VerifyOtp, VerifyOtpOutcome,
};
use auth_store::Store;
use auth_store::test_support::audit_events;
use time::{Duration, OffsetDateTime};
use tokio::sync::Barrier;

use crate::support::{
    RIGHT_CODE, app, change, contract, count_events, count_rows, digest, event, login, phone,
    send_code, t0, tenant, user_id, verify,
};

/// How long a just-rotated token may come back as a retry in these cases.
const GRACE: Duration = Duration::seconds(10);

fn slug(raw: &str) -> TenantSlug {
    TenantSlug::parse(raw).unwrap()
}

/// The membership of `user_id` in `tenant` with `roles`, which must be given sorted.
fn member(user_id: &UserId, tenant: &str, roles: &[&str]) -> Membership {
    Membership {
        user_id: user_id.clone(),
        tenant: slug(tenant),
        roles: roles.iter().map(|role| (*role).to_owned()).collect(),
    }
}

/// What a token carries: roles per tenant slug.
fn roles_map(entries: &[(&str, &[&str])]) -> TenantRoles {
    entries
        .iter()
        .map(|(tenant, roles)| {
            let roles = roles.iter().map(|role| (*role).to_owned()).collect();
            ((*tenant).to_owned(), roles)
        })
        .collect()
}

/// Creates the app's tenant `slug` with its `tenant_created` record.
async fn create(store: &Store, app_id: &AppId, slug: &str) -> Tenant {
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

async fn assign(store: &Store, change: RoleChange) -> Result<Membership, MembershipError> {
    let audit = event(&change.app_id, AuditKind::RoleAssigned, change.now);
    store.assign_role(change, audit).await
}

async fn revoke(store: &Store, change: RoleChange) -> Result<Membership, MembershipError> {
    let audit = event(&change.app_id, AuditKind::RoleRevoked, change.now);
    store.revoke_role(change, audit).await
}

/// The slugs of one page of the app's tenants.
async fn tenant_page(
    store: &Store,
    app_id: &AppId,
    after: Option<&str>,
    limit: u32,
) -> Vec<String> {
    store
        .list_tenants(app_id, after.map(slug), limit)
        .await
        .unwrap()
        .into_iter()
        .map(|tenant| tenant.slug.as_str().to_owned())
        .collect()
}

/// The tenant slugs of one page of a user's memberships.
async fn membership_page(
    store: &Store,
    app_id: &AppId,
    user_id: &UserId,
    after: Option<&str>,
    limit: u32,
) -> Vec<String> {
    store
        .memberships_of_user(app_id, user_id, after.map(slug), limit)
        .await
        .unwrap()
        .into_iter()
        .map(|membership| membership.tenant.as_str().to_owned())
        .collect()
}

/// Presents the right code for `otp`, asking for a token scoped to `scope`.
async fn verify_scoped(
    store: &Store,
    app_id: &AppId,
    otp: &OtpId,
    scope: Option<&str>,
    refresh_hash: Digest,
    now: OffsetDateTime,
) -> VerifyOtpOutcome {
    let cmd = VerifyOtp {
        tenant: scope.map(slug),
        ..verify(app_id, otp, RIGHT_CODE, now, refresh_hash)
    };
    store
        .verify_otp(cmd, event(app_id, AuditKind::Login, now))
        .await
        .unwrap()
}

/// Presents a refresh token, asking for a token scoped to `scope`.
async fn rotate_scoped(
    store: &Store,
    app_id: &AppId,
    presented: Digest,
    successor: Digest,
    scope: Option<&str>,
    now: OffsetDateTime,
) -> RotateOutcome {
    let cmd = RotateRefresh {
        app_id: app_id.clone(),
        presented_hash: presented,
        successor_hash: successor,
        now,
        reuse_grace: GRACE,
        idle_since: now - Duration::days(14),
        tenant: scope.map(slug),
    };
    store
        .rotate_refresh(cmd, event(app_id, AuditKind::Refresh, now))
        .await
        .unwrap()
}

contract!(a_tenant_slug_is_unique_within_its_app_only);
async fn a_tenant_slug_is_unique_within_its_app_only(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let school = create(&store, &app.id, "school").await;
    assert_eq!(
        store.list_tenants(&app.id, None, 10).await.unwrap(),
        std::slice::from_ref(&school)
    );

    let again = store
        .create_tenant(
            tenant(&app.id, "school"),
            event(&app.id, AuditKind::TenantCreated, t0()),
        )
        .await;
    let elsewhere = tenant(&other.id, "school");
    let in_other_app = store
        .create_tenant(
            elsewhere.clone(),
            event(&other.id, AuditKind::TenantCreated, t0()),
        )
        .await;

    assert_eq!(again, Err(CreateTenantError::Exists));
    assert_eq!(in_other_app, Ok(()));
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "tenant_created"]
    );
    assert_eq!(
        audit_events(&store, other.id.as_str()).await,
        ["app_created", "tenant_created"]
    );
    assert_eq!(
        store.list_tenants(&app.id, None, 10).await.unwrap(),
        [school]
    );
    assert_eq!(
        store.list_tenants(&other.id, None, 10).await.unwrap(),
        [elsewhere]
    );
}

contract!(tenants_are_listed_in_slug_order_page_by_page_within_their_app);
async fn tenants_are_listed_in_slug_order_page_by_page_within_their_app(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    // Another app's tenants sort first and share a slug: neither may show up.
    create(&store, &other.id, "aa").await;
    create(&store, &other.id, "bravo").await;
    let mut created = Vec::new();
    for slug in ["delta", "alpha", "echo", "charlie", "bravo"] {
        created.push(create(&store, &app.id, slug).await);
    }
    created.sort_by_key(|tenant| tenant.slug.clone());

    assert_eq!(
        store.list_tenants(&app.id, None, 100).await.unwrap(),
        created
    );
    assert_eq!(
        tenant_page(&store, &app.id, None, 2).await,
        ["alpha", "bravo"]
    );
    assert_eq!(
        tenant_page(&store, &app.id, Some("bravo"), 2).await,
        ["charlie", "delta"]
    );
    assert_eq!(
        tenant_page(&store, &app.id, Some("delta"), 2).await,
        ["echo"]
    );
    assert!(
        tenant_page(&store, &app.id, Some("echo"), 2)
            .await
            .is_empty()
    );
    // `after` is a position, not a tenant that must exist.
    assert_eq!(
        tenant_page(&store, &app.id, Some("bz"), 10).await,
        ["charlie", "delta", "echo"]
    );
    assert_eq!(
        tenant_page(&store, &other.id, None, 10).await,
        ["aa", "bravo"]
    );
}

contract!(assigning_by_identifier_creates_the_user_whose_login_carries_the_role);
async fn assigning_by_identifier_creates_the_user_whose_login_carries_the_role(store: Store) {
    let app = app(&store).await;
    create(&store, &app.id, "school").await;
    let assignment = change(&app.id, "school", UserRef::Identifier(phone(1)), "teacher");
    let new_user_id = assignment.new_user_id.clone();

    let membership = assign(&store, assignment).await;

    assert_eq!(membership, Ok(member(&new_user_id, "school", &["teacher"])));
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "tenant_created", "role_assigned"]
    );
    let expected = roles_map(&[("school", &["teacher"])]);
    assert_eq!(
        store.tenant_roles(&app.id, &new_user_id).await.unwrap(),
        expected
    );

    // Their first login finds the user the assignment created, role included.
    let now = t0() + Duration::minutes(1);
    let otp = send_code(&store, &app.id, &phone(1), now).await;
    let outcome = verify_scoped(&store, &app.id, &otp, None, digest(10), now).await;
    let (user, session, tenants) = match outcome {
        VerifyOtpOutcome::LoggedIn {
            user,
            session,
            tenants,
            ..
        } => (user, session, tenants),
        other => panic!("the right code must log in, got {other:?}"),
    };
    assert_eq!(user.id, new_user_id);
    assert_eq!(session.user_id, new_user_id);
    assert_eq!(tenants, expected);
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
}

contract!(assigning_by_id_adds_roles_in_order_and_repeating_one_changes_nothing);
async fn assigning_by_id_adds_roles_in_order_and_repeating_one_changes_nothing(store: Store) {
    let app = app(&store).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    create(&store, &app.id, "school").await;
    let by_id = || UserRef::Id(user.id.clone());

    let first = assign(&store, change(&app.id, "school", by_id(), "teacher")).await;
    let second = assign(&store, change(&app.id, "school", by_id(), "admin")).await;
    let again = assign(&store, change(&app.id, "school", by_id(), "teacher")).await;
    // By identifier, an existing user is found, not created.
    let by_identifier = assign(
        &store,
        change(&app.id, "school", UserRef::Identifier(phone(1)), "admin"),
    )
    .await;

    let both = member(&user.id, "school", &["admin", "teacher"]);
    assert_eq!(first, Ok(member(&user.id, "school", &["teacher"])));
    assert_eq!(second, Ok(both.clone()));
    assert_eq!(again, Ok(both.clone()));
    assert_eq!(by_identifier, Ok(both.clone()));
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "login",
            "tenant_created",
            "role_assigned",
            "role_assigned"
        ]
    );
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
    assert_eq!(
        store
            .members_of_tenant(&app.id, &slug("school"), None, 10)
            .await
            .unwrap(),
        std::slice::from_ref(&both)
    );
    assert_eq!(
        store
            .memberships_of_user(&app.id, &user.id, None, 10)
            .await
            .unwrap(),
        [both]
    );
}

contract!(concurrent_assignments_of_one_role_leave_one_membership);
async fn concurrent_assignments_of_one_role_leave_one_membership(store: Store) {
    const RACERS: usize = 20;
    let app = app(&store).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    create(&store, &app.id, "school").await;
    let barrier = Arc::new(Barrier::new(RACERS));

    let racers: Vec<_> = (0..RACERS)
        .map(|_| {
            let cmd = change(&app.id, "school", UserRef::Id(user.id.clone()), "teacher");
            let audit = event(&app.id, AuditKind::RoleAssigned, cmd.now);
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store.assign_role(cmd, audit).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }

    let expected = member(&user.id, "school", &["teacher"]);
    for outcome in &outcomes {
        assert_eq!(outcome, &Ok(expected.clone()), "{outcomes:?}");
    }
    assert_eq!(
        store
            .members_of_tenant(&app.id, &slug("school"), None, 100)
            .await
            .unwrap(),
        [expected]
    );
    assert_eq!(count_events(&store, &app.id, "role_assigned").await, 1);
}

contract!(role_changes_cannot_reach_another_apps_tenants_or_users);
async fn role_changes_cannot_reach_another_apps_tenants_or_users(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    create(&store, &other.id, "school").await;
    let (_, foreign_user) = login(&store, &other.id, &phone(1), digest(10), t0()).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let own = || UserRef::Id(user.id.clone());
    let foreign = || UserRef::Id(foreign_user.id.clone());

    // The slug exists, but only in the other app.
    let foreign_tenant = assign(&store, change(&app.id, "school", own(), "teacher")).await;
    create(&store, &app.id, "school").await;
    let foreign_id = assign(&store, change(&app.id, "school", foreign(), "teacher")).await;
    let unknown_id = assign(
        &store,
        change(&app.id, "school", UserRef::Id(user_id()), "teacher"),
    )
    .await;
    let unknown_tenant = assign(&store, change(&app.id, "nowhere", own(), "teacher")).await;
    // A refused assignment by identifier creates no user.
    let unknown_tenant_by_identifier = assign(
        &store,
        change(&app.id, "nowhere", UserRef::Identifier(phone(2)), "teacher"),
    )
    .await;
    let revoke_unknown_tenant = revoke(&store, change(&app.id, "nowhere", own(), "teacher")).await;
    let revoke_foreign_id = revoke(&store, change(&app.id, "school", foreign(), "teacher")).await;
    let revoke_never_signed_in = revoke(
        &store,
        change(&app.id, "school", UserRef::Identifier(phone(3)), "teacher"),
    )
    .await;

    assert_eq!(foreign_tenant, Err(MembershipError::TenantNotFound));
    assert_eq!(foreign_id, Err(MembershipError::UserNotFound));
    assert_eq!(unknown_id, Err(MembershipError::UserNotFound));
    assert_eq!(unknown_tenant, Err(MembershipError::TenantNotFound));
    assert_eq!(
        unknown_tenant_by_identifier,
        Err(MembershipError::TenantNotFound)
    );
    assert_eq!(revoke_unknown_tenant, Err(MembershipError::TenantNotFound));
    assert_eq!(revoke_foreign_id, Err(MembershipError::UserNotFound));
    assert_eq!(revoke_never_signed_in, Err(MembershipError::UserNotFound));
    assert_eq!(count_rows(&store, "users", &app.id).await, 1);
    assert_eq!(count_events(&store, &app.id, "role_assigned").await, 0);
    assert_eq!(count_events(&store, &app.id, "role_revoked").await, 0);
    assert!(
        store
            .members_of_tenant(&app.id, &slug("school"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        audit_events(&store, other.id.as_str()).await,
        ["app_created", "tenant_created", "otp_sent", "login"]
    );
    assert!(
        store
            .members_of_tenant(&other.id, &slug("school"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .tenant_roles(&other.id, &foreign_user.id)
            .await
            .unwrap()
            .is_empty()
    );
}

contract!(a_session_is_found_with_every_role_its_user_holds_now_and_no_other);
async fn a_session_is_found_with_every_role_its_user_holds_now_and_no_other(store: Store) {
    let app = app(&store).await;
    let (session, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (bystander_session, _) = login(&store, &app.id, &phone(2), digest(11), t0()).await;
    create(&store, &app.id, "school").await;
    create(&store, &app.id, "academy").await;
    let by_id = || UserRef::Id(user.id.clone());
    for (tenant, role) in [
        ("school", "teacher"),
        ("academy", "student"),
        ("school", "admin"),
    ] {
        assign(&store, change(&app.id, tenant, by_id(), role))
            .await
            .unwrap();
    }

    let (found, found_user, roles) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    let (_, _, bystander_roles) = store
        .find_session(&bystander_session.app_id, &bystander_session.id)
        .await
        .unwrap()
        .unwrap();

    assert_eq!((found.id, found_user.id), (session.id, user.id));
    let expected: TenantRoles = [
        ("academy".to_owned(), vec!["student".to_owned()]),
        (
            "school".to_owned(),
            vec!["admin".to_owned(), "teacher".to_owned()],
        ),
    ]
    .into();
    assert_eq!(roles, expected);
    assert!(bystander_roles.is_empty(), "{bystander_roles:?}");
}

contract!(revoking_takes_a_role_once_and_the_last_one_ends_the_membership);
async fn revoking_takes_a_role_once_and_the_last_one_ends_the_membership(store: Store) {
    let app = app(&store).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    create(&store, &app.id, "school").await;
    let by_id = || UserRef::Id(user.id.clone());
    for role in ["teacher", "admin"] {
        assign(&store, change(&app.id, "school", by_id(), role))
            .await
            .unwrap();
    }

    let revoked = revoke(&store, change(&app.id, "school", by_id(), "admin")).await;
    let again = revoke(
        &store,
        change(&app.id, "school", UserRef::Identifier(phone(1)), "admin"),
    )
    .await;
    let never_held = revoke(&store, change(&app.id, "school", by_id(), "owner")).await;

    let teacher = member(&user.id, "school", &["teacher"]);
    assert_eq!(revoked, Ok(teacher.clone()));
    assert_eq!(again, Ok(teacher.clone()));
    assert_eq!(never_held, Ok(teacher));
    assert_eq!(count_events(&store, &app.id, "role_revoked").await, 1);

    let last = revoke(&store, change(&app.id, "school", by_id(), "teacher")).await;
    let after_last = revoke(&store, change(&app.id, "school", by_id(), "teacher")).await;

    let none = member(&user.id, "school", &[]);
    assert_eq!(last, Ok(none.clone()));
    assert_eq!(after_last, Ok(none));
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "otp_sent",
            "login",
            "tenant_created",
            "role_assigned",
            "role_assigned",
            "role_revoked",
            "role_revoked"
        ]
    );
    assert!(
        store
            .members_of_tenant(&app.id, &slug("school"), None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .memberships_of_user(&app.id, &user.id, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .tenant_roles(&app.id, &user.id)
            .await
            .unwrap()
            .is_empty()
    );
    // A membership that ended can begin again.
    let back = assign(&store, change(&app.id, "school", by_id(), "teacher")).await;
    assert_eq!(back, Ok(member(&user.id, "school", &["teacher"])));
    assert_eq!(count_events(&store, &app.id, "role_assigned").await, 3);
}

contract!(revoking_a_held_role_with_revoke_sessions_ends_every_session_of_that_user);
async fn revoking_a_held_role_with_revoke_sessions_ends_every_session_of_that_user(store: Store) {
    let app = app(&store).await;
    let (phone_session, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (laptop_session, _) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (bystander_session, bystander) = login(&store, &app.id, &phone(2), digest(30), t0()).await;
    create(&store, &app.id, "school").await;
    for who in [&user, &bystander] {
        assign(
            &store,
            change(&app.id, "school", UserRef::Id(who.id.clone()), "teacher"),
        )
        .await
        .unwrap();
    }
    let now = t0() + Duration::minutes(1);
    let revoking = |role: &str| RoleChange {
        now,
        revoke_sessions: true,
        ..change(&app.id, "school", UserRef::Id(user.id.clone()), role)
    };

    // Revoking a role the user does not hold changes nothing, their sessions included.
    let not_held = revoke(&store, revoking("admin")).await;
    assert_eq!(not_held, Ok(member(&user.id, "school", &["teacher"])));
    for session in [&phone_session, &laptop_session] {
        let (found, _, _) = store
            .find_session(&session.app_id, &session.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.revoked_at, None);
    }

    let held = revoke(&store, revoking("teacher")).await;

    assert_eq!(held, Ok(member(&user.id, "school", &[])));
    for session in [&phone_session, &laptop_session] {
        let (found, _, _) = store
            .find_session(&session.app_id, &session.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.revoked_at, Some(now));
    }
    for token in [10, 20] {
        let refreshed =
            rotate_scoped(&store, &app.id, digest(token), digest(token + 1), None, now).await;
        assert_eq!(refreshed, RotateOutcome::Revoked);
    }
    let (untouched, _, _) = store
        .find_session(&bystander_session.app_id, &bystander_session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(untouched.revoked_at, None);
    let refreshed = rotate_scoped(&store, &app.id, digest(30), digest(31), None, now).await;
    assert_eq!(
        refreshed,
        RotateOutcome::Rotated {
            session: bystander_session,
            user: bystander,
            tenants: roles_map(&[("school", &["teacher"])]),
        }
    );
    assert_eq!(count_events(&store, &app.id, "role_revoked").await, 1);
}

contract!(revoking_a_role_without_revoke_sessions_leaves_sessions_active);
async fn revoking_a_role_without_revoke_sessions_leaves_sessions_active(store: Store) {
    let app = app(&store).await;
    let (session, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    create(&store, &app.id, "school").await;
    let by_id = || UserRef::Id(user.id.clone());
    assign(&store, change(&app.id, "school", by_id(), "teacher"))
        .await
        .unwrap();
    let now = t0() + Duration::minutes(1);

    let revoked = revoke(
        &store,
        RoleChange {
            now,
            revoke_sessions: false,
            ..change(&app.id, "school", by_id(), "teacher")
        },
    )
    .await;

    assert_eq!(revoked, Ok(member(&user.id, "school", &[])));
    let (found, _, _) = store
        .find_session(&session.app_id, &session.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.revoked_at, None);
    let refreshed = rotate_scoped(&store, &app.id, digest(10), digest(11), None, now).await;
    assert_eq!(
        refreshed,
        RotateOutcome::Rotated {
            session,
            user,
            tenants: TenantRoles::new(),
        }
    );
    assert_eq!(count_events(&store, &app.id, "role_revoked").await, 1);
}

contract!(a_users_memberships_are_listed_in_slug_order_page_by_page);
async fn a_users_memberships_are_listed_in_slug_order_page_by_page(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    let (_, foreign_user) = login(&store, &other.id, &phone(1), digest(10), t0()).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(20), t0()).await;
    let (_, someone) = login(&store, &app.id, &phone(2), digest(30), t0()).await;
    let (_, loner) = login(&store, &app.id, &phone(3), digest(40), t0()).await;
    for slug in ["delta", "alpha", "echo", "bravo", "charlie"] {
        create(&store, &app.id, slug).await;
    }
    for slug in ["delta", "alpha", "echo", "charlie"] {
        assign(
            &store,
            change(&app.id, slug, UserRef::Id(user.id.clone()), "teacher"),
        )
        .await
        .unwrap();
    }
    assign(
        &store,
        change(&app.id, "charlie", UserRef::Id(user.id.clone()), "admin"),
    )
    .await
    .unwrap();
    assign(
        &store,
        change(&app.id, "bravo", UserRef::Id(someone.id.clone()), "admin"),
    )
    .await
    .unwrap();

    assert_eq!(
        store
            .memberships_of_user(&app.id, &user.id, None, 100)
            .await
            .unwrap(),
        [
            member(&user.id, "alpha", &["teacher"]),
            member(&user.id, "charlie", &["admin", "teacher"]),
            member(&user.id, "delta", &["teacher"]),
            member(&user.id, "echo", &["teacher"]),
        ]
    );
    assert_eq!(
        membership_page(&store, &app.id, &user.id, None, 2).await,
        ["alpha", "charlie"]
    );
    assert_eq!(
        membership_page(&store, &app.id, &user.id, Some("charlie"), 2).await,
        ["delta", "echo"]
    );
    assert!(
        membership_page(&store, &app.id, &user.id, Some("echo"), 2)
            .await
            .is_empty()
    );
    // `after` need not be a tenant the user is in.
    assert_eq!(
        membership_page(&store, &app.id, &user.id, Some("bravo"), 10).await,
        ["charlie", "delta", "echo"]
    );
    assert!(
        membership_page(&store, &app.id, &loner.id, None, 10)
            .await
            .is_empty()
    );
    assert_eq!(
        store
            .memberships_of_user(&app.id, &foreign_user.id, None, 10)
            .await,
        Err(MembershipError::UserNotFound)
    );
    assert_eq!(
        store
            .memberships_of_user(&app.id, &user_id(), None, 10)
            .await,
        Err(MembershipError::UserNotFound)
    );
}

contract!(a_tenants_members_are_listed_in_user_id_order_page_by_page);
async fn a_tenants_members_are_listed_in_user_id_order_page_by_page(store: Store) {
    let other = app(&store).await;
    let app = app(&store).await;
    create(&store, &other.id, "elsewhere").await;
    create(&store, &app.id, "school").await;
    create(&store, &app.id, "college").await;
    let mut members = Vec::new();
    for n in 1..=4_u8 {
        let (_, user) = login(&store, &app.id, &phone(u16::from(n)), digest(10 + n), t0()).await;
        assign(
            &store,
            change(&app.id, "school", UserRef::Id(user.id.clone()), "teacher"),
        )
        .await
        .unwrap();
        members.push(user.id);
    }
    // Someone in another tenant of the app only.
    let (_, outsider) = login(&store, &app.id, &phone(5), digest(20), t0()).await;
    assign(
        &store,
        change(
            &app.id,
            "college",
            UserRef::Id(outsider.id.clone()),
            "teacher",
        ),
    )
    .await
    .unwrap();
    members.sort();
    let expected: Vec<Membership> = members
        .iter()
        .map(|id| member(id, "school", &["teacher"]))
        .collect();
    let school = slug("school");

    let all = store.members_of_tenant(&app.id, &school, None, 100).await;
    let first = store.members_of_tenant(&app.id, &school, None, 2).await;
    let second = store
        .members_of_tenant(&app.id, &school, Some(members[1].clone()), 2)
        .await;
    let past_the_end = store
        .members_of_tenant(&app.id, &school, Some(members[3].clone()), 2)
        .await;

    assert_eq!(all, Ok(expected.clone()));
    assert_eq!(first, Ok(expected[..2].to_vec()));
    assert_eq!(second, Ok(expected[2..].to_vec()));
    assert_eq!(past_the_end, Ok(Vec::new()));
    assert_eq!(
        store
            .members_of_tenant(&app.id, &slug("elsewhere"), None, 10)
            .await,
        Err(MembershipError::TenantNotFound)
    );
    assert_eq!(
        store
            .members_of_tenant(&app.id, &slug("nowhere"), None, 10)
            .await,
        Err(MembershipError::TenantNotFound)
    );
}

contract!(tenant_roles_maps_every_tenant_of_the_user_to_its_roles);
async fn tenant_roles_maps_every_tenant_of_the_user_to_its_roles(store: Store) {
    let app = app(&store).await;
    let (_, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (_, someone) = login(&store, &app.id, &phone(2), digest(20), t0()).await;
    let (_, loner) = login(&store, &app.id, &phone(3), digest(30), t0()).await;
    for slug in ["alpha", "bravo", "charlie"] {
        create(&store, &app.id, slug).await;
    }
    for (who, slug, role) in [
        (&user, "bravo", "teacher"),
        (&user, "alpha", "teacher"),
        (&user, "bravo", "admin"),
        (&someone, "charlie", "owner"),
    ] {
        assign(
            &store,
            change(&app.id, slug, UserRef::Id(who.id.clone()), role),
        )
        .await
        .unwrap();
    }

    assert_eq!(
        store.tenant_roles(&app.id, &user.id).await.unwrap(),
        roles_map(&[("alpha", &["teacher"]), ("bravo", &["admin", "teacher"])])
    );
    assert_eq!(
        store.tenant_roles(&app.id, &someone.id).await.unwrap(),
        roles_map(&[("charlie", &["owner"])])
    );
    assert!(
        store
            .tenant_roles(&app.id, &loner.id)
            .await
            .unwrap()
            .is_empty()
    );
}

contract!(a_code_scoped_to_a_tenant_without_membership_changes_nothing);
async fn a_code_scoped_to_a_tenant_without_membership_changes_nothing(store: Store) {
    let app = app(&store).await;
    create(&store, &app.id, "alpha").await;
    create(&store, &app.id, "bravo").await;
    let (_, member_of_alpha) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    let (_, in_no_tenant) = login(&store, &app.id, &phone(2), digest(20), t0()).await;
    assign(
        &store,
        change(
            &app.id,
            "alpha",
            UserRef::Id(member_of_alpha.id.clone()),
            "teacher",
        ),
    )
    .await
    .unwrap();
    let alpha_roles = roles_map(&[("alpha", &["teacher"])]);
    let now = t0() + Duration::minutes(1);
    let member_code = send_code(&store, &app.id, &phone(1), now).await;
    let no_tenant_code = send_code(&store, &app.id, &phone(2), now).await;
    let new_user_code = send_code(&store, &app.id, &phone(3), now).await;
    let before = audit_events(&store, app.id.as_str()).await;

    // More refusals than the code has tries: none of them may count.
    let mut refused = Vec::new();
    for (refresh, scope) in (100..).zip(["bravo", "nowhere", "bravo", "bravo"]) {
        let refresh = digest(refresh);
        refused.push(verify_scoped(&store, &app.id, &member_code, Some(scope), refresh, now).await);
    }
    refused.push(
        verify_scoped(
            &store,
            &app.id,
            &no_tenant_code,
            Some("alpha"),
            digest(110),
            now,
        )
        .await,
    );
    refused.push(
        verify_scoped(
            &store,
            &app.id,
            &new_user_code,
            Some("alpha"),
            digest(111),
            now,
        )
        .await,
    );

    assert!(
        refused
            .iter()
            .all(|outcome| *outcome == VerifyOtpOutcome::TenantNotFound),
        "{refused:?}"
    );
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);
    assert_eq!(count_rows(&store, "users", &app.id).await, 2);
    assert_eq!(count_rows(&store, "sessions", &app.id).await, 2);

    // Every code is still good, unscoped or scoped to a tenant of the user.
    let unscoped = verify_scoped(&store, &app.id, &member_code, None, digest(120), now).await;
    match unscoped {
        VerifyOtpOutcome::LoggedIn { user, tenants, .. } => {
            assert_eq!(user.id, member_of_alpha.id);
            assert_eq!(tenants, alpha_roles);
        }
        other => panic!("the unused code must still log in, got {other:?}"),
    }
    let no_tenant = verify_scoped(&store, &app.id, &no_tenant_code, None, digest(121), now).await;
    match no_tenant {
        VerifyOtpOutcome::LoggedIn { user, tenants, .. } => {
            assert_eq!(user.id, in_no_tenant.id);
            assert!(tenants.is_empty());
        }
        other => panic!("the unused code must still log in, got {other:?}"),
    }
    let new_user = verify_scoped(&store, &app.id, &new_user_code, None, digest(122), now).await;
    assert!(
        matches!(new_user, VerifyOtpOutcome::LoggedIn { .. }),
        "{new_user:?}"
    );
    let later = now + Duration::minutes(1);
    let scoped_code = send_code(&store, &app.id, &phone(1), later).await;
    let scoped = verify_scoped(
        &store,
        &app.id,
        &scoped_code,
        Some("alpha"),
        digest(123),
        later,
    )
    .await;
    match scoped {
        VerifyOtpOutcome::LoggedIn { user, tenants, .. } => {
            assert_eq!(user.id, member_of_alpha.id);
            assert_eq!(tenants, alpha_roles);
        }
        other => panic!("a member's code scoped to their tenant must log in, got {other:?}"),
    }
    // The two first logins, then the four codes that each logged in once.
    assert_eq!(count_events(&store, &app.id, "login").await, 6);
    assert_eq!(count_events(&store, &app.id, "otp_verify_failed").await, 0);
}

contract!(a_refresh_scoped_to_a_tenant_without_membership_rotates_nothing);
async fn a_refresh_scoped_to_a_tenant_without_membership_rotates_nothing(store: Store) {
    let app = app(&store).await;
    create(&store, &app.id, "alpha").await;
    create(&store, &app.id, "bravo").await;
    let (session, user) = login(&store, &app.id, &phone(1), digest(10), t0()).await;
    assign(
        &store,
        change(&app.id, "alpha", UserRef::Id(user.id.clone()), "teacher"),
    )
    .await
    .unwrap();
    let alpha_roles = roles_map(&[("alpha", &["teacher"])]);
    let now = t0() + Duration::minutes(1);
    let before = audit_events(&store, app.id.as_str()).await;

    let other_tenant =
        rotate_scoped(&store, &app.id, digest(10), digest(11), Some("bravo"), now).await;
    let unknown_tenant = rotate_scoped(
        &store,
        &app.id,
        digest(10),
        digest(12),
        Some("nowhere"),
        now,
    )
    .await;

    assert_eq!(other_tenant, RotateOutcome::TenantNotFound);
    assert_eq!(unknown_tenant, RotateOutcome::TenantNotFound);
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);
    // The token is still current: it rotates now, not as a retry or a reuse.
    let unscoped = rotate_scoped(
        &store,
        &app.id,
        digest(10),
        digest(13),
        None,
        now + Duration::seconds(1),
    )
    .await;
    assert_eq!(
        unscoped,
        RotateOutcome::Rotated {
            session: session.clone(),
            user: user.clone(),
            tenants: alpha_roles.clone(),
        }
    );
    let scoped = rotate_scoped(
        &store,
        &app.id,
        digest(13),
        digest(14),
        Some("alpha"),
        now + Duration::seconds(2),
    )
    .await;
    assert_eq!(
        scoped,
        RotateOutcome::Rotated {
            session,
            user,
            tenants: alpha_roles,
        }
    );
    assert_eq!(count_events(&store, &app.id, "refresh").await, 2);
    assert_eq!(
        count_events(&store, &app.id, "refresh_reuse_detected").await,
        0
    );
}
