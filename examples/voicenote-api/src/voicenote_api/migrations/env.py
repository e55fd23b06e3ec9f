"""Alembic environment: migrates $DATABASE_URL online, in one transaction."""

import os

from alembic import context
from sqlalchemy import create_engine
from voicenote_api.database import sqlalchemy_url
from voicenote_api.models import Base

engine = create_engine(sqlalchemy_url(os.environ["DATABASE_URL"]))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
