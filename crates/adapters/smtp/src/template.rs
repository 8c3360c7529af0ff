//! The email's subject, text and HTML, from templates with three placeholders and no logic.

use auth_ports::OtpMessage;

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 3] = ["app_name", "code", "expires_in_minutes"];

/// Subject, plain text and HTML templates. `{{name}}` is replaced by a value; nothing else is
/// interpreted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplates {
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

impl Default for EmailTemplates {
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

fn escape_html(value: &str) -> String {
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

impl EmailTemplates {
    /// # Errors
    /// [`TemplateError`] for a placeholder that does not exist, or a text or HTML part without
    /// `{{code}}`.
    pub fn new(subject: &str, text: &str, html: &str) -> Result<Self, TemplateError> {
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

    /// The email for `message`.
    #[must_use]
    pub fn render(&self, message: &OtpMessage) -> Rendered {
        let minutes = message.expires_in_minutes.to_string();
        let value = |name: &str| -> String {
            match name {
                "app_name" => message.app_name.clone(),
                "code" => message.code.reveal().to_owned(),
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
    use auth_domain::Channel;
    use auth_domain::otp::OtpCode;

    fn message(app_name: &str) -> OtpMessage {
        OtpMessage {
            channel: Channel::Email,
            to: "a@example.com".into(),
            code: OtpCode::from_random(123_456).unwrap(),
            message: String::new(),
            app_name: app_name.into(),
            expires_in_minutes: 5,
            app_slug: "demo".into(),
            otp_request_id: "otp_a".into(),
        }
    }

    #[test]
    fn the_defaults_carry_the_app_the_code_and_the_expiry_in_both_parts() {
        let email = EmailTemplates::default().render(&message("Demo"));

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

        let email = EmailTemplates::default().render(&message(hostile));

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
        let unknown = EmailTemplates::new("{{user}}", "{{code}}", "{{code}}").unwrap_err();
        let no_code = EmailTemplates::new("Hi", "Hello {{app_name}}", "{{code}}").unwrap_err();
        let custom = EmailTemplates::new(
            "{{ app_name }} code",
            "Code: {{code}}",
            "<b>{{code}}</b> {{ x",
        )
        .unwrap();

        assert_eq!(unknown.part, "subject");
        assert_eq!(no_code.part, "text");
        let email = custom.render(&message("Demo"));
        assert_eq!(email.subject, "Demo code");
        assert_eq!(email.text, "Code: 123456");
        assert_eq!(email.html, "<b>123456</b> {{ x");
    }
}
