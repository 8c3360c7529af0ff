//! Who may see a page: the browser's anti-forgery secret and form tokens, the signed-in developer,
//! and the developer's own app with the page built around it.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use auth_domain::App;
use serde::Deserialize;

use crate::html::{SignedIn, page};
use crate::responses::{failure, forged, not_found_page, redirect, respond};
use crate::session::{Developer, developer};
use crate::{PortalState, cookies, csrf};

/// How long a browser keeps its anti-forgery secret.
const CSRF_COOKIE_SECS: i64 = 12 * 3600;

/// A form that carries nothing but its anti-forgery token.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfOnly {
    pub csrf: String,
}

/// This browser's anti-forgery secret, and the cookie to set when it is new.
pub(crate) fn csrf_secret(request: &HttpRequest, state: &PortalState) -> (String, Vec<String>) {
    match cookies::read(request, cookies::CSRF) {
        Some(secret) => (secret, Vec::new()),
        None => {
            let secret = csrf::new_secret(state);
            let cookie = cookies::set(
                cookies::CSRF,
                &secret,
                CSRF_COOKIE_SECS,
                state.secure_cookies,
            );
            (secret, vec![cookie])
        }
    }
}

/// Whether a posted form is this browser's own: the token matches its cookie, and a browser that
/// names the page's origin names this host.
pub(crate) fn genuine(request: &HttpRequest, state: &PortalState, token: &str) -> bool {
    let same_origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .is_none_or(|origin| {
            let host = request.connection_info().host().to_owned();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host)
        });
    same_origin
        && csrf::verify(
            state,
            cookies::read(request, cookies::CSRF).as_deref(),
            token,
        )
}

/// The signed-in developer, or the response that sends the browser to sign in.
pub(crate) async fn signed_in(
    request: &HttpRequest,
    state: &PortalState,
) -> Result<Developer, HttpResponse> {
    match developer(request, state).await {
        Ok(Some(developer)) => Ok(developer),
        Ok(None) => Err(redirect(
            "/portal/sign-in",
            &cookies::clear_session(state.secure_cookies),
        )),
        Err(error) => Err(failure(&error)),
    }
}

/// The signed-in developer and their app named `slug`, or the response that ends the request
/// (sign in, or the not-found page for an app that is not theirs).
pub(crate) async fn own_app(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
) -> Result<(Developer, App), HttpResponse> {
    let developer = signed_in(request, state).await?;
    match state.service.developer_app(&developer.user.id, slug).await {
        Ok(Some(app)) => Ok((developer, app)),
        Ok(None) => Err(not_found_page()),
        Err(error) => Err(failure(&error)),
    }
}

/// For a posted form about the app `slug`: the signed-in developer and their app, or the response
/// that ends the request (a forged form, sign in, or the not-found page).
pub(crate) async fn own_app_posted(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
    csrf: &str,
) -> Result<(Developer, App), HttpResponse> {
    if !genuine(request, state, csrf) {
        return Err(forged());
    }
    own_app(request, state, slug).await
}

/// A page of one of the signed-in developer's apps, as its handlers build it.
pub(crate) struct AppPage<'a> {
    pub state: &'a PortalState,
    pub developer: Developer,
    pub app: App,
    /// The anti-forgery token of the page's forms.
    pub token: String,
    /// The cookies the response sets.
    pub set: Vec<String>,
}

impl<'a> AppPage<'a> {
    /// The page of the signed-in developer's app `slug`, or the response that ends the request
    /// (sign in, or the not-found page for an app that is not theirs).
    pub(crate) async fn open(
        request: &HttpRequest,
        state: &'a PortalState,
        slug: &str,
    ) -> Result<Self, HttpResponse> {
        let (developer, app) = own_app(request, state, slug).await?;
        let (token, set) = page_token(request, state, &developer);
        Ok(Self {
            state,
            developer,
            app,
            token,
            set,
        })
    }

    /// The page answering a posted form: its token stays the form's, and the cookies are the
    /// session's renewals.
    pub(crate) fn posted(
        state: &'a PortalState,
        developer: Developer,
        app: App,
        token: &str,
    ) -> Self {
        let set = developer.set_cookies.clone();
        Self {
            state,
            developer,
            app,
            token: token.to_owned(),
            set,
        }
    }

    /// The whole page, titled `title · app name`, around `content` (already HTML).
    pub(crate) fn respond(&self, status: StatusCode, title: &str, content: &str) -> HttpResponse {
        let who = SignedIn {
            label: self.developer.label(),
            csrf: &self.token,
        };
        let title = format!("{title} · {}", self.app.name);
        respond(status, page(&title, Some(&who), content), &self.set)
    }
}

/// The anti-forgery token for a page's forms, and every cookie the page must set.
pub(crate) fn page_token(
    request: &HttpRequest,
    state: &PortalState,
    developer: &Developer,
) -> (String, Vec<String>) {
    let (secret, mut set) = csrf_secret(request, state);
    set.extend(developer.set_cookies.iter().cloned());
    (csrf::token(state, &secret), set)
}
