"""ENABLE_PROFILING: a Server-Timing header on every response, read by browsers' dev tools."""

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response


async def add_server_timing(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    elapsed_ms = (time.perf_counter() - started) * 1000
    response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
    return response
