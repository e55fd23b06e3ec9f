"""Alembic environment: migrates the database online, in one transaction. The URL comes from
voicenote-api-migrate (config.attributes), else from the environment or the settings file."""

from alembic import context
from sqlalchemy import create_engine
from voicenote_api.database import sqlalchemy_url
from voicenote_api.models import Base
from voicenote_api.settings import merged_environment

database_url = context.config.attributes.get("database_url") or merged_environment()["DATABASE_URL"]
engine = create_engine(sqlalchemy_url(database_url))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
