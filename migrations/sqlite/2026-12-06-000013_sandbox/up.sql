-- Apps made in the portal wait in a sandbox until the operator approves them: codes go only to the
-- owner's own sign-in identifier and to the app's test identifiers. Portal apps that exist already
-- join it; apps an operator made stay approved.
ALTER TABLE apps ADD COLUMN sandboxed BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE apps SET sandboxed = TRUE WHERE owner_id IS NOT NULL;

CREATE TABLE app_test_identifiers (
    app_id          TEXT NOT NULL REFERENCES apps (id),
    identifier_kind TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (app_id, identifier_kind, identifier)
);
