"""The notes-created counter in Redis: a statistic, so losing Redis never loses a note."""

import logging

import redis

NOTES_CREATED_KEY = "voicenote:notes_created"
SOCKET_TIMEOUT_SECONDS = 1

log = logging.getLogger(__name__)


def create_redis_client(redis_url: str) -> redis.Redis:
    # Short timeouts so that /ready answers quickly when Redis is gone, instead of hanging.
    return redis.Redis.from_url(
        redis_url,
        socket_connect_timeout=SOCKET_TIMEOUT_SECONDS,
        socket_timeout=SOCKET_TIMEOUT_SECONDS,
    )


def count_note_created(client: redis.Redis) -> None:
    try:
        client.incr(NOTES_CREATED_KEY)
    except redis.RedisError as error:
        log.warning("notes-created counter not updated: %s", type(error).__name__)


def notes_created(client: redis.Redis) -> int | None:
    """The counter's value, or None while Redis does not answer."""
    try:
        value = client.get(NOTES_CREATED_KEY)
    except redis.RedisError as error:
        log.warning("notes-created counter not read: %s", type(error).__name__)
        return None
    return int(value or 0)
