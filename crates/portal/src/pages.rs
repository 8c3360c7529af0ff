//! The portal's table of pages and forms: the portal is registered from it and the API document
//! lists it. The pages themselves live in the modules named for what they show.

use actix_web::http::{Method, header};
use actix_web::{HttpResponse, Route, web};

use crate::responses::not_found_page;

/// The methods the portal's pages answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// One of the portal's pages or forms, under `/portal`.
#[derive(Debug)]
pub struct Page {
    pub verb: Verb,
    pub path: &'static str,
    pub summary: &'static str,
    handler: fn() -> Route,
}

const fn page_of(
    verb: Verb,
    path: &'static str,
    summary: &'static str,
    handler: fn() -> Route,
) -> Page {
    Page {
        verb,
        path,
        summary,
        handler,
    }
}

/// Every page and form: the portal is registered from this table, and the API document lists it.
pub static PAGES: &[Page] = &[
    page_of(
        Verb::Get,
        "",
        "The portal: your apps, or the sign-in page",
        || web::route().to(crate::sign_in::home),
    ),
    page_of(
        Verb::Get,
        "/",
        "The portal: your apps, or the sign-in page",
        || web::route().to(crate::sign_in::home),
    ),
    page_of(
        Verb::Get,
        "/sign-in",
        "Sign in with a one-time code",
        || web::route().to(crate::sign_in::sign_in_page),
    ),
    page_of(
        Verb::Post,
        "/sign-in",
        "Send a sign-in code to an email or phone",
        || web::route().to(crate::sign_in::send_code),
    ),
    page_of(
        Verb::Post,
        "/sign-in/code",
        "Check the sign-in code and start a portal session",
        || web::route().to(crate::sign_in::check_code),
    ),
    page_of(Verb::Post, "/sign-out", "End the portal session", || {
        web::route().to(crate::sign_in::sign_out)
    }),
    page_of(Verb::Get, "/apps", "Your apps", || {
        web::route().to(crate::apps::apps_page)
    }),
    page_of(
        Verb::Post,
        "/apps",
        "Create an app; its credentials are shown once",
        || web::route().to(crate::apps::create_app),
    ),
    page_of(
        Verb::Get,
        "/apps/new",
        "The form that creates an app",
        || web::route().to(crate::apps::new_app_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}",
        "An app: its credentials, keys and links",
        || web::route().to(crate::apps::app_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/secret",
        "Rotate the app secret",
        || web::route().to(crate::apps::rotate_secret),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/key",
        "Rotate the signing key",
        || web::route().to(crate::keys::rotate_key),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/key/withdraw",
        "Confirm withdrawing the earlier signing keys",
        || web::route().to(crate::keys::withdraw_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/key/withdraw",
        "Withdraw every earlier signing key at once",
        || web::route().to(crate::keys::withdraw_keys),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/audit",
        "The app's audit log, with filters",
        || web::route().to(crate::audit::audit_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/licenses",
        "The app's licences",
        || web::route().to(crate::licenses::licenses_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/licenses",
        "Generate a licence; its key is shown once",
        || web::route().to(crate::licenses::generate),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/licenses/{id}/{action}",
        "Suspend, reinstate or revoke a licence",
        || web::route().to(crate::licenses::change_status),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/settings",
        "The app's settings",
        || web::route().to(crate::settings::settings_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/settings",
        "Save the app's settings",
        || web::route().to(crate::settings::save_settings),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/sandbox",
        "Whether the app is approved, and its test identifiers",
        || web::route().to(crate::sandbox::sandbox_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/sandbox",
        "Add a test identifier",
        || web::route().to(crate::sandbox::add_test_identifier),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/sandbox/remove",
        "Remove a test identifier",
        || web::route().to(crate::sandbox::remove_test_identifier),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/tenants",
        "The app's tenants",
        || web::route().to(crate::tenants::tenants_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants",
        "Create a tenant",
        || web::route().to(crate::tenants::create_tenant),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/tenants/{tenant}",
        "A tenant's members and their roles",
        || web::route().to(crate::tenants::tenant_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants/{tenant}/roles",
        "Give a member a role",
        || web::route().to(crate::tenants::assign_role),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants/{tenant}/roles/revoke",
        "Take a role away",
        || web::route().to(crate::tenants::revoke_role),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/users",
        "The app's users, with a search",
        || web::route().to(crate::users::users_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/users/{user}",
        "A user's roles and sessions",
        || web::route().to(crate::users::user_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/users/{user}/revoke",
        "End one or every session of a user",
        || web::route().to(crate::users::revoke_sessions),
    ),
    page_of(
        Verb::Get,
        "/static/portal.css",
        "The portal's stylesheet",
        || web::route().to(stylesheet),
    ),
    page_of(
        Verb::Get,
        "/static/portal.js",
        "The portal's script",
        || web::route().to(script),
    ),
];

pub fn routes(config: &mut web::ServiceConfig) {
    for page in PAGES {
        let method = match page.verb {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
        };
        config.route(page.path, (page.handler)().method(method));
    }
    config.default_service(web::to(not_found));
}

/// The portal's unknown paths.
async fn not_found() -> HttpResponse {
    not_found_page()
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../static/portal.css"))
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../static/portal.js"))
}
