-- An app's own email: subject, plain-text and HTML templates, replaced whole. No row means the
-- engine's default template. Kept apart from apps so reading an app never loads its templates.
CREATE TABLE app_email_templates (
    app_id     TEXT PRIMARY KEY REFERENCES apps (id),
    subject    TEXT NOT NULL,
    text_body  TEXT NOT NULL,
    html_body  TEXT NOT NULL
);
