//! The pages' HTML: one layout and a few parts. Every value from outside goes through [`esc`].

use auth_usecases::AuthError;

/// `value` safe to place in HTML text and in double-quoted attributes.
pub fn esc(value: &str) -> String {
    auth_domain::email_template::escape_html(value)
}

/// Who is signed in, for the page header.
pub struct SignedIn<'a> {
    pub label: &'a str,
    pub csrf: &'a str,
}

/// A whole page titled `title` around `content` (already HTML).
pub fn page(title: &str, signed_in: Option<&SignedIn<'_>>, content: &str) -> String {
    let account = signed_in.map_or_else(String::new, |who| {
        format!(
            r#"<nav aria-label="Account"><a href="/portal/apps">My apps</a>
<span class="who">{label}</span>
<form method="post" action="/portal/sign-out">{csrf}<button type="submit" class="link">Sign out</button></form></nav>"#,
            label = esc(who.label),
            csrf = csrf_field(who.csrf),
        )
    });
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Auth Engine</title>
<link rel="stylesheet" href="/portal/static/portal.css">
<script src="/portal/static/portal.js" defer></script>
</head>
<body>
<header><a class="brand" href="/portal">Auth Engine</a>{account}</header>
<main>
<h1>{title}</h1>
{content}
</main>
</body>
</html>
"#,
        title = esc(title),
    )
}

/// The hidden anti-forgery field of a form.
pub fn csrf_field(token: &str) -> String {
    format!(
        r#"<input type="hidden" name="csrf" value="{}">"#,
        esc(token)
    )
}

/// An error as the catalogue names it, announced to screen readers.
pub fn error(error: &AuthError) -> String {
    let message = match error {
        AuthError::InvalidRequest(problems) => problems
            .iter()
            .map(|p| format!("{}: {}", p.name, p.problem))
            .collect::<Vec<_>>()
            .join("; "),
        AuthError::OtpInvalid { attempts_remaining } => {
            format!("{error} ({attempts_remaining} tries left)")
        }
        AuthError::RateLimited { retry_after } => format!(
            "{error} (in {} seconds)",
            retry_after.whole_seconds().max(1)
        ),
        other => other.to_string(),
    };
    format!(
        r#"<p class="error" role="alert"><code>{}</code> {}</p>"#,
        error.code(),
        esc(&message)
    )
}

/// A time as the portal shows it: RFC 3339.
pub fn when(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_values_cannot_open_tags_or_leave_attributes() {
        assert_eq!(
            esc(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let page = page("<b>Title</b>", None, "");
        assert!(page.contains("<h1>&lt;b&gt;Title&lt;/b&gt;</h1>"));
    }

    #[test]
    fn errors_show_the_catalogue_code_and_every_field_problem() {
        let shown = error(&AuthError::InvalidRequest(vec![
            auth_usecases::FieldProblem::new("slug", "is already <taken>"),
        ]));

        assert!(shown.contains("<code>invalid_request</code>"), "{shown}");
        assert!(shown.contains("slug: is already &lt;taken&gt;"), "{shown}");
        assert!(shown.contains(r#"role="alert""#));
    }
}
