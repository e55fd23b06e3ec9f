"""The health check both the healthcheck role's module and the nginx switch's gate run: /ready
until it answers 200, then /health until it reports status ok (and the expected version), each
with a bounded number of attempts, and a one-line verdict. Shipped by the healthcheck role;
the nginx role ships the same file (a link), so the switch can gate a color in its own run."""

import json
import time

from ansible.module_utils.urls import open_url

UNANSWERED = -1

# The options of a check, as an argument spec: the health module's own, and the switch's gate.
CHECK_OPTIONS = {
    "url": {"type": "str", "required": True},
    "expect_version": {"type": "str", "default": ""},
    "host_header": {"type": "str", "default": ""},
    "retries": {"type": "int", "default": 30},
    "delay": {"type": "float", "default": 1},
    "timeout": {"type": "float", "default": 5},
    "validate_certs": {"type": "bool", "default": True},
}


def ask(url: str, headers: dict, timeout: float, validate_certs: bool) -> tuple[int, object]:
    """(HTTP status, the body read as JSON or None); UNANSWERED when nothing answered."""
    try:
        response = open_url(
            url,
            headers=headers,
            timeout=timeout,
            validate_certs=validate_certs,
            follow_redirects="safe",
        )
        status, raw = response.status, response.read()
    # HTTPError carries a status and a body; anything else (refused, timed out, TLS) is no answer.
    except Exception as error:
        status = getattr(error, "code", None)
        if status is None:
            return UNANSWERED, None
        raw = error.read() if hasattr(error, "read") else b""
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def poll(asking, passes, attempts: int, delay: float, sleep=time.sleep):
    """Ask until an answer passes or the attempts are spent; the last answer either way."""
    answer = asking()
    for _ in range(attempts - 1):
        if passes(answer):
            break
        sleep(delay)
        answer = asking()
    return answer


def healthy(body, expect_version: str) -> bool:
    return (
        isinstance(body, dict)
        and body.get("status") == "ok"
        and expect_version in ("", body.get("version"))
    )


def judge(url: str, ready: tuple[int, object], health, expect_version: str, retries: int) -> dict:
    """The result of a check: ready is (status, body) of /ready; health that of /health, or
    None when /ready never passed and /health was not asked."""
    ready_status, ready_body = ready
    body = health[1] if health and isinstance(health[1], dict) else {}
    message = f"{url}: /ready answered {ready_status}"
    if ready_status != 200:
        message += " " + json.dumps(ready_body if ready_body is not None else {})
    message += (
        f", /health reports {body.get('status', '(not asked)')}, version"
        f" {body.get('version', '(not asked)')}"
    )
    if expect_version:
        message += f", expected {expect_version}"
    message += f" after {retries} attempts."
    return {
        "url": url,
        "ok": ready_status == 200 and health[0] == 200 and healthy(body, expect_version),
        "ready": ready_status,
        "status": body.get("status"),
        "version": body.get("version"),
        "color": body.get("color"),
        "message": message,
    }


def check(params: dict, asking=ask, sleep=time.sleep) -> dict:
    url, expect = params["url"], params["expect_version"]
    headers = {"Host": params["host_header"]} if params["host_header"] else {}
    attempts = params["retries"] + 1

    def at(path: str):
        return lambda: asking(url + path, headers, params["timeout"], params["validate_certs"])

    ready = poll(at("/ready"), lambda answer: answer[0] == 200, attempts, params["delay"], sleep)
    health = None
    if ready[0] == 200:
        health = poll(
            at("/health"),
            lambda answer: answer[0] == 200 and healthy(answer[1], expect),
            attempts,
            params["delay"],
            sleep,
        )
    return judge(url, ready, health, expect, params["retries"])
