"""/health (is this process up, and which release is it) and /ready (can it serve traffic)."""

import logging
import re
from datetime import UTC, datetime
from importlib.metadata import version as installed_version

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

log = logging.getLogger(__name__)
router = APIRouter()

PACKAGE_VERSION = installed_version("voicenote-api")
_RELEASE_CANDIDATE = re.compile(r"^(\d+\.\d+\.\d+)-rc\.(\d+)$")


def _as_package_version(deployment_version: str) -> str:
    """Release names use X.Y.Z-rc.N; the installed metadata holds the PEP 440 form X.Y.ZrcN."""
    return _RELEASE_CANDIDATE.sub(r"\1rc\2", deployment_version)


@router.get("/health")
def health(request: Request) -> dict:
    settings = request.app.state.settings
    expected = settings.deployment_version
    # A mismatch means the deploy wrote one release's settings next to another release's code.
    mismatch = expected is not None and _as_package_version(expected) != PACKAGE_VERSION
    return {
        "status": "degraded" if mismatch else "ok",
        "timestamp": datetime.now(UTC).isoformat(),
        "version": PACKAGE_VERSION,
        "deployment_version": expected,
        "environment": settings.environment,
        "deployed_at": settings.deployment_time,
        "color": settings.deployment_color,
    }


def _postgresql_answers(request: Request) -> bool:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any failure means not ready; the name alone goes in the log
        log.warning("readiness: postgresql failed: %s", type(error).__name__)
        return False
    return True


def _redis_answers(request: Request) -> bool:
    try:
        request.app.state.redis.ping()
    except Exception as error:  # any failure means not ready; the name alone goes in the log
        log.warning("readiness: redis failed: %s", type(error).__name__)
        return False
    return True


READINESS_CHECKS = {"postgresql": _postgresql_answers, "redis": _redis_answers}


@router.get("/ready")
def ready(request: Request) -> JSONResponse:
    failed = [name for name, answers in READINESS_CHECKS.items() if not answers(request)]
    if failed:
        return JSONResponse({"ready": False, "failed": failed}, status_code=503)
    return JSONResponse({"ready": True})
