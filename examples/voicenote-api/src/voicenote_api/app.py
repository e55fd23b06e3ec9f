"""The FastAPI application, wired to its PostgreSQL engine and Redis client."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from voicenote_api import health, notes
from voicenote_api.counters import create_redis_client
from voicenote_api.database import create_database_engine, session_factory
from voicenote_api.profiling import add_server_timing
from voicenote_api.settings import Settings


def create_app(settings: Settings) -> FastAPI:
    engine = create_database_engine(settings.database_url)
    redis_client = create_redis_client(settings.redis_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        engine.dispose()
        redis_client.close()

    app = FastAPI(
        title="VoiceNote API",
        version=health.PACKAGE_VERSION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    if settings.enable_profiling:
        app.middleware("http")(add_server_timing)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.redis = redis_client
    app.include_router(health.router)
    app.include_router(notes.router)
    return app
