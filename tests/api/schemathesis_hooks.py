"""Schemathesis checks for the Vontres API, loaded through SCHEMATHESIS_HOOKS by schemathesis_test.py.

Every 4xx answer must be the API's JSON error shape, {"error": {"code", "message"[, "field"]}},
with a stable snake_case code; an "invalid_field" error names its field and its message starts with
it. 5xx answers are caught by schemathesis' own not_a_server_error check.
"""

import json
import re

import schemathesis

CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@schemathesis.check
def vontres_error_shape(ctx, response, case):
    """A 4xx is {"error": {"code": snake_case, "message": str}} as application/json."""
    if response.status_code < 400 or response.status_code >= 500:
        return None
    content_type = ";".join(response.headers.get("content-type", []))
    if "application/json" not in content_type:
        raise AssertionError(f"{response.status_code} with Content-Type {content_type!r}, not application/json")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"{response.status_code} body is not JSON: {error}") from error
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        raise AssertionError(f"{response.status_code} body has no error object: {body!r}")
    code = error.get("code")
    if not isinstance(code, str) or not CODE.match(code):
        raise AssertionError(f"error code {code!r} is not a stable snake_case code")
    if not isinstance(error.get("message"), str):
        raise AssertionError(f"error {code} has no message")
    if code == "invalid_field":
        field = error.get("field")
        if not isinstance(field, str) or not field:
            raise AssertionError(f"invalid_field without the field: {error!r}")
        if not error["message"].startswith(field + ": "):
            raise AssertionError(f"invalid_field message does not start with its field: {error!r}")
    return None
