//! Every bad input is a catalogued 400 before any side effect: control characters in any string
//! field of any endpoint (the fields come from `/openapi.json`, which is made from the endpoint
//! table, so a new field is covered by itself), duplicate keys, credentials in the URL.

use serde_json::{Map, Value, json};

use crate::support::database::scratch_database;
use crate::support::{
    Harness, Reply, TestServer, TestServerBuilder, on_both_backends, unique_phone,
};

/// `(path, field)` for every string field of every JSON request body the document describes.
fn string_fields(document: &Value) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for operation in item.as_object().expect("a path item").values() {
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            let Some(properties) = schema["properties"].as_object() else {
                continue;
            };
            for (name, property) in properties {
                let is_string = match &property["type"] {
                    Value::String(kind) => kind == "string",
                    Value::Array(kinds) => kinds.iter().any(|kind| kind == "string"),
                    _ => false,
                };
                if is_string {
                    found.push((path.clone(), name.clone()));
                }
            }
        }
    }
    found
}

on_both_backends!(nul_in_every_string_field_of_every_endpoint_is_a_400);
async fn nul_in_every_string_field_of_every_endpoint_is_a_400(builder: TestServerBuilder) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let document = h.server.get("/openapi.json").await.body;
    let fields = string_fields(&document);
    assert!(
        fields.len() > 60,
        "the document lists too few string fields: {fields:?}"
    );

    // Act / Assert: each field in turn carries a NUL, next to otherwise valid credentials and a
    // phone, so nothing but that byte stands between the request and a delivered code.
    for (path, field) in &fields {
        for poisoned in ["a\u{0}b", "x\u{1b}[31m"] {
            let mut body: Map<String, Value> = h
                .app
                .body(json!({ "phone": unique_phone() }))
                .as_object()
                .cloned()
                .unwrap_or_default();
            body.insert(field.clone(), json!(poisoned));
            let reply = h.server.post(path, &Value::Object(body)).await;
            reply.assert_error(400, "invalid_request");
            let named = reply.field_problems().iter().any(|(name, _)| name == field);
            assert!(named, "{path} {field}: {}", reply.text);
        }
    }
    assert!(
        h.sink.deliveries().is_empty(),
        "a code was delivered: {:?}",
        h.sink.deliveries()
    );
    h.server.get("/readyz").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nul_inside_licence_metadata_is_a_400_on_postgres_too() {
    let Some(database) = scratch_database().await else {
        return;
    };
    let h = Harness::start_with(TestServer::builder().postgres(database.url())).await;

    let reply = h
        .post(
            "/licenses/generate",
            json!({ "metadata": { "seat\u{0}": "x", "note": "a\u{0}b" } }),
        )
        .await;

    reply.assert_error(400, "invalid_request");
    assert_eq!(reply.field_problems()[0].0, "metadata");
    h.post(
        "/licenses/generate",
        json!({ "metadata": { "note": "two\nlines" } }),
    )
    .await
    .assert_ok();
}

async fn post_raw(server: &TestServer, path: &str, body: String) -> Reply {
    let request = server
        .client()
        .post(server.url(path))
        .header("content-type", "application/json")
        .body(body);
    Reply::from_request(request).await
}

on_both_backends!(a_json_object_with_a_duplicate_key_is_refused_before_anything_is_sent);
async fn a_json_object_with_a_duplicate_key_is_refused_before_anything_is_sent(
    builder: TestServerBuilder,
) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let first = unique_phone();
    let second = unique_phone();
    let body = format!(
        r#"{{"app_id":"{}","app_secret":"{}","phone":"{first}","phone":"{second}"}}"#,
        h.app.app_id, h.app.app_secret
    );

    // Act
    let reply = post_raw(&h.server, "/auth/send-otp", body).await;
    let nested = post_raw(
        &h.server,
        "/licenses/generate",
        format!(
            r#"{{"app_id":"{}","app_secret":"{}","metadata":{{"a":1,"a":2}}}}"#,
            h.app.app_id, h.app.app_secret
        ),
    )
    .await;

    // Assert
    reply.assert_error(400, "invalid_request");
    assert_eq!(reply.field_problems()[0].0, "phone");
    nested.assert_error(400, "invalid_request");
    assert!(h.sink.deliveries().is_empty());
}

on_both_backends!(a_credential_in_the_query_string_is_refused);
async fn a_credential_in_the_query_string_is_refused(builder: TestServerBuilder) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let login = h.login(&unique_phone()).await;
    let secret_in_url = format!("/auth/send-otp?app_secret={}", h.app.app_secret);
    let token_in_url = format!("/auth/me?access_token={}", login.str("access_token"));

    // Act
    let send = h
        .server
        .post(
            &secret_in_url,
            &h.app.body(json!({ "phone": unique_phone() })),
        )
        .await;
    let me = h
        .server
        .get_with_bearer(&token_in_url, &login.str("access_token"))
        .await;
    let harmless = h
        .server
        .get_with_bearer("/auth/me?verbose=1", &login.str("access_token"))
        .await;

    // Assert
    send.assert_error(400, "invalid_request");
    assert_eq!(send.field_problems()[0].0, "app_secret");
    me.assert_error(400, "invalid_request");
    assert_eq!(me.field_problems()[0].0, "access_token");
    harmless.assert_ok();
    assert_eq!(
        h.sink.deliveries().len(),
        1,
        "only the login's code was sent"
    );
    assert!(
        !h.server.logs().contains(&h.app.app_secret),
        "the secret reached the log"
    );
}
