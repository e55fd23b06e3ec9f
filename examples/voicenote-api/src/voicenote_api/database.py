"""PostgreSQL access: one engine per process, sessions per request."""

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

CONNECT_TIMEOUT_SECONDS = 2
STATEMENT_TIMEOUT_MS = 5000


def sqlalchemy_url(database_url: str) -> str:
    """Accept plain postgresql:// URLs and use the psycopg 3 driver, the only one shipped."""
    url = make_url(database_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def create_database_engine(database_url: str) -> Engine:
    # Short timeouts so that /ready answers quickly when PostgreSQL is gone, instead of hanging.
    return create_engine(
        sqlalchemy_url(database_url),
        pool_pre_ping=True,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            "options": f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        },
    )


def session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)
