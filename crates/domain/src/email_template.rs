//! An app's email: subject, text and HTML, from templates with three placeholders and no logic.

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 3] = ["app_name", "code", "expires_in_minutes"];

/// The longest subject template, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;
/// The longest plain-text template, in bytes.
pub const MAX_TEXT_BYTES: usize = 16 * 1024;
/// The longest HTML template, in bytes.
pub const MAX_HTML_BYTES: usize = 64 * 1024;

/// Subject, plain text and HTML templates. `{{name}}` is replaced by a value; nothing else is
/// interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplate {
    subject: String,
    text: String,
    html: String,
}

/// A template that could never render a usable email.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("email template {part}: {problem}")]
pub struct TemplateError {
    pub part: &'static str,
    pub problem: String,
}

/// One rendered email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Default for EmailTemplate {
    fn default() -> Self {
        Self {
            subject: "Your {{app_name}} verification code".into(),
            text: "{{code}} is your {{app_name}} verification code.\n\nIt expires in {{expires_in_minutes}} minutes. If you did not ask for it, you can ignore this email.\n".into(),
            html: "<!doctype html>\n<html><body style=\"font-family: sans-serif\">\n<p>Your {{app_name}} verification code is</p>\n<p style=\"font-size: 28px; font-weight: bold; letter-spacing: 4px\">{{code}}</p>\n<p>It expires in {{expires_in_minutes}} minutes. If you did not ask for it, you can ignore this email.</p>\n</body></html>\n".into(),
        }
    }
}

/// `template` with each known `{{name}}` replaced by `value(name)`, in one pass: replaced text is
/// never looked at again.
fn substitute(template: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) if PLACEHOLDERS.contains(&after[..end].trim()) => {
                out.push_str(&value(after[..end].trim()));
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `value` safe in HTML text and in quoted attributes: `& < > " '` become entities.
#[must_use]
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Unknown `{{…}}` names in `template`.
fn unknown_placeholders(template: &str) -> Vec<String> {
    template
        .split("{{")
        .skip(1)
        .filter_map(|piece| piece.split_once("}}").map(|(name, _)| name.trim()))
        .filter(|name| !PLACEHOLDERS.contains(name))
        .map(str::to_owned)
        .collect()
}

impl EmailTemplate {
    /// # Errors
    /// [`TemplateError`] for a part longer than its limit, a subject with a line break or other
    /// control character, a placeholder that does not exist, or a text or HTML part without
    /// `{{code}}`.
    pub fn new(subject: &str, text: &str, html: &str) -> Result<Self, TemplateError> {
        let too_long = |part, limit: String| TemplateError {
            part,
            problem: format!("must be at most {limit}"),
        };
        if subject.trim().is_empty() {
            return Err(TemplateError {
                part: "subject",
                problem: "must not be empty".into(),
            });
        }
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(too_long(
                "subject",
                format!("{MAX_SUBJECT_CHARS} characters"),
            ));
        }
        if subject.chars().any(char::is_control) {
            return Err(TemplateError {
                part: "subject",
                problem: "must be one line without control characters".into(),
            });
        }
        if text.len() > MAX_TEXT_BYTES {
            return Err(too_long("text", format!("{MAX_TEXT_BYTES} bytes")));
        }
        if html.len() > MAX_HTML_BYTES {
            return Err(too_long("html", format!("{MAX_HTML_BYTES} bytes")));
        }
        for (part, template) in [("subject", subject), ("text", text), ("html", html)] {
            if let Some(name) = unknown_placeholders(template).first() {
                return Err(TemplateError {
                    part,
                    problem: format!(
                        "{{{{{name}}}}} is not a placeholder (use app_name, code, expires_in_minutes)"
                    ),
                });
            }
        }
        for (part, template) in [("text", text), ("html", html)] {
            if !template.contains("{{code}}") {
                return Err(TemplateError {
                    part,
                    problem: "must contain {{code}}".into(),
                });
            }
        }
        Ok(Self {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        })
    }

    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    #[must_use]
    pub fn html(&self) -> &str {
        &self.html
    }

    /// The email carrying `code` for the app named `app_name`.
    #[must_use]
    pub fn render(&self, app_name: &str, code: &str, expires_in_minutes: i64) -> Rendered {
        let minutes = expires_in_minutes.to_string();
        let value = |name: &str| -> String {
            match name {
                "app_name" => app_name.to_owned(),
                "code" => code.to_owned(),
                _ => minutes.clone(),
            }
        };
        let subject = substitute(&self.subject, value)
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        Rendered {
            subject,
            text: substitute(&self.text, value),
            html: substitute(&self.html, |name| escape_html(&value(name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &EmailTemplate, app_name: &str) -> Rendered {
        template.render(app_name, "123456", 5)
    }

    #[test]
    fn the_defaults_carry_the_app_the_code_and_the_expiry_in_both_parts() {
        let email = render(&EmailTemplate::default(), "Demo");

        assert_eq!(email.subject, "Your Demo verification code");
        assert!(
            email
                .text
                .starts_with("123456 is your Demo verification code.")
        );
        assert!(email.text.contains("expires in 5 minutes"));
        assert!(email.html.contains(">123456</p>"));
        assert!(email.html.contains("Your Demo verification code is"));
    }

    #[test]
    fn values_are_never_interpreted_and_are_escaped_in_html() {
        let hostile = "<script>alert(1)</script> {{code}} & \"x\"\r\nBcc: evil@example.com";

        let email = render(&EmailTemplate::default(), hostile);

        assert!(!email.html.contains("<script>"), "{}", email.html);
        assert!(
            email
                .html
                .contains("&lt;script&gt;alert(1)&lt;/script&gt; {{code}} &amp; &quot;x&quot;")
        );
        assert_eq!(email.text.matches("123456").count(), 1, "{}", email.text);
        assert!(!email.subject.contains('\n') && !email.subject.contains('\r'));
    }

    #[test]
    fn a_template_must_use_known_placeholders_and_show_the_code() {
        let unknown = EmailTemplate::new("{{user}}", "{{code}}", "{{code}}").unwrap_err();
        let no_code = EmailTemplate::new("Hi", "Hello {{app_name}}", "{{code}}").unwrap_err();
        let custom = EmailTemplate::new(
            "{{ app_name }} code",
            "Code: {{code}}",
            "<b>{{code}}</b> {{ x",
        )
        .unwrap();

        assert_eq!(unknown.part, "subject");
        assert_eq!(no_code.part, "text");
        let email = render(&custom, "Demo");
        assert_eq!(email.subject, "Demo code");
        assert_eq!(email.text, "Code: 123456");
        assert_eq!(email.html, "<b>123456</b> {{ x");
    }

    #[test]
    fn a_template_is_bounded_and_its_subject_is_one_line() {
        let long_subject = "x".repeat(MAX_SUBJECT_CHARS + 1);
        let long_text = format!("{{{{code}}}}{}", "x".repeat(MAX_TEXT_BYTES));
        let long_html = format!("{{{{code}}}}{}", "x".repeat(MAX_HTML_BYTES));

        let refused = [
            EmailTemplate::new(&long_subject, "{{code}}", "{{code}}"),
            EmailTemplate::new("Your\r\nBcc: x@example.com", "{{code}}", "{{code}}"),
            EmailTemplate::new(" ", "{{code}}", "{{code}}"),
            EmailTemplate::new("Hi", &long_text, "{{code}}"),
            EmailTemplate::new("Hi", "{{code}}", &long_html),
        ]
        .map(|result| result.unwrap_err().part);

        assert_eq!(refused, ["subject", "subject", "subject", "text", "html"]);
        assert!(EmailTemplate::new(&"x".repeat(MAX_SUBJECT_CHARS), "{{code}}", "{{code}}").is_ok());
    }
}
