//! An app's audit log in the portal: the records the API's `/audit/events` lists, with its filters.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::AuditKind;
use auth_domain::chain::StoredEvent;
use auth_ports::EventFilter;
use auth_usecases::AuthError;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

use crate::PortalState;
use crate::access::{page_token, signed_in};
use crate::html::{SignedIn, error, esc, page, when};
use crate::responses::{failure, not_found_page, respond};

/// Records per page.
const PAGE_SIZE: u32 = 50;

/// The filters, as the form sends them; empty fields are no filter.
#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    event: Option<String>,
    user_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    cursor: Option<String>,
}

fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A time as a `datetime-local` field sends it (read as UTC) or in RFC 3339.
fn parse_time(name: &str, raw: Option<&String>) -> Result<Option<OffsetDateTime>, AuthError> {
    let Some(raw) = given(raw) else {
        return Ok(None);
    };
    OffsetDateTime::parse(raw, &Rfc3339)
        .or_else(|_| {
            PrimitiveDateTime::parse(
                raw,
                format_description!("[year]-[month]-[day]T[hour]:[minute]"),
            )
            .map(PrimitiveDateTime::assume_utc)
        })
        .map(Some)
        .map_err(|_| {
            AuthError::invalid_field(name, "must be a date and time like 2026-11-30T14:05")
        })
}

impl AuditQuery {
    fn filter(&self) -> Result<(EventFilter, Option<i64>), AuthError> {
        let event = given(self.event.as_ref()).map(str::to_owned);
        if let Some(name) = &event
            && !AuditKind::ALL.iter().any(|kind| kind.as_str() == name)
        {
            return Err(AuthError::invalid_field(
                "event",
                "is not an event the engine writes",
            ));
        }
        let user_id = given(self.user_id.as_ref()).map(str::to_owned);
        if user_id.as_ref().is_some_and(|id| id.len() > 100) {
            return Err(AuthError::invalid_field(
                "user_id",
                "is longer than any user id",
            ));
        }
        let cursor = match given(self.cursor.as_ref()) {
            Some(raw) => Some(raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                AuthError::invalid_field("cursor", "is not a page this log gave")
            })?),
            None => None,
        };
        let filter = EventFilter {
            since: parse_time("since", self.since.as_ref())?,
            until: parse_time("until", self.until.as_ref())?,
            event,
            user_id,
        };
        Ok((filter, cursor))
    }

    /// This query's filters with `cursor`, as a URL query string.
    fn with_cursor(&self, cursor: &str) -> String {
        let encode = |value: &str| -> String {
            value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect()
        };
        [
            ("event", &self.event),
            ("user_id", &self.user_id),
            ("since", &self.since),
            ("until", &self.until),
        ]
        .iter()
        .filter_map(|(name, value)| given(value.as_ref()).map(|v| format!("{name}={}", encode(v))))
        .chain(std::iter::once(format!("cursor={}", encode(cursor))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

fn filter_form(slug: &str, query: &AuditQuery) -> String {
    let selected = given(query.event.as_ref()).unwrap_or_default();
    let options: String = AuditKind::ALL
        .iter()
        .map(|kind| {
            let name = kind.as_str();
            let mark = if name == selected { " selected" } else { "" };
            format!(r#"<option value="{name}"{mark}>{name}</option>"#)
        })
        .collect();
    let value = |field: &Option<String>| esc(given(field.as_ref()).unwrap_or_default());
    format!(
        r#"<form method="get" action="/portal/apps/{slug}/audit" class="filters">
<label for="event">Event</label>
<select id="event" name="event"><option value="">any</option>{options}</select>
<label for="user_id">User id (actor or subject)</label>
<input id="user_id" name="user_id" maxlength="100" value="{user_id}">
<label for="since">From (UTC)</label>
<input id="since" name="since" type="datetime-local" value="{since}">
<label for="until">Until (UTC)</label>
<input id="until" name="until" type="datetime-local" value="{until}">
<button type="submit">Filter</button>
</form>"#,
        slug = esc(slug),
        user_id = value(&query.user_id),
        since = value(&query.since),
        until = value(&query.until),
    )
}

fn row(position: i64, event: &StoredEvent) -> String {
    let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(event.occurred_at) * 1000)
        .map(when)
        .unwrap_or_default();
    let cell = |value: &Option<String>| esc(value.as_deref().unwrap_or(""));
    format!(
        r#"<tr><td>{position}</td><td>{at}</td><td><code>{name}</code></td><td>{outcome}</td><td>{actor}</td><td><code>{subject}</code></td><td>{ip}</td><td><code>{details}</code></td></tr>"#,
        at = esc(&at),
        name = esc(&event.event),
        outcome = esc(&event.outcome),
        actor = cell(&event.actor),
        subject = cell(&event.subject),
        ip = cell(&event.client_ip),
        details = esc(&event.details),
    )
}

pub async fn audit_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    query: web::Query<AuditQuery>,
) -> HttpResponse {
    let developer = match signed_in(&request, &state).await {
        Ok(developer) => developer,
        Err(response) => return response,
    };
    let (token, set) = page_token(&request, &state, &developer);
    let who = SignedIn {
        label: developer.label(),
        csrf: &token,
    };
    let title = format!("Audit log · {slug}");
    let (filter, cursor) = match query.filter() {
        Ok(parsed) => parsed,
        Err(problem) => {
            let content = format!("{}{}", error(&problem), filter_form(&slug, &query));
            return respond(
                StatusCode::BAD_REQUEST,
                page(&title, Some(&who), &content),
                &set,
            );
        }
    };
    let listed = state
        .service
        .developer_audit_events(&developer.user.id, &slug, filter, cursor, PAGE_SIZE)
        .await;
    let events = match listed {
        Ok(Some(events)) => events,
        Ok(None) => return not_found_page(),
        Err(error) => return failure(&error),
    };
    let rows: String = events
        .items
        .iter()
        .map(|(position, event)| row(*position, event))
        .collect();
    let table = if events.items.is_empty() {
        "<p>No records match.</p>".to_owned()
    } else {
        format!(
            r#"<div class="scroll"><table id="events"><thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col">Actor</th><th scope="col">Subject</th><th scope="col">IP</th><th scope="col">Details</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let more = events
        .next_cursor
        .as_deref()
        .map_or_else(String::new, |cursor| {
            format!(
                r#"<p><a class="button" href="/portal/apps/{}/audit?{}">Next page</a></p>"#,
                esc(&slug),
                esc(&query.with_cursor(cursor))
            )
        });
    let content = format!(
        r#"<p>Oldest first, in chain order. <a href="/portal/apps/{slug}">Back to the app</a></p>{form}{table}{more}"#,
        slug = esc(&slug),
        form = filter_form(&slug, &query),
    );
    respond(StatusCode::OK, page(&title, Some(&who), &content), &set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(event: &str, since: &str) -> AuditQuery {
        AuditQuery {
            event: Some(event.into()),
            since: Some(since.into()),
            ..AuditQuery::default()
        }
    }

    #[test]
    fn the_form_filters_are_checked_and_a_browser_time_is_read_as_utc() {
        let (filter, cursor) = query("login", "2026-11-30T14:05").filter().unwrap();

        assert_eq!(filter.event.as_deref(), Some("login"));
        assert_eq!(
            filter.since,
            Some(time::macros::datetime!(2026-11-30 14:05 UTC))
        );
        assert_eq!(cursor, None);
        assert!(query("no_such_event", "").filter().is_err());
        assert!(query("", "yesterday").filter().is_err());
    }

    #[test]
    fn the_next_page_keeps_the_filters() {
        let next = query("login", "2026-11-30T14:05").with_cursor("42");

        assert_eq!(next, "event=login&since=2026-11-30T14%3A05&cursor=42");
    }
}
