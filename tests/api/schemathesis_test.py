#!/usr/bin/env python3
"""The API's request-body property test, run by CTest as `api_schemathesis`.

Starts a real `vontres serve` on 127.0.0.1 (its own data directory, SIP on free ports), creates
an admin and logs in, then attacks every operation of the served OpenAPI document twice:

1. Our own cases, derived from each body schema: wrong types, out-of-range and int32/int64-
   overflowing numbers, strings one past maxLength and 512 KiB long, too many items, missing
   required and unknown members, non-JSON, JSON arrays, wrong Content-Types. Each must be a 400
   with a stable code naming the field ("invalid_field" + "field") or the body ("invalid_json",
   "invalid_content_type", "invalid_body").
2. schemathesis (pinned in scripts/python-requirements.txt, installed into a virtualenv by
   scripts/python-tools) generating positive and negative cases from the same document, bounded by
   --max-examples per operation: no 5xx, and every 4xx in the JSON error shape
   (schemathesis_hooks.py).

Finally the server's log must hold no "handler threw" (a 500) and no backstop line ("handler read
a JSON value ...": a body that a schema should have refused). A missing schemathesis is a failure,
never a skip.
"""

import argparse
import copy
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ADMIN_EMAIL = "admin@acme.test"
ADMIN_PASSWORD = "admin-Pa55word-horse-staple"
BIG = 512 * 1024  # under http.max_body_bytes (1 MiB), far over every maxLength


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


class Server:
    """`vontres serve` with its stderr drained to a file (so the pipe never blocks it)."""

    def __init__(self, binary, data_dir, log_path):
        env = dict(os.environ)
        env["VONTRES_TELEPHONY_SIP_UDP"] = "127.0.0.1:0"
        env["VONTRES_TELEPHONY_SIP_TCP"] = "127.0.0.1:0"
        self.log_path = log_path
        self.log = open(log_path, "w", encoding="utf-8")
        self.url = None
        self._ready = threading.Event()
        self.process = subprocess.Popen(
            [binary, "serve", "--http-listen", "127.0.0.1:0", "--data-dir", data_dir],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._ready.wait(90) or self.url is None:
            self.stop()
            fail("vontres serve did not start; its log:\n" + open(log_path, encoding="utf-8").read()[-4000:])

    def _drain(self):
        for line in self.process.stderr:
            self.log.write(line)
            self.log.flush()
            if self.url is None and "vontres is serving" in line:
                try:
                    self.url = json.loads(line)["url.full"].rstrip("/")
                except (ValueError, KeyError):
                    pass
                self._ready.set()
        self._ready.set()

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def request(url, method, path, body=None, token=None, content_type="application/json"):
    """(status, parsed JSON or None, raw text)."""
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else body.encode("utf-8")
        if content_type:
            headers["Content-Type"] = content_type
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, text = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode("utf-8", "replace")
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = None
    return status, parsed, text


# ---- our own cases, derived from the schemas ----


def valid_value(schema):
    """A small value the schema accepts."""
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "string":
        return "a" * max(1, schema.get("minLength", 0))
    if kind == "integer":
        return max(schema.get("minimum", 0), min(1, schema.get("maximum", 1)))
    if kind == "number":
        return schema.get("minimum", 0)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {name: valid_value(schema["properties"][name]) for name in schema.get("required", [])}
    return None


def join(path, name):
    return name if not path else f"{path}.{name}"


def mutations(schema, path):
    """(description, value, field) for values of `schema` that must be refused, naming `field`."""
    out = []
    kind = schema.get("type")
    wrong = {"string": 12345, "integer": "12", "number": "1.5", "boolean": "yes", "array": {"a": 1}, "object": [1]}
    if kind in wrong:
        out.append((f"{kind} as another type", wrong[kind], path))
    if "enum" in schema:
        out.append(("value outside the enum", "not-a-choice", path))
    if kind == "string" and "maxLength" in schema:
        out.append(("string one past maxLength", "x" * (schema["maxLength"] + 1), path))
        out.append(("512 KiB string", "x" * BIG, path))
    if kind in ("integer", "number") and "maximum" in schema:
        out.append(("number above maximum", schema["maximum"] + 1, path))
        out.append(("number below minimum", schema["minimum"] - 1, path))
        if kind == "integer":
            for huge in (2**31, 2**63, 2**64 - 1, -(2**63) - 1):
                if not schema["minimum"] <= huge <= schema["maximum"]:
                    out.append((f"integer {huge}", huge, path))
            if schema["minimum"] >= 0:
                out.append(("-1 for a non-negative integer", -1, path))
            out.append(("fraction for an integer", 1.5, path))
    if kind == "array" and "maxItems" in schema:
        out.append(("one item too many", [valid_value(schema["items"])] * (schema["maxItems"] + 1), path))
        for description, value, field in mutations(schema["items"], f"{path}[0]"):
            out.append((f"item: {description}", [value], field))
    if kind == "object":
        properties = schema.get("properties", {})
        base = valid_value(schema)
        for name in schema.get("required", []):
            without = copy.deepcopy(base)
            del without[name]
            out.append((f"without required {name}", without, join(path, name)))
        if schema.get("additionalProperties") is False:
            out.append(("unknown member", {**base, "zz_unknown": 1}, join(path, "zz_unknown")))
        elif isinstance(schema.get("additionalProperties"), dict):
            names = schema["propertyNames"]
            out.append(("member name too long", {**base, "k" * (names["maxLength"] + 1): valid_value(schema["additionalProperties"])},
                        join(path, "k" * min(names["maxLength"] + 1, 64))))
            for description, value, field in mutations(schema["additionalProperties"], join(path, "k")):
                out.append((f"map value: {description}", {**base, "k": value}, field))
        for name, member in properties.items():
            for description, value, field in mutations(member, join(path, name)):
                body = copy.deepcopy(base)
                body[name] = value
                out.append((f"{name}: {description}", body, field))
    return out


def concrete(path):
    out = []
    for part in path.split("/"):
        out.append("validation-probe" if part.startswith("{") else part)
    return "/".join(out)


def own_cases(url, token, document):
    failures = []
    count = 0
    for pattern, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            name = f"{method.upper()} {pattern}"
            path = concrete(pattern)
            content = operation["requestBody"]["content"]
            media, spec = next(iter(content.items()))
            schema = spec["schema"]

            def expect(description, body, want_codes, field, content_type=media):
                nonlocal count
                count += 1
                status, parsed, text = request(url, method.upper(), path, body, token, content_type)
                error = (parsed or {}).get("error", {}) if isinstance(parsed, dict) else {}
                problem = None
                if status != 400:
                    problem = f"status {status}"
                elif error.get("code") not in want_codes:
                    problem = f"code {error.get('code')!r}, want one of {sorted(want_codes)}"
                elif field is not None and error.get("field", "") != field:
                    problem = f"field {error.get('field', '')!r}, want {field!r}"
                elif field and not str(error.get("message", "")).startswith(field + ": "):
                    problem = f"message {error.get('message')!r} does not start with the field"
                if problem:
                    failures.append(f"{name}: {description}: {problem}: {text[:300]}")

            if media != "application/json":
                # A text body (Markdown): its size and its media type.
                expect("text one past maxLength", "x" * (schema["maxLength"] + 1), {"invalid_body"}, "")
                expect("JSON where text is wanted", "{}", {"invalid_content_type"}, "", "application/json")
                continue
            base = json.dumps(valid_value(schema))
            expect("not JSON", "{not json", {"invalid_json"}, "")
            expect("empty body", "", {"invalid_json"}, "")
            expect("JSON as text/plain", base, {"invalid_content_type"}, "", "text/plain")
            expect("form-encoded", "a=1", {"invalid_content_type"}, "", "application/x-www-form-urlencoded")
            expect("a JSON array", "[]", {"invalid_body"}, "")
            expect("a JSON string", '"x"', {"invalid_body"}, "")
            for description, body, field in mutations(schema, ""):
                if field == "":
                    continue  # the body's own type: covered above
                expect(description, json.dumps(body), {"invalid_field"}, field)
    return count, failures


# ---- schemathesis ----


def run_schemathesis(venv, url, token, hooks_dir, max_examples, report_dir, timeout):
    env = dict(os.environ)
    env["PYTHONPATH"] = hooks_dir + os.pathsep + env.get("PYTHONPATH", "")
    env["SCHEMATHESIS_HOOKS"] = "schemathesis_hooks"
    command = [
        os.path.join(venv, "bin", "schemathesis"),
        "--config-file", os.path.join(hooks_dir, "schemathesis.toml"),
        "--no-color",
        "run",
        url + "/api/v1/openapi.json",
        "--url", url,
        "--header", f"Authorization: Bearer {token}",
        "--checks", "not_a_server_error,negative_data_rejection,vontres_error_shape",
        "--phases", "examples,coverage,fuzzing",
        "--mode", "all",
        "--max-examples", str(max_examples),
        "--seed", "20261204",
        "--workers", "1",
        "--request-timeout", "20",
        "--suppress-health-check", "all",
        # Logging out, or resetting the admin's own password (its id is in GET /api/v1/users,
        # which schemathesis reuses), would end the session every later case runs in. Our own
        # cases above cover both bodies.
        "--exclude-path", "/api/v1/auth/logout",
        "--exclude-path", "/api/v1/users/{id}/password",
        "--report", "junit",
        "--report-dir", report_dir,
    ]
    print("running:", " ".join(c if "Bearer" not in c else "Authorization: Bearer <token>" for c in command), flush=True)
    try:
        # In the report directory: schemathesis keeps a .schemathesis cache in its working directory.
        os.makedirs(report_dir, exist_ok=True)
        result = subprocess.run(command, env=env, timeout=timeout, text=True, capture_output=True, cwd=report_dir)
    except subprocess.TimeoutExpired as expired:
        print((expired.stdout or "")[-20000:] if isinstance(expired.stdout, str) else "")
        return False, f"schemathesis ran longer than {timeout} s"
    print(result.stdout[-30000:])
    print(result.stderr[-5000:], file=sys.stderr)
    return result.returncode == 0, f"schemathesis exited {result.returncode}"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source-dir", required=True)
    parser.add_argument("--max-examples", type=int, default=int(os.environ.get("VONTRES_SCHEMATHESIS_EXAMPLES", "50")))
    parser.add_argument("--timeout", type=int, default=600, help="seconds schemathesis may run")
    args = parser.parse_args()

    tools = subprocess.run([os.path.join(args.source_dir, "scripts", "python-tools")], capture_output=True, text=True)
    if tools.returncode != 0:
        fail("scripts/python-tools could not install schemathesis:\n" + tools.stderr[-4000:])
    venv = tools.stdout.strip().splitlines()[-1]
    if not os.access(os.path.join(venv, "bin", "schemathesis"), os.X_OK):
        fail(f"no schemathesis in {venv}")

    with tempfile.TemporaryDirectory(prefix="vontres-schemathesis-") as tmp:
        data_dir = os.path.join(tmp, "data")
        admin = subprocess.run(
            [args.binary, "users", "create-admin", "--data-dir", data_dir, "--org", "Acme", "--email", ADMIN_EMAIL,
             "--password-stdin"],
            input=ADMIN_PASSWORD + "\n", capture_output=True, text=True, timeout=60)
        if admin.returncode != 0:
            fail("create-admin failed: " + admin.stderr)
        server = Server(args.binary, data_dir, os.path.join(tmp, "serve.log"))
        failures = []
        try:
            status, body, text = request(server.url, "POST", "/api/v1/auth/login",
                                         json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
            if status != 200:
                fail(f"login: {status} {text}")
            token = body["access_token"]
            status, document, text = request(server.url, "GET", "/api/v1/openapi.json")
            if status != 200:
                fail(f"openapi.json: {status}")

            count, own_failures = own_cases(server.url, token, document)
            print(f"own cases: {count} sent, {len(own_failures)} wrong", flush=True)
            failures += own_failures

            ok, why = run_schemathesis(venv, server.url, token, os.path.dirname(os.path.abspath(__file__)),
                                       args.max_examples, os.path.join(tmp, "report"), args.timeout)
            if not ok:
                failures.append(why)
            if not server.alive():
                failures.append("vontres serve died during the run")
        finally:
            server.stop()
        log = open(server.log_path, encoding="utf-8", errors="replace").read()
        for line in log.splitlines():
            if '"handler threw' in line or '"handler read a JSON value' in line:
                failures.append("server log: " + line[:500])
        if failures:
            print("\n".join(failures[:200]), file=sys.stderr)
            fail(f"{len(failures)} problem(s)")
    print("PASS")


if __name__ == "__main__":
    main()
