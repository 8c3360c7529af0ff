//! Creating and listing tenants, giving and taking roles: the answers, the refusals and the pages.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Admin, member_id, memberships, tenant_slugs};
use crate::support::{Harness, unique_email, unique_phone, unique_slug};

/// Well-formed, but no user has it.
const UNKNOWN_USER_ID: &str = "usr_nobodynobodynobodynobodynobody";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn creating_a_tenant_returns_it_and_its_slug_is_taken_within_the_app() {
    // Arrange
    let h = Harness::start().await;
    let slug = unique_slug("springfield-elementary");

    // Act
    let created = h
        .post(
            "/tenants/create",
            json!({ "slug": slug, "name": "Springfield Elementary" }),
        )
        .await;
    let again = h
        .post(
            "/tenants/create",
            json!({ "slug": slug, "name": "Another school" }),
        )
        .await;

    // Assert
    created.assert_ok();
    let tenant = &created.body["tenant"];
    assert!(
        tenant["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("ten_")),
        "{tenant}"
    );
    assert_eq!(tenant["slug"], slug.as_str());
    assert_eq!(tenant["name"], "Springfield Elementary");
    let created_at = tenant["created_at"].as_str().unwrap_or_default();
    assert!(
        OffsetDateTime::parse(created_at, &Rfc3339).is_ok(),
        "created_at is not RFC 3339: {tenant}"
    );
    again.assert_error(409, "tenant_exists");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assigning_a_held_role_and_revoking_one_not_held_change_nothing() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let email = unique_email();
    let first = admin.assign(&school, "teacher", ("email", &email)).await;
    let user_id = member_id(&first);

    // Act
    let by_email_again = admin.assign(&school, "teacher", ("email", &email)).await;
    let by_id_again = admin
        .assign(&school, "teacher", ("user_id", &user_id))
        .await;
    let not_held = admin
        .revoke(&school, "principal", ("user_id", &user_id))
        .await;

    // Assert
    assert_eq!(
        first.body["membership"],
        json!({ "user_id": user_id, "tenant": school, "roles": ["teacher"] })
    );
    for reply in [&by_email_again, &by_id_again, &not_held] {
        reply.assert_ok();
        assert_eq!(
            reply.body["membership"], first.body["membership"],
            "{}",
            reply.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_tenants_and_users_are_not_found() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let never_signed_in = unique_phone();

    // Act
    let no_tenant = admin
        .assign("no-such-tenant", "teacher", ("phone", &unique_phone()))
        .await;
    let no_user = admin
        .assign(&school, "teacher", ("user_id", UNKNOWN_USER_ID))
        .await;
    let revoke_from_nobody = admin
        .revoke(&school, "teacher", ("phone", &never_signed_in))
        .await;

    // Assert
    no_tenant.assert_error(404, "tenant_not_found");
    no_user.assert_error(404, "user_not_found");
    revoke_from_nobody.assert_error(404, "user_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_are_listed_in_slug_order_a_page_at_a_time() {
    // Arrange: created out of order, so that the order of the answer is the list's own.
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let base = unique_slug("page");
    let mut slugs: Vec<String> = ["e", "c", "a", "d", "b"]
        .iter()
        .map(|letter| format!("{base}-{letter}"))
        .collect();
    for slug in &slugs {
        admin.create_tenant(slug).await.assert_ok();
    }
    slugs.sort();

    // Act
    let first = admin.list_tenants(json!({ "limit": 2 })).await;
    let second = admin
        .list_tenants(json!({ "limit": 2, "cursor": first.str("next_cursor") }))
        .await;
    let third = admin
        .list_tenants(json!({ "limit": 2, "cursor": second.str("next_cursor") }))
        .await;
    let everything = admin.list_tenants(json!({})).await;

    // Assert
    let pages: Vec<Vec<String>> = [&first, &second, &third]
        .into_iter()
        .map(tenant_slugs)
        .collect();
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 2, 1], "{pages:?}");
    assert!(third.body["next_cursor"].is_null(), "{}", third.text);
    assert_eq!(pages.concat(), slugs);
    assert_eq!(tenant_slugs(&everything), slugs);
    assert!(
        everything.body["next_cursor"].is_null(),
        "{}",
        everything.text
    );
    for tenant in everything.body["tenants"].as_array().into_iter().flatten() {
        assert!(
            tenant["id"]
                .as_str()
                .is_some_and(|id| id.starts_with("ten_")),
            "{tenant}"
        );
        assert!(tenant["name"].as_str().is_some(), "{tenant}");
        assert!(tenant["created_at"].as_str().is_some(), "{tenant}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_page_limit_outside_1_to_200_is_an_invalid_request_naming_limit() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    admin.new_tenant("school").await;

    for (limit, accepted) in [(0, false), (1, true), (200, true), (201, false)] {
        // Act
        let reply = admin.list_tenants(json!({ "limit": limit })).await;

        // Assert
        if accepted {
            assert_eq!(tenant_slugs(&reply).len(), 1, "limit {limit}");
            continue;
        }
        reply.assert_error(400, "invalid_request");
        let problems = reply.field_problems();
        assert!(
            problems.iter().any(|(name, _)| name == "limit"),
            "limit {limit}: `limit` not named in {problems:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tenants_members_are_listed_a_page_at_a_time() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let mut members = Vec::new();
    for _ in 0..3 {
        let assigned = admin
            .assign(&school, "pupil", ("phone", &unique_phone()))
            .await;
        members.push(member_id(&assigned));
    }
    members.sort();

    // Act
    let first = admin
        .list_roles(json!({ "tenant": school, "limit": 2 }))
        .await;
    let second = admin
        .list_roles(json!({ "tenant": school, "limit": 2, "cursor": first.str("next_cursor") }))
        .await;

    // Assert
    let (first_page, second_page) = (memberships(&first), memberships(&second));
    assert_eq!((first_page.len(), second_page.len()), (2, 1));
    assert!(second.body["next_cursor"].is_null(), "{}", second.text);
    let mut listed = Vec::new();
    for (user_id, tenant, roles) in first_page.into_iter().chain(second_page) {
        assert_eq!(
            (tenant.as_str(), &roles),
            (school.as_str(), &json!(["pupil"]))
        );
        listed.push(user_id);
    }
    listed.sort();
    assert_eq!(listed, members, "a member is missing or repeated");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_tenant_role_and_user_fields_are_invalid_requests_naming_the_field() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let phone = unique_phone();
    let assign = |tenant: &str, role: &str, who: Value| {
        let mut fields = json!({ "tenant": tenant, "role": role });
        if let (Some(map), Value::Object(who)) = (fields.as_object_mut(), who) {
            map.extend(who);
        }
        ("/roles/assign", fields)
    };
    let create =
        |slug: &str, name: &str| ("/tenants/create", json!({ "slug": slug, "name": name }));
    let someone = json!({ "phone": phone });
    // `named`: the field (or any of the `|`-separated fields) the answer must name.
    let cases = [
        ("slug with capitals", create("Springfield", "S"), "slug"),
        (
            "slug starting with a dash",
            create("-springfield", "S"),
            "slug",
        ),
        ("slug of one character", create("s", "S"), "slug"),
        ("empty name", create(&unique_slug("school"), ""), "name"),
        (
            "name over 100 characters",
            create(&unique_slug("school"), &"n".repeat(101)),
            "name",
        ),
        (
            "tenant slug with an underscore",
            assign("spring_field", "teacher", someone.clone()),
            "tenant",
        ),
        (
            "role with capitals",
            assign(&school, "Teacher", someone.clone()),
            "role",
        ),
        (
            "role starting with a digit",
            assign(&school, "1st-grade", someone.clone()),
            "role",
        ),
        (
            "role over 64 characters",
            assign(&school, &"r".repeat(65), someone.clone()),
            "role",
        ),
        (
            "phone not in E.164",
            assign(&school, "teacher", json!({ "phone": "12345" })),
            "phone",
        ),
        (
            "both user_id and phone",
            assign(
                &school,
                "teacher",
                json!({ "user_id": UNKNOWN_USER_ID, "phone": phone }),
            ),
            "user_id|phone|email",
        ),
        (
            "no user at all",
            assign(&school, "teacher", json!({})),
            "user_id|phone|email",
        ),
        (
            "roles/list by user_id and tenant",
            (
                "/roles/list",
                json!({ "user_id": UNKNOWN_USER_ID, "tenant": school }),
            ),
            "user_id|tenant",
        ),
        (
            "roles/list by nothing",
            ("/roles/list", json!({})),
            "user_id|tenant",
        ),
    ];

    for (case, (path, fields), named) in cases {
        // Act
        let reply = admin.post(path, fields).await;

        // Assert
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_request"),
            "{case}: {}",
            reply.text
        );
        reply.assert_error(400, "invalid_request");
        let problems = reply.field_problems();
        assert!(
            problems
                .iter()
                .any(|(name, _)| named.split('|').any(|field| field == name)),
            "{case}: none of `{named}` named in {problems:?}"
        );
    }
}
