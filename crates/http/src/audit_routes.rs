//! POST /audit/events: an app reads its own audit log.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_ports::EventFilter;
use auth_usecases::MAX_EVENTS_PAGE;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::body::JsonBody;
use crate::routes::{Answer, app_body, auth_fail, fail, resource};

const DEFAULT_EVENTS_PAGE: u32 = 100;

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(resource("/audit/events").route(web::post().to(events)));
}

fn time_field(body: &mut JsonBody, name: &str) -> Option<OffsetDateTime> {
    let raw = body.optional_str(name, 64);
    body.parsed(name, raw, |raw| {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map_err(|_| auth_domain::ParseError("must be an RFC 3339 time"))
    })
}

fn rfc3339(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .ok()
        .and_then(|at| at.format(&Rfc3339).ok())
        .unwrap_or_default()
}

async fn events(request: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let since = time_field(&mut body, "since");
    let until = time_field(&mut body, "until");
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
    body.finish().map_err(fail(&request))?;
    let filter = EventFilter {
        since,
        until,
        event,
        user_id,
    };
    let page = state
        .service
        .audit_events(&credentials, filter, cursor, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    let events: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|(position, event)| {
            serde_json::json!({
                "id": event.id,
                "seq": position,
                "occurred_at": rfc3339(event.occurred_at),
                "event": event.event,
                "outcome": event.outcome,
                "actor": event.actor,
                "subject": event.subject,
                "client_ip": event.client_ip,
                "user_agent": event.user_agent,
                "request_id": event.request_id,
                "details": event.details_value(),
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "events": events, "next_cursor": page.next_cursor })))
}
