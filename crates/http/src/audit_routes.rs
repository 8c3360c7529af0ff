//! POST /audit/events: an app reads its own audit log; GET /audit/keys.json: the key anyone checks
//! its checkpoints and exports with.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_ports::EventFilter;
use auth_usecases::MAX_EVENTS_PAGE;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::app_call::{Answer, app_body, auth_fail, fail};
use crate::body::Fields;
use crate::dto::{AuditKeysBody, EventBody, EventPage};

const DEFAULT_EVENTS_PAGE: u32 = 100;

fn time_field(body: &mut impl Fields, name: &str) -> Option<OffsetDateTime> {
    let raw = body.optional_str(name, 64);
    body.parsed(name, raw, |raw| {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map_err(|_| auth_domain::ParseError("must be an RFC 3339 time"))
    })
}

/// Which events, from where, and how many.
pub(crate) fn event_query(body: &mut impl Fields) -> (EventFilter, Option<i64>, u32) {
    let since = time_field(body, "since");
    let until = time_field(body, "until");
    let event = body.optional_str("event", 64);
    let user_id = body.optional_str("user_id", 100);
    let cursor = body.optional_str("cursor", 20);
    let cursor = body.parsed("cursor", cursor, |raw| {
        raw.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or(auth_domain::ParseError(
                "is not a cursor this endpoint gave",
            ))
    });
    let limit = body
        .optional_u32("limit", 1, MAX_EVENTS_PAGE)
        .unwrap_or(DEFAULT_EVENTS_PAGE);
    let filter = EventFilter {
        since,
        until,
        event,
        user_id,
    };
    (filter, cursor, limit)
}

pub(crate) async fn events(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (filter, cursor, limit) = event_query(&mut body);
    body.finish().map_err(fail(&request))?;
    let page = state
        .service
        .audit_events(&credentials, filter, cursor, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(EventPage {
        events: page
            .items
            .iter()
            .map(|(position, event)| EventBody::new(*position, event))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The audit key's public half: the same for every engine process of a database, and public.
pub(crate) async fn keys(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((
            actix_web::http::header::CACHE_CONTROL,
            "public, max-age=300",
        ))
        .json(AuditKeysBody::from(state.service.audit_public_key()))
}
