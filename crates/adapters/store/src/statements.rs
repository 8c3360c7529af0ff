//! Every statement the store sends, as a `TRACE` event of target `auth_store::statements`: what an
//! operator turns on (`AUTH_LOG=warn,auth_store::statements=trace`) to see the SQL behind a
//! request, and how the plan tests learn which statements the hot paths run. Only the statement's
//! text is written, never its bound values (identifiers, hashes), so the trace holds no secret.

use diesel::connection::{Instrumentation, InstrumentationEvent};

/// Where the events go.
pub(crate) const TARGET: &str = "auth_store::statements";

/// What the debug form of a query puts between its text and its bound values.
const BINDS: &str = " -- binds: ";

/// Traces each statement as it starts; nothing at all while its target is not enabled.
#[derive(Debug, Default)]
pub(crate) struct Trace;

impl Instrumentation for Trace {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        if let InstrumentationEvent::StartQuery { query, .. } = event
            && tracing::enabled!(target: TARGET, tracing::Level::TRACE)
        {
            let rendered = query.to_string();
            // One line per statement, so a log reader can take it whole.
            let sql = text_of(&rendered)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            tracing::trace!(target: TARGET, "statement: {sql}");
        }
    }
}

/// The text of a rendered query (its debug form), without the values bound to it.
pub(crate) fn text_of(rendered: &str) -> &str {
    rendered.split_once(BINDS).map_or(rendered, |(sql, _)| sql)
}

#[cfg(test)]
mod tests {
    use super::text_of;
    use diesel::ExpressionMethods as _;

    #[test]
    fn the_text_of_a_query_ends_where_its_bound_values_begin() {
        let query =
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Text>("'x'").eq("secret-value"));
        let rendered = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&query).to_string();
        let sql = text_of(&rendered);
        assert!(rendered.contains("secret-value"), "{rendered}");
        assert!(
            !sql.contains("secret-value") && sql.contains("SELECT"),
            "{sql}"
        );
    }
}
