"""Schemathesis hooks for Auth Engine's property run (tests/e2e/openapi.rs starts it).

Generated requests would all stop at `invalid_app_credentials` and `404` without something real to
use, so schema-valid credentials and app slugs are replaced by those of an app the test created.
Values the generator made invalid on purpose are left alone: those cases check that the engine
refuses what the document forbids.
"""

import os

import schemathesis

APP_ID = os.environ["AUTH_ENGINE_APP_ID"]
APP_SECRET = os.environ["AUTH_ENGINE_APP_SECRET"]
APP_SLUG = os.environ["AUTH_ENGINE_APP_SLUG"]


def _valid(value, longest):
    return isinstance(value, str) and 1 <= len(value) <= longest


@schemathesis.hook
def map_body(context, body):
    if isinstance(body, dict):
        if _valid(body.get("app_id"), 100):
            body["app_id"] = APP_ID
        if _valid(body.get("app_secret"), 256):
            body["app_secret"] = APP_SECRET
    return body


@schemathesis.hook
def map_path_parameters(context, path_parameters):
    if path_parameters and "app_slug" in path_parameters:
        path_parameters["app_slug"] = APP_SLUG
    return path_parameters
