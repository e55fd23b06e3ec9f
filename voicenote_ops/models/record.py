"""The run's record as one typed model, built from its declaration in playbooks/vars/record.yml:
what a run that changes an environment gave back with set_stats, each field typed and defaulted
(a run that ended before its report play gives only its failure). A value the playbooks give in
another shape is an unreadable record, said as such, never a crash or a guess."""

import functools
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

RECORD_FILE = Path(__file__).resolve().parent.parent.parent / "playbooks" / "vars" / "record.yml"

# The declaration's types, with the value a field takes when the run did not give it.
TYPES: dict[str, tuple[Any, Any]] = {
    "str": (str, ""),
    "bool": (bool, False),
    "list": (list[str], []),
    "dict": (dict[str, Any], {}),
}


class UnreadableRecord(ValueError):
    """The run gave its record in a shape the declaration does not allow."""


@functools.cache
def declaration() -> dict[str, dict[str, str]]:
    """{"record": {key: type}, "failure": {field: type}} as playbooks/vars/record.yml has them."""
    declared = yaml.safe_load(RECORD_FILE.read_text())
    return {
        "record": declared["voicenote_record"],
        "failure": declared["voicenote_failure_fields"],
    }


def _fields(declared: dict[str, str], nested: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, kind in declared.items():
        model = nested.get(kind)
        fields[name] = (model | None, None) if model else TYPES[kind]
    return fields


@functools.cache
def models() -> tuple[type[BaseModel], type[BaseModel]]:
    """The failure's model and the record's, keys the declaration does not name ignored."""
    config = ConfigDict(extra="ignore", frozen=True)
    failure = create_model("Failure", __config__=config, **_fields(declaration()["failure"], {}))
    record = create_model(
        "RunRecord", __config__=config, **_fields(declaration()["record"], {"failure": failure})
    )
    return failure, record


def read(reported: dict[str, Any]) -> Any:
    """The record of a run's set_stats; a failure given as {} (none) is None."""
    _, record = models()
    given = dict(reported)
    if not given.get("voicenote_failure"):
        given.pop("voicenote_failure", None)
    try:
        return record.model_validate(given)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}" for problem in error.errors()
        )
        raise UnreadableRecord(problems) from None
