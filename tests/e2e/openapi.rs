//! `/openapi.json`: it names every route the server answers, the docs name every endpoint in it,
//! and schemathesis's property run against it finds no server error and no answer that breaks it.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;

use reqwest::Method;
use serde_json::{Value, json};

use crate::smtp_sink::available;
use crate::support::{Harness, TestServer, unique_phone};

async fn document(server: &TestServer) -> Value {
    let reply = server.get("/openapi.json").await;
    reply.assert_ok();
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "the document is served as JSON"
    );
    assert_eq!(reply.body["openapi"], "3.1.0");
    reply.body
}

/// Every `(METHOD, path)` the document lists.
fn operations(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("a path item");
            methods
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect()
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "DELETE", "PATCH"];

#[tokio::test]
async fn every_route_the_server_answers_is_in_the_document() {
    let harness = Harness::start().await;
    let server = &harness.server;
    let document = document(server).await;
    let listed = operations(&document);
    assert!(
        listed.len() >= 24 + 28,
        "the API and the portal: {listed:?}"
    );

    // Path parameters that name real things, so that handlers answer rather than refuse them.
    let user = harness.login(&unique_phone()).await.body["user"]["id"].clone();
    let license = harness.post("/licenses/generate", json!({})).await;
    let parameters = [
        ("{app_slug}", harness.app.app_slug.clone()),
        ("{slug}", harness.app.app_slug.clone()),
        ("{tenant}", "school".to_owned()),
        ("{user}", user.as_str().expect("a user id").to_owned()),
        (
            "{id}",
            license.body["license"]["id"]
                .as_str()
                .expect("an id")
                .to_owned(),
        ),
        ("{action}", "suspend".to_owned()),
    ];
    for (method, template) in &listed {
        let path = parameters
            .iter()
            .fold(template.clone(), |path, (name, value)| {
                path.replace(name, value)
            });
        assert!(
            !path.contains('{'),
            "{template} has a parameter this test does not fill"
        );
        let method = Method::from_bytes(method.as_bytes()).expect("a method");
        let status = server
            .client()
            .request(method.clone(), server.url(&path))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .expect("the server answers")
            .status()
            .as_u16();
        assert!(
            status != 404 && status != 405,
            "{method} {path} is in the document but answered {status}"
        );
        // The same path with a method the document does not give it is not answered.
        for other in METHODS {
            if listed.contains(&(other.to_owned(), template.clone())) {
                continue;
            }
            let response = server
                .client()
                .request(
                    Method::from_bytes(other.as_bytes()).expect("a method"),
                    server.url(&path),
                )
                .send()
                .await
                .expect("the server answers");
            let status = response.status().as_u16();
            if template.starts_with("/portal") {
                assert!(
                    status == 404 || status == 405,
                    "{other} {path} is not in the document but answered {status}"
                );
            } else {
                assert_eq!(status, 405, "{other} {path}");
                let allow = response
                    .headers()
                    .get("allow")
                    .and_then(|v| v.to_str().ok());
                assert_eq!(allow, Some(method.as_str()), "{other} {path}: Allow");
            }
        }
    }

    // Paths an integrator might guess, none of which is an endpoint.
    for path in [
        "/",
        "/auth",
        "/auth/otp",
        "/auth/token",
        "/apps",
        "/apps/x",
        "/users",
        "/admin",
        "/openapi.yaml",
        "/api/auth/send-otp",
        "/portal/admin",
    ] {
        for method in ["GET", "POST"] {
            let status = server
                .client()
                .request(
                    Method::from_bytes(method.as_bytes()).expect("a method"),
                    server.url(path),
                )
                .send()
                .await
                .expect("the server answers")
                .status()
                .as_u16();
            assert_eq!(
                status, 404,
                "{method} {path} is answered but not in the document"
            );
        }
    }
}

/// `docs/` by name, read from the workspace.
fn docs() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut docs: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("docs/")
        .map(|entry| entry.expect("a docs entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| {
            let name = path
                .file_name()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            (
                name,
                std::fs::read_to_string(&path).expect("a readable doc"),
            )
        })
        .collect();
    docs.sort();
    docs
}

/// Every `GET /path` or `POST /path` the docs mention (`POST /a, /b` names two), with `{…}`
/// segments as the document writes them.
fn documented_endpoints(text: &str) -> BTreeSet<(String, String)> {
    let is_path = |c: char| c.is_ascii_alphanumeric() || "/{}._-".contains(c);
    let mut found = BTreeSet::new();
    for method in ["GET", "POST"] {
        for (at, _) in text.match_indices(&format!("{method} /")) {
            let mut rest = &text[at + method.len() + 1..];
            loop {
                let end = rest.find(|c: char| !is_path(c)).unwrap_or(rest.len());
                let path = rest[..end].trim_end_matches('.');
                found.insert((method.to_owned(), path.to_owned()));
                match rest[end..].strip_prefix(", ") {
                    Some(more) if more.starts_with('/') => rest = more,
                    _ => break,
                }
            }
        }
    }
    found
}

#[tokio::test]
async fn the_docs_and_the_document_name_the_same_endpoints() {
    let server = TestServer::builder().start().await;
    let listed = operations(&document(&server).await);
    let docs = docs();
    let mut mentioned = BTreeSet::new();
    for (name, text) in &docs {
        for endpoint in documented_endpoints(text) {
            // The portal's pages are told in portal.md by what they show, not by route.
            if endpoint.1.starts_with("/portal") {
                continue;
            }
            assert!(
                listed.contains(&endpoint),
                "{name} mentions {} {}, which is not in /openapi.json",
                endpoint.0,
                endpoint.1
            );
            mentioned.insert(endpoint);
        }
    }
    for endpoint in listed
        .iter()
        .filter(|(_, path)| !path.starts_with("/portal"))
    {
        assert!(
            mentioned.contains(endpoint),
            "{} {} is in /openapi.json but no doc mentions it",
            endpoint.0,
            endpoint.1
        );
    }
}

/// The Python that runs schemathesis: `SCHEMATHESIS_PYTHON`, or `python3`.
fn python() -> String {
    std::env::var("SCHEMATHESIS_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// How many cases schemathesis makes per operation and phase (`SCHEMATHESIS_MAX_EXAMPLES`).
fn max_examples() -> String {
    std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "40".to_owned())
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_document() {
    if !available(
        "schemathesis (pip install schemathesis)",
        std::process::Command::new(python()).args(["-c", "import schemathesis"]),
    ) {
        return;
    }
    let harness = Harness::start().await;
    let signed_in = harness.login(&unique_phone()).await;
    let access_token = signed_in.str("access_token");
    let hooks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/schemathesis");
    let checks = [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
    ]
    .join(",");
    let output = tokio::process::Command::new(python())
        .args([
            "-c",
            "import sys; from schemathesis.cli import schemathesis; sys.exit(schemathesis())",
            "run",
            &harness.server.url("/openapi.json"),
            "--checks",
            &checks,
            // The portal's forms need a browser's session and anti-forgery token; its pages are
            // covered by tests/e2e/portal.
            "--exclude-path-regex",
            "^/portal",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            &max_examples(),
            "--seed",
            "20261201",
            "--workers",
            "2",
            "--header",
            &format!("Authorization: Bearer {access_token}"),
            "--no-color",
        ])
        .current_dir(harness.server.dir())
        .env("PYTHONPATH", &hooks)
        .env("SCHEMATHESIS_HOOKS", "auth_engine_hooks")
        .env("AUTH_ENGINE_APP_ID", &harness.app.app_id)
        .env("AUTH_ENGINE_APP_SECRET", &harness.app.app_secret)
        .env("AUTH_ENGINE_APP_SLUG", &harness.app.app_slug)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&output.stdout);
    eprintln!("{report}");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}\n{}\nengine log:\n{}",
        String::from_utf8_lossy(&output.stderr),
        harness.server.logs()
    );
    assert!(
        report.contains("API Operations:") && !report.contains("Tested: 0"),
        "schemathesis tested nothing:\n{report}"
    );
}
