"""The HTTP API against a real server process, PostgreSQL and Redis."""

import signal
import threading
from datetime import datetime
from pathlib import Path

import pytest

from tests.app_services import (
    AppProcess,
    Redis,
    assert_ready_follows_redis,
    http_json,
    start_app,
)

pytestmark = pytest.mark.integration


def test_health_reports_release_and_deployment(app: AppProcess) -> None:
    status, body = http_json("GET", f"{app.base_url}/health")
    assert status == 200
    assert body["status"] == "ok"
    assert body["version"] == "1.0.0"
    assert body["deployment_version"] == "1.0.0"
    assert body["environment"] == "test"
    assert body["deployed_at"] == "2024-05-01T12:00:00Z"
    assert body["color"] == "green"
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


def test_ready_follows_redis_going_away_and_coming_back(app: AppProcess, redis: Redis) -> None:
    assert_ready_follows_redis(app.base_url, redis)


def test_notes_are_created_listed_read_and_deleted(app: AppProcess) -> None:
    before = http_json("GET", f"{app.base_url}/notes")[1]["notes_created"]
    status, created = http_json(
        "POST", f"{app.base_url}/notes", {"title": "standup", "duration_seconds": 42.5}
    )
    assert status == 201
    assert created["title"] == "standup"
    assert created["transcript"] is None
    note_url = f"{app.base_url}/notes/{created['id']}"

    listing = http_json("GET", f"{app.base_url}/notes")[1]
    assert created["id"] in [note["id"] for note in listing["notes"]]
    assert listing["notes_created"] == before + 1
    assert http_json("GET", note_url) == (200, created)

    assert http_json("DELETE", note_url) == (204, None)
    assert http_json("GET", note_url)[0] == 404
    assert http_json("DELETE", note_url)[0] == 404


@pytest.mark.parametrize(
    "body",
    [{"title": "", "duration_seconds": 1}, {"title": "x", "duration_seconds": -1}, {"title": "x"}],
)
def test_invalid_notes_are_refused(app: AppProcess, body: dict) -> None:
    assert http_json("POST", f"{app.base_url}/notes", body)[0] == 422


def test_transcribe_stores_a_transcript(app: AppProcess) -> None:
    note = http_json("POST", f"{app.base_url}/notes", {"title": "memo", "duration_seconds": 3})[1]
    status, transcribed = http_json(
        "POST", f"{app.base_url}/notes/{note['id']}/transcribe?seconds=0.2"
    )
    assert status == 200
    assert "memo" in transcribed["transcript"]
    assert (
        http_json("GET", f"{app.base_url}/notes/{note['id']}")[1]["transcript"]
        == (transcribed["transcript"])
    )


@pytest.mark.parametrize("seconds", ["-1", "30.5", "31", "many"])
def test_transcribe_refuses_work_outside_the_bounds(app: AppProcess, seconds: str) -> None:
    note = http_json("POST", f"{app.base_url}/notes", {"title": "memo", "duration_seconds": 3})[1]
    url = f"{app.base_url}/notes/{note['id']}/transcribe?seconds={seconds}"
    assert http_json("POST", url)[0] == 422


def test_transcribe_of_a_missing_note_is_404(app: AppProcess) -> None:
    assert http_json("POST", f"{app.base_url}/notes/999999/transcribe?seconds=0")[0] == 404


def test_sigterm_lets_an_in_flight_request_finish(
    app_venv: Path, app_env: dict[str, str], tmp_path: Path
) -> None:
    draining = start_app(app_venv, app_env, tmp_path / "draining.log")
    note = http_json("POST", f"{draining.base_url}/notes", {"title": "long", "duration_seconds": 9})
    results: list[tuple[int, object]] = []
    url = f"{draining.base_url}/notes/{note[1]['id']}/transcribe?seconds=2"
    request = threading.Thread(target=lambda: results.append(http_json("POST", url)))
    request.start()
    # SIGTERM only once the server is inside the request, so it is really in flight.
    while "transcribing note" not in draining.output():
        assert request.is_alive(), draining.output()
        threading.Event().wait(0.05)
    exit_code = draining.stop()
    request.join()
    assert results[0][0] == 200
    assert results[0][1]["transcript"]
    assert exit_code in (0, -signal.SIGTERM)
