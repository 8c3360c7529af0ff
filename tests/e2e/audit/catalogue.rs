//! The event catalogue of docs/audit-log.md and the engine's list of event names match both ways,
//! outcomes included: no event is written that is not documented, none documented that is not.

use auth_domain::AuditKind;
use std::collections::BTreeMap;

use crate::support::docs::AUDIT_LOG;

/// `event → outcome` from the catalogue table: its rows start with `` | `name` | outcome | ``.
fn documented() -> BTreeMap<String, String> {
    let section = AUDIT_LOG
        .text
        .split("## Event catalogue")
        .nth(1)
        .and_then(|rest| rest.split("\n### ").next())
        .expect("docs/audit-log.md has an Event catalogue section");
    section
        .lines()
        .filter_map(|line| {
            let mut cells = line.split('|').map(str::trim).skip(1);
            let name = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
            let outcome = cells.next()?;
            Some((name.to_owned(), outcome.to_owned()))
        })
        .collect()
}

#[test]
fn the_documented_catalogue_is_exactly_the_engines_events() {
    let engine: BTreeMap<String, String> = AuditKind::ALL
        .iter()
        .map(|kind| (kind.as_str().to_owned(), kind.outcome().as_str().to_owned()))
        .collect();
    assert_eq!(documented(), engine);
}
