DROP TABLE app_email_templates;
