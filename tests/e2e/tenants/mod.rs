//! Tenants and roles: what an integrating backend manages per app, and what tokens and /auth/me
//! then say about a user's memberships.

mod isolation;
mod lifecycle;
mod management;
mod scoping;

use serde_json::{Value, json};

use crate::support::http::PreparedPost;
use crate::support::jwt::verified_claims;
use crate::support::{AppCreds, Harness, Reply, TestServer, fire_at_once, post, unique_slug};

/// How many requests `fire_in_batches` releases together: quick, yet gentle on one SQLite file.
const BATCH: usize = 10;

/// Whom a role change is for: `("phone", "+…")`, `("email", "…")` or `("user_id", "usr_…")`.
type Who<'a> = (&'a str, &'a str);

/// An integrating backend managing the tenants and roles of one app.
#[derive(Debug, Clone, Copy)]
struct Admin<'a> {
    server: &'a TestServer,
    app: &'a AppCreds,
}

impl<'a> Admin<'a> {
    /// The backend of the harness's own app.
    fn of(h: &'a Harness) -> Self {
        Self {
            server: &h.server,
            app: &h.app,
        }
    }

    /// The backend of another app on the same server.
    fn for_app(server: &'a TestServer, app: &'a AppCreds) -> Self {
        Self { server, app }
    }

    async fn post(&self, path: &str, fields: Value) -> Reply {
        post(self.server, self.app, path, fields).await
    }

    /// A POST with this app's credentials, to be fired later together with others.
    fn prepare(&self, path: &str, fields: Value) -> PreparedPost {
        self.server.prepare_post(path, self.app.body(fields))
    }

    async fn create_tenant(&self, slug: &str) -> Reply {
        self.post("/tenants/create", tenant_fields(slug)).await
    }

    /// A tenant with a slug no other test uses; asserts it was created.
    async fn new_tenant(&self, prefix: &str) -> String {
        let slug = unique_slug(prefix);
        self.create_tenant(&slug).await.assert_ok();
        slug
    }

    /// `count` new tenants, created in batches; asserts each was created.
    async fn new_tenants(&self, prefix: &str, count: usize) -> Vec<String> {
        let slugs: Vec<String> = (0..count).map(|_| unique_slug(prefix)).collect();
        let posts = slugs
            .iter()
            .map(|slug| self.prepare("/tenants/create", tenant_fields(slug)))
            .collect();
        for reply in fire_in_batches(posts).await {
            reply.assert_ok();
        }
        slugs
    }

    async fn list_tenants(&self, fields: Value) -> Reply {
        self.post("/tenants/list", fields).await
    }

    async fn assign(&self, tenant: &str, role: &str, who: Who<'_>) -> Reply {
        self.post("/roles/assign", role_change(tenant, role, who))
            .await
    }

    async fn revoke(&self, tenant: &str, role: &str, who: Who<'_>) -> Reply {
        self.post("/roles/revoke", role_change(tenant, role, who))
            .await
    }

    /// Gives `role` in every one of `tenants` to the user with `phone`. The first assignment
    /// creates the user; the rest go in batches, so that no two of them race to create it.
    async fn assign_everywhere(&self, tenants: &[String], role: &str, phone: &str) {
        let Some((first, rest)) = tenants.split_first() else {
            return;
        };
        self.assign(first, role, ("phone", phone)).await.assert_ok();
        let posts = rest
            .iter()
            .map(|tenant| {
                self.prepare("/roles/assign", role_change(tenant, role, ("phone", phone)))
            })
            .collect();
        for reply in fire_in_batches(posts).await {
            reply.assert_ok();
        }
    }

    async fn list_roles(&self, fields: Value) -> Reply {
        self.post("/roles/list", fields).await
    }

    /// verify-otp asking for a token scoped to `tenant`.
    async fn verify_scoped(&self, otp_request_id: &str, code: &str, tenant: &str) -> Reply {
        let fields = json!({ "otp_request_id": otp_request_id, "otp": code, "tenant": tenant });
        self.post("/auth/verify-otp", fields).await
    }

    /// refresh asking for a token scoped to `tenant`.
    async fn refresh_scoped(&self, refresh_token: &str, tenant: &str) -> Reply {
        let fields = json!({ "refresh_token": refresh_token, "tenant": tenant });
        self.post("/auth/refresh", fields).await
    }

    /// The claims of the access token in a token response, verified against the app's JWKS.
    async fn claims(&self, tokens: &Reply) -> Value {
        tokens.assert_ok();
        verified_claims(self.server, self.app, &tokens.str("access_token")).await
    }
}

fn tenant_fields(slug: &str) -> Value {
    json!({ "slug": slug, "name": format!("Tenant {slug}") })
}

fn role_change(tenant: &str, role: &str, (key, value): Who<'_>) -> Value {
    let mut fields = json!({ "tenant": tenant, "role": role });
    fields[key] = json!(value);
    fields
}

/// Sends the posts `BATCH` at a time, each batch released at once; the replies in the order given.
async fn fire_in_batches(posts: Vec<PreparedPost>) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(posts.len());
    for batch in posts.chunks(BATCH) {
        replies.extend(fire_at_once(batch.to_vec()).await);
    }
    replies
}

/// The `user_id` of the membership in a roles/assign or roles/revoke answer.
#[track_caller]
fn member_id(reply: &Reply) -> String {
    reply.assert_ok();
    match reply.body["membership"]["user_id"].as_str() {
        Some(user_id) => user_id.to_owned(),
        None => panic!("no membership.user_id: {}", reply.text),
    }
}

/// `(user_id, tenant, roles)` of every membership in a roles/list answer, in the order given.
#[track_caller]
fn memberships(reply: &Reply) -> Vec<(String, String, Value)> {
    reply.assert_ok();
    let Some(list) = reply.body["memberships"].as_array() else {
        panic!("no `memberships` array: {}", reply.text);
    };
    list.iter()
        .map(|membership| {
            match (
                membership["user_id"].as_str(),
                membership["tenant"].as_str(),
            ) {
                (Some(user_id), Some(tenant)) => (
                    user_id.to_owned(),
                    tenant.to_owned(),
                    membership["roles"].clone(),
                ),
                _ => panic!("malformed membership {membership} in {}", reply.text),
            }
        })
        .collect()
}

/// The slugs of a tenants/list answer, in the order given.
#[track_caller]
fn tenant_slugs(reply: &Reply) -> Vec<String> {
    reply.assert_ok();
    let Some(list) = reply.body["tenants"].as_array() else {
        panic!("no `tenants` array: {}", reply.text);
    };
    list.iter()
        .map(|tenant| match tenant["slug"].as_str() {
            Some(slug) => slug.to_owned(),
            None => panic!("tenant without a slug {tenant} in {}", reply.text),
        })
        .collect()
}

/// Sets the app's `revoke_sessions_on_role_change` with the operator CLI, as an operator would.
async fn configure_revoke_sessions_on_role_change(h: &Harness, on: bool) {
    let value = if on { "true" } else { "false" };
    let args = [
        "apps",
        "configure",
        "--slug",
        h.app.app_slug.as_str(),
        "--revoke-sessions-on-role-change",
        value,
    ];
    let output = h.server.run_cli(&args).await;
    assert!(
        output.status.success(),
        "`auth-engine {}` failed: {}\n{}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
