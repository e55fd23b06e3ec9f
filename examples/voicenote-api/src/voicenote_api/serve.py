"""`voicenote-api` / `python -m voicenote_api`: serve the app with uvicorn on $BIND:$PORT."""

import logging
import os
import sys

import uvicorn

from voicenote_api.app import create_app
from voicenote_api.notes import MAX_TRANSCRIBE_SECONDS
from voicenote_api.settings import SettingsError, load_settings

DEFAULT_BIND = "127.0.0.1"
DEFAULT_PORT = 8000
# Longer than the longest request, so that SIGTERM lets every in-flight request finish.
GRACEFUL_SHUTDOWN_SECONDS = MAX_TRANSCRIBE_SECONDS + 5
# Longer than the proxy's idle timeout (nginx: 60 s), so the proxy, not uvicorn, closes idle
# connections and never sends a request on a socket uvicorn has just closed.
KEEP_ALIVE_SECONDS = 75


def _port(raw: str) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise SettingsError(f"PORT must be a number from 1 to 65535, not {raw!r}.")
    return int(raw)


def main() -> None:
    try:
        settings = load_settings()
        port = _port(os.environ.get("PORT", str(DEFAULT_PORT)))
    except SettingsError as error:
        print(f"voicenote-api: {error}", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=settings.log_level.upper(), format="%(levelname)s:  %(message)s")
    uvicorn.run(
        create_app(settings),
        host=os.environ.get("BIND", DEFAULT_BIND),
        port=port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        proxy_headers=True,
    )
