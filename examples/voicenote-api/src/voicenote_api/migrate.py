"""`voicenote-api-migrate`: run the Alembic migrations shipped inside this package."""

import argparse
import logging
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from voicenote_api.settings import SettingsError, merged_environment

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voicenote-api-migrate",
        description=(
            "Apply or revert the VoiceNote API's schema migrations on DATABASE_URL (from the "
            "environment or the settings file $VOICENOTE_ENV_FILE)."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True)
    upgrade = actions.add_parser("upgrade", help="Upgrade to a revision (usually 'head').")
    upgrade.add_argument("revision")
    downgrade = actions.add_parser("downgrade", help="Downgrade to a revision (e.g. '-1').")
    downgrade.add_argument("revision")
    actions.add_parser("current", help="Print the database's current revision.")
    actions.add_parser("heads", help="Print the head revision(s) this release ships.")
    return parser


def main(argv: list[str] | None = None) -> None:
    arguments = _parser().parse_args(argv)
    try:
        database_url = merged_environment().get("DATABASE_URL")
    except SettingsError as error:
        print(f"voicenote-api-migrate: {error}", file=sys.stderr)
        sys.exit(2)
    if arguments.action in {"upgrade", "downgrade", "current"} and not database_url:
        print("voicenote-api-migrate: Missing required setting: DATABASE_URL.", file=sys.stderr)
        sys.exit(2)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = alembic_config()
    # Handed to env.py through Alembic's config, never through the process environment.
    config.attributes["database_url"] = database_url
    try:
        if arguments.action == "upgrade":
            command.upgrade(config, arguments.revision)
        elif arguments.action == "downgrade":
            command.downgrade(config, arguments.revision)
        elif arguments.action == "current":
            command.current(config)
        else:
            command.heads(config)
    except CommandError as error:
        print(f"voicenote-api-migrate: {error}", file=sys.stderr)
        sys.exit(2)
    except Exception as error:  # a failing migration: one line, the transaction is rolled back
        print(f"voicenote-api-migrate: {arguments.action} failed: {error!r}", file=sys.stderr)
        sys.exit(1)
