"""/notes: create, list, read, delete and (simulated) transcribe voice notes."""

import logging
import time
from datetime import datetime

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from voicenote_api.counters import count_note_created, notes_created
from voicenote_api.models import Note

MAX_TRANSCRIBE_SECONDS = 30

log = logging.getLogger(__name__)

router = APIRouter(prefix="/notes")


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200)
    duration_seconds: float = Field(ge=0, le=3600)


class NoteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    duration_seconds: float
    transcript: str | None
    created_at: datetime


class NoteList(BaseModel):
    notes: list[NoteOut]
    notes_created: int | None = Field(description="Redis counter; null while Redis is down.")


def _session(request: Request) -> Session:
    return request.app.state.sessions()


def _existing_note(session: Session, note_id: int) -> Note:
    note = session.get(Note, note_id)
    if note is None:
        raise HTTPException(status_code=404, detail=f"Note {note_id} does not exist.")
    return note


@router.post("", status_code=201)
def create_note(body: NoteIn, request: Request) -> NoteOut:
    with _session(request) as session, session.begin():
        note = Note(**body.model_dump())
        session.add(note)
    count_note_created(request.app.state.redis)
    return NoteOut.model_validate(note)


@router.get("")
def list_notes(request: Request) -> NoteList:
    with _session(request) as session:
        notes = session.scalars(select(Note).order_by(Note.id)).all()
    return NoteList(
        notes=[NoteOut.model_validate(note) for note in notes],
        notes_created=notes_created(request.app.state.redis),
    )


@router.get("/{note_id}")
def get_note(note_id: int, request: Request) -> NoteOut:
    with _session(request) as session:
        return NoteOut.model_validate(_existing_note(session, note_id))


@router.delete("/{note_id}", status_code=204)
def delete_note(note_id: int, request: Request) -> Response:
    with _session(request) as session, session.begin():
        session.delete(_existing_note(session, note_id))
    return Response(status_code=204)


@router.post("/{note_id}/transcribe")
def transcribe_note(
    note_id: int,
    request: Request,
    seconds: float = Query(1.0, ge=0, le=MAX_TRANSCRIBE_SECONDS),
) -> NoteOut:
    with _session(request) as session:
        _existing_note(session, note_id)
    log.info("transcribing note %d for %gs", note_id, seconds)
    # Stands in for a slow speech-to-text call, so that draining a busy instance can be tested.
    time.sleep(seconds)
    with _session(request) as session, session.begin():
        note = _existing_note(session, note_id)
        note.transcript = f"Transcript of {note.title!r} ({seconds:g}s of work)."
    return NoteOut.model_validate(note)
