//! Apps and their signing keys: found every way they are looked up, and a slug names one app only.

use auth_domain::AuditKind;
use auth_ports::{AppStore as _, CreateAppError};
use auth_store::Store;
use auth_store::test_support::{audit_events, execute_sql};
use time::Duration;

use crate::support::{app, app_id, contract, event, new_app, t0};

contract!(a_created_app_is_found_by_id_slug_and_key);
async fn a_created_app_is_found_by_id_slug_and_key(store: Store) {
    let new = new_app("attendance");
    let (app, key) = (new.app.clone(), new.key.clone());

    store
        .create_app(new, event(&app.id, AuditKind::AppCreated, t0()))
        .await
        .unwrap();

    assert_eq!(store.find_app(&app.id).await.unwrap(), Some(app.clone()));
    assert_eq!(
        store.find_app_by_slug("attendance").await.unwrap(),
        Some(app.clone())
    );
    assert_eq!(store.find_key(&key.kid).await.unwrap(), Some(key.clone()));
    assert_eq!(store.current_key(&app.id).await.unwrap(), Some(key.clone()));
    assert_eq!(store.verification_keys(&app.id).await.unwrap(), [key]);
    assert_eq!(audit_events(&store, app.id.as_str()).await, ["app_created"]);
}

contract!(a_taken_slug_is_refused_and_nothing_is_half_written);
async fn a_taken_slug_is_refused_and_nothing_is_half_written(store: Store) {
    let first = new_app("shop");
    let first_id = first.app.id.clone();
    store
        .create_app(first, event(&first_id, AuditKind::AppCreated, t0()))
        .await
        .unwrap();
    let second = new_app("shop");
    let (second_id, second_kid) = (second.app.id.clone(), second.key.kid.clone());

    let refused = store
        .create_app(second, event(&second_id, AuditKind::AppCreated, t0()))
        .await;

    assert_eq!(refused, Err(CreateAppError::SlugTaken));
    assert_eq!(store.find_app(&second_id).await.unwrap(), None);
    assert_eq!(store.find_key(&second_kid).await.unwrap(), None);
    assert!(audit_events(&store, second_id.as_str()).await.is_empty());
    let owner = store.find_app_by_slug("shop").await.unwrap().unwrap();
    assert_eq!(owner.id, first_id);
    assert_eq!(
        audit_events(&store, first_id.as_str()).await,
        ["app_created"]
    );
}

contract!(an_unknown_app_is_not_found);
async fn an_unknown_app_is_not_found(store: Store) {
    let unknown = app_id();

    assert_eq!(store.find_app(&unknown).await.unwrap(), None);
    assert_eq!(store.find_app_by_slug("nobody").await.unwrap(), None);
    assert_eq!(store.current_key(&unknown).await.unwrap(), None);
    assert!(store.verification_keys(&unknown).await.unwrap().is_empty());
    assert_eq!(store.find_key("kid-unknown").await.unwrap(), None);
}

contract!(verification_keys_come_newest_first);
async fn verification_keys_come_newest_first(store: Store) {
    let new = new_app("rotating");
    let (app, first) = (new.app.clone(), new.key.clone());
    store
        .create_app(new, event(&app.id, AuditKind::AppCreated, t0()))
        .await
        .unwrap();
    // No port adds a key yet, so copy the first one a second either side of it; copying keeps the
    // SQL free of per-backend blob literals.
    for (kid, offset) in [("kid-newer", "+ 1000000"), ("kid-older", "- 1000000")] {
        let copied = execute_sql(
            &store,
            &format!(
                "INSERT INTO signing_keys (kid, app_id, encrypted_private_key, public_key_der, created_at) \
                 SELECT '{kid}', app_id, encrypted_private_key, public_key_der, created_at {offset} \
                 FROM signing_keys WHERE kid = '{}'",
                first.kid
            ),
        )
        .await;
        assert_eq!(copied, Ok(1));
    }

    let keys = store.verification_keys(&app.id).await.unwrap();
    let current = store.current_key(&app.id).await.unwrap().unwrap();

    let kids: Vec<&str> = keys.iter().map(|key| key.kid.as_str()).collect();
    assert_eq!(kids, ["kid-newer", first.kid.as_str(), "kid-older"]);
    assert_eq!(current.kid, "kid-newer");
    assert_eq!(current.created_at, t0() + Duration::seconds(1));
}

contract!(delivery_policy_changes_touch_only_what_they_name);
async fn delivery_policy_changes_touch_only_what_they_name(store: Store) {
    use auth_domain::delivery::{DeliveryChanges, DeliveryPolicy};
    let app = app(&store).await;
    let countries = DeliveryChanges {
        sms_countries: Some(Some(vec!["91".into(), "1".into()])),
        ..DeliveryChanges::default()
    };
    let caps = DeliveryChanges {
        sms_per_day: Some(5),
        emails_per_day: Some(0),
        ..DeliveryChanges::default()
    };
    let any_country = DeliveryChanges {
        sms_countries: Some(None),
        ..DeliveryChanges::default()
    };

    let after_countries = store
        .change_delivery_policy(app.slug.as_str(), &countries)
        .await
        .unwrap();
    let after_caps = store
        .change_delivery_policy(app.slug.as_str(), &caps)
        .await
        .unwrap();
    let unknown = store
        .change_delivery_policy("no-such-app", &caps)
        .await
        .unwrap();
    let after_any = store
        .change_delivery_policy(app.slug.as_str(), &any_country)
        .await
        .unwrap();

    assert_eq!(
        DeliveryPolicy::default(),
        app.delivery,
        "a new app sends anywhere, with the default caps"
    );
    let both = DeliveryPolicy {
        sms_countries: Some(vec!["91".into(), "1".into()]),
        sms_per_day: 5,
        emails_per_day: 0,
    };
    assert_eq!(
        after_countries.map(|p| p.sms_countries),
        Some(both.sms_countries.clone())
    );
    assert_eq!(
        after_caps,
        Some(both.clone()),
        "the caps change kept the countries"
    );
    assert_eq!(unknown, None);
    assert_eq!(
        after_any,
        Some(DeliveryPolicy {
            sms_countries: None,
            ..both
        })
    );
    let read = store.find_app(&app.id).await.unwrap().unwrap();
    assert_eq!(Some(read.delivery), after_any);
}

contract!(an_email_template_is_replaced_whole_and_racing_writers_never_mix);
async fn an_email_template_is_replaced_whole_and_racing_writers_never_mix(store: Store) {
    use auth_domain::EmailTemplate;
    let other = app(&store).await;
    let app = app(&store).await;
    let template = |n: u32| {
        EmailTemplate::new(
            &format!("Subject {n} — ✓"),
            &format!("Text {n}: {{{{code}}}}"),
            &format!("<p>HTML {n}: {{{{code}}}}</p>"),
        )
        .unwrap()
    };
    let slug = app.slug.as_str();

    let before = store.email_template(&app.id).await.unwrap();
    let set = store.set_email_template(slug, Some(template(1))).await;
    let (a, b) = tokio::join!(
        store.set_email_template(slug, Some(template(2))),
        store.set_email_template(slug, Some(template(3))),
    );
    let after_race = store.email_template(&app.id).await.unwrap();
    let unknown = store
        .set_email_template("no-such-app", Some(template(4)))
        .await;
    store
        .set_email_template(other.slug.as_str(), Some(template(5)))
        .await
        .unwrap();
    let reset = store.set_email_template(slug, None).await;
    let reset_again = store.set_email_template(slug, None).await;

    assert_eq!(before, None, "a new app uses the engine's default");
    assert_eq!((set, a, b), (Ok(true), Ok(true), Ok(true)));
    assert!(
        [Some(template(2)), Some(template(3))].contains(&after_race),
        "one writer wins whole: {after_race:?}"
    );
    assert_eq!(unknown, Ok(false));
    assert_eq!((reset, reset_again), (Ok(true), Ok(true)));
    assert_eq!(store.email_template(&app.id).await.unwrap(), None);
    assert_eq!(
        store.email_template(&other.id).await.unwrap(),
        Some(template(5)),
        "each app has its own"
    );
}

contract!(two_first_email_templates_racing_for_one_app_both_succeed);
async fn two_first_email_templates_racing_for_one_app_both_succeed(store: Store) {
    use auth_domain::EmailTemplate;
    let app = app(&store).await;
    let first = EmailTemplate::new("A", "{{code}}", "{{code}}").unwrap();
    let second = EmailTemplate::new("B", "{{code}}", "{{code}}").unwrap();

    let (a, b) = tokio::join!(
        store.set_email_template(app.slug.as_str(), Some(first.clone())),
        store.set_email_template(app.slug.as_str(), Some(second.clone())),
    );

    assert_eq!(
        (a, b),
        (Ok(true), Ok(true)),
        "an upsert, never a duplicate key"
    );
    let stored = store.email_template(&app.id).await.unwrap();
    assert!(
        stored == Some(first) || stored == Some(second),
        "{stored:?}"
    );
}

contract!(a_developer_lists_only_the_apps_they_own_oldest_first);
async fn a_developer_lists_only_the_apps_they_own_oldest_first(store: Store) {
    use crate::support::{digest, login, phone};
    let portal = app(&store).await;
    let (_, first_dev) = login(&store, &portal.id, &phone(1), digest(1), t0()).await;
    let (_, second_dev) = login(&store, &portal.id, &phone(2), digest(2), t0()).await;
    let owned = |name: &str, owner: &auth_domain::User, seconds: i64| {
        let mut new = new_app(name);
        new.app.owner = Some(owner.id.clone());
        new.app.created_at = t0() + Duration::seconds(seconds);
        new
    };
    for new in [
        owned("newer-app", &first_dev, 2),
        owned("older-app", &first_dev, 1),
        owned("theirs-app", &second_dev, 0),
    ] {
        let id = new.app.id.clone();
        store
            .create_app(new, event(&id, AuditKind::AppCreated, t0()))
            .await
            .unwrap();
    }

    let mine = store.apps_owned_by(&first_dev.id).await.unwrap();
    let theirs = store.apps_owned_by(&second_dev.id).await.unwrap();

    let slugs = |apps: &[auth_domain::App]| -> Vec<String> {
        apps.iter().map(|a| a.slug.as_str().to_owned()).collect()
    };
    assert_eq!(slugs(&mine), ["older-app", "newer-app"]);
    assert_eq!(slugs(&theirs), ["theirs-app"]);
    assert_eq!(
        mine[0].owner.as_ref(),
        Some(&first_dev.id),
        "the owner is stored"
    );
    assert_eq!(portal.owner, None, "an operator's app has no owner");
}

contract!(a_rotated_secret_keeps_the_old_one_only_for_its_overlap_and_is_recorded);
async fn a_rotated_secret_keeps_the_old_one_only_for_its_overlap_and_is_recorded(store: Store) {
    use auth_domain::PreviousSecret;
    let app = app(&store).await;
    let until = t0() + Duration::days(1);

    let overlapping = store
        .rotate_secret(
            &app.id,
            "hash-2".into(),
            Some(until),
            event(&app.id, AuditKind::AppSecretRotated, t0()),
        )
        .await;
    let after_first = store.find_app(&app.id).await.unwrap().unwrap();
    let at_once = store
        .rotate_secret(
            &app.id,
            "hash-3".into(),
            None,
            event(&app.id, AuditKind::AppSecretRotated, t0()),
        )
        .await;
    let after_second = store.find_app(&app.id).await.unwrap().unwrap();
    let unknown = store
        .rotate_secret(
            &app_id(),
            "hash-4".into(),
            None,
            event(&app.id, AuditKind::AppSecretRotated, t0()),
        )
        .await;

    assert_eq!(
        (overlapping, at_once, unknown),
        (Ok(true), Ok(true), Ok(false))
    );
    assert_eq!(after_first.secret_hash, "hash-2");
    assert_eq!(after_first.secret_version, app.secret_version + 1);
    assert_eq!(
        after_first.previous_secret,
        Some(PreviousSecret {
            secret_hash: app.secret_hash.clone(),
            valid_until: until,
        })
    );
    assert_eq!(after_second.secret_hash, "hash-3");
    assert_eq!(after_second.secret_version, app.secret_version + 2);
    assert_eq!(
        after_second.previous_secret, None,
        "no overlap ends the old one's too"
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        ["app_created", "app_secret_rotated", "app_secret_rotated"]
    );
}

contract!(a_new_signing_key_retires_the_old_one_and_racing_rotations_leave_one_signing);
async fn a_new_signing_key_retires_the_old_one_and_racing_rotations_leave_one_signing(
    store: Store,
) {
    use auth_domain::SigningKey;
    let app = app(&store).await;
    let first = store.current_key(&app.id).await.unwrap().unwrap();
    let kid = |n: u8| format!("{}-rotated-{n}", first.kid);
    let key = |n: u8, seconds: i64| SigningKey {
        kid: kid(n),
        created_at: t0() + Duration::seconds(seconds),
        retired_at: None,
        withdrawn_at: None,
        ..first.clone()
    };
    let rotated = |seconds: i64| {
        event(
            &app.id,
            AuditKind::AppKeyRotated,
            t0() + Duration::seconds(seconds),
        )
    };

    let retired = store
        .rotate_signing_key(key(2, 10), vec![], vec![rotated(10)])
        .await;
    let after = store.verification_keys(&app.id).await.unwrap();
    let (a, b) = tokio::join!(
        store.rotate_signing_key(key(3, 20), vec![], vec![rotated(20)]),
        store.rotate_signing_key(key(4, 20), vec![], vec![rotated(20)]),
    );
    let keys = store.verification_keys(&app.id).await.unwrap();

    assert_eq!(retired, Ok(vec![first.kid.clone()]));
    assert_eq!(after[0].kid, kid(2));
    assert_eq!(after[0].retired_at, None);
    assert_eq!(after[1].retired_at, Some(t0() + Duration::seconds(10)));
    let mut retired_by_race = [a.unwrap(), b.unwrap()];
    retired_by_race.sort();
    assert!(
        retired_by_race == [vec![kid(2)], vec![kid(3)]]
            || retired_by_race == [vec![kid(2)], vec![kid(4)]],
        "each rotation retired what the other left signing: {retired_by_race:?}"
    );
    let signing: Vec<&str> = keys
        .iter()
        .filter(|k| k.retired_at.is_none())
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(signing.len(), 1, "exactly one key signs: {keys:?}");
    assert_eq!(
        store.current_key(&app.id).await.unwrap().unwrap().kid,
        signing[0]
    );
    assert_eq!(keys.len(), 4, "replaced keys are kept");
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "app_key_rotated",
            "app_key_rotated",
            "app_key_rotated"
        ]
    );
}

contract!(settings_are_replaced_in_one_write_with_their_record);
async fn settings_are_replaced_in_one_write_with_their_record(store: Store) {
    use auth_domain::app_settings::{AppSettings, Channels, TokenOverrides};
    use auth_domain::delivery::DeliveryPolicy;
    let app = app(&store).await;
    let settings = AppSettings {
        tokens: TokenOverrides::new(Some(Duration::seconds(120)), Some(Duration::ZERO)).unwrap(),
        channels: Channels {
            sms: false,
            email: true,
        },
        delivery: DeliveryPolicy {
            sms_countries: Some(vec!["44".into(), "1".into()]),
            sms_per_day: 3,
            emails_per_day: 4,
        },
    };

    let replaced = store
        .replace_settings(
            &app.id,
            &settings,
            event(&app.id, AuditKind::AppSettingsChanged, t0()),
        )
        .await;
    let read = store.find_app(&app.id).await.unwrap().unwrap();
    let back = store
        .replace_settings(
            &app.id,
            &AppSettings::default(),
            event(&app.id, AuditKind::AppSettingsChanged, t0()),
        )
        .await;
    let unknown = store
        .replace_settings(
            &app_id(),
            &settings,
            event(&app.id, AuditKind::AppSettingsChanged, t0()),
        )
        .await;

    assert_eq!((replaced, back, unknown), (Ok(true), Ok(true), Ok(false)));
    assert_eq!(AppSettings::of(&read), settings);
    assert_eq!(
        AppSettings::of(&store.find_app(&app.id).await.unwrap().unwrap()),
        AppSettings::default(),
        "the engine's defaults again, lifetimes included"
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "app_settings_changed",
            "app_settings_changed"
        ]
    );
}

contract!(a_rotation_withdraws_exactly_the_keys_it_names_with_a_record_each);
async fn a_rotation_withdraws_exactly_the_keys_it_names_with_a_record_each(store: Store) {
    use auth_domain::SigningKey;
    let app = app(&store).await;
    let first = store.current_key(&app.id).await.unwrap().unwrap();
    let key = |suffix: &str, seconds: i64| SigningKey {
        kid: format!("{}-{suffix}", first.kid),
        created_at: t0() + Duration::seconds(seconds),
        retired_at: None,
        withdrawn_at: None,
        ..first.clone()
    };
    let at = |seconds: i64| t0() + Duration::seconds(seconds);
    store
        .rotate_signing_key(
            key("second", 10),
            vec![],
            vec![event(&app.id, AuditKind::AppKeyRotated, at(10))],
        )
        .await
        .unwrap();

    let third = key("third", 20);
    store
        .rotate_signing_key(
            third.clone(),
            vec![first.kid.clone(), "kid-of-nobody".to_owned()],
            vec![
                event(&app.id, AuditKind::AppKeyRotated, at(20)),
                event(&app.id, AuditKind::AppKeyRevoked, at(20)),
            ],
        )
        .await
        .unwrap();
    let keys = store.verification_keys(&app.id).await.unwrap();

    let withdrawn: Vec<(&str, Option<time::OffsetDateTime>)> = keys
        .iter()
        .map(|k| (k.kid.as_str(), k.withdrawn_at))
        .collect();
    assert_eq!(
        withdrawn,
        [
            (third.kid.as_str(), None),
            (key("second", 10).kid.as_str(), None),
            (first.kid.as_str(), Some(at(20))),
        ]
    );
    assert_eq!(
        store
            .find_key(&first.kid)
            .await
            .unwrap()
            .unwrap()
            .withdrawn_at,
        Some(at(20)),
        "a withdrawn key is read back withdrawn, cache or not"
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "app_key_rotated",
            "app_key_rotated",
            "app_key_revoked"
        ]
    );
}

contract!(an_idle_timeout_is_set_alone_and_leaves_the_other_settings);
async fn an_idle_timeout_is_set_alone_and_leaves_the_other_settings(store: Store) {
    use auth_domain::app_settings::{AppSettings, TokenOverrides};
    let app = app(&store).await;
    let tokens = TokenOverrides::new(Some(Duration::seconds(120)), None).unwrap();
    let settings = AppSettings {
        tokens,
        ..AppSettings::default()
    };
    let changed = || event(&app.id, AuditKind::AppSettingsChanged, t0());
    store
        .replace_settings(&app.id, &settings, changed())
        .await
        .unwrap();

    let set = store
        .set_refresh_idle(&app.id, Some(Duration::minutes(5)), changed())
        .await;
    let unknown = store
        .set_refresh_idle(&app_id(), Some(Duration::minutes(5)), changed())
        .await;
    let read = store.find_app(&app.id).await.unwrap().unwrap();

    assert_eq!((set, unknown), (Ok(true), Ok(false)));
    assert_eq!(read.tokens.refresh_idle, Some(Duration::minutes(5)));
    assert_eq!(
        read.tokens.access_ttl,
        Some(Duration::seconds(120)),
        "what it did not set stays"
    );
    assert_eq!(
        audit_events(&store, app.id.as_str()).await,
        [
            "app_created",
            "app_settings_changed",
            "app_settings_changed"
        ]
    );
}
