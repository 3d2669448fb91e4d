"""The input contract (:mod:`qa.retrieval.request`) as pydantic types, built once for the HTTP API's
request model and MCP's tool arguments: the same limits, the same checks, the same descriptions, and one
line for input that does not fit (never the value sent)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from ..retrieval.request import (
    FIELDS, MAX_HISTORY, MAX_K, MAX_QUESTION, MAX_SOURCE, MAX_SOURCES, VISIBLE, check_k, check_sources, check_turns,
    check_text,
)  # fmt: skip

__all__ = ["History", "K", "Question", "RetrieveRequest", "Sources", "validation_message"]

QUERY_FIELDS = frozenset({"source", "page", "start", "end"})  # GET /api/page's parameters

# The checks are qa's own (qa.retrieval.request), so the API and MCP say what the CLI and qa.ask say about
# the same input; pydantic checks the types, and the schema states the limits.
# (before pydantic's own type check, so a number where text belongs is refused in qa.ask's words too)
Text = Annotated[str, BeforeValidator(check_text), Field(json_schema_extra={"maxLength": MAX_QUESTION})]
Turn = Annotated[str, BeforeValidator(lambda t: check_text(t, "each turn of history")), Field(json_schema_extra={"maxLength": MAX_QUESTION})]


# Whether a question shows anything is checked with the request (400, as from qa.ask); the pattern says it.
Question = Annotated[Text, Field(description=FIELDS["question"], json_schema_extra={"pattern": VISIBLE.pattern})]
# check_k before pydantic's own check of the type: 5.0 is the integer 5 in JSON (and in JSON Schema), and
# 5.5, "5" and true are refused in qa.ask's words
K = Annotated[
    int, Field(strict=True, description=FIELDS["k"], json_schema_extra={"minimum": 1, "maximum": MAX_K}),
    BeforeValidator(check_k),
]  # fmt: skip
History = Annotated[
    list[Turn] | None, Field(description=FIELDS["history"], json_schema_extra={"maxItems": MAX_HISTORY}),
    BeforeValidator(lambda turns: turns if turns is None else check_turns(turns)),  # then each Turn, once
]  # fmt: skip
Sources = Annotated[
    list[Annotated[str, Field(json_schema_extra={"maxLength": MAX_SOURCE})]] | None,
    Field(description=FIELDS["sources"], json_schema_extra={"maxItems": MAX_SOURCES}),
    # (an object is a collection to qa.ask, not a list to JSON: left to pydantic to refuse)
    BeforeValidator(lambda sources: list(check_sources(sources)) if isinstance(sources, list | str) else sources),
]  # fmt: skip


class RetrieveRequest(BaseModel):
    # strict: "5" and true are not a k, 5 is.
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _known_fields_only(cls, data: object) -> object:
        # One error for any number of unknown fields: pydantic would build one per field, on the event
        # loop (a 4 MB body of 359,000 keys held every request up for seconds).
        if isinstance(data, dict):
            unknown = len(data.keys() - cls.model_fields.keys())
            if unknown:
                raise ValueError(f"{unknown} unknown field{'s' * (unknown > 1)}; the fields are {', '.join(cls.model_fields)}")
        return data

    question: Question
    k: K = 5
    history: History = None
    sources: Sources = None


def validation_message(errors) -> str:
    """One line for a request that does not fit its model: where and what, never the value sent
    (FastAPI's default echoes every bad input back, however large). Only the request's own field names
    are named (MCP's tools take the same ones), and the page view's query parameters; any other is the
    sender's and is not repeated."""
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":  # loc is ("body", character)
        return f"body: not valid JSON (at character {first.get('loc', (0, 0))[-1]})"
    known = RetrieveRequest.model_fields.keys() | QUERY_FIELDS
    parts = [p if isinstance(p, int) or p in known else "(unknown field)" for p in first.get("loc", ()) if p not in ("body", "query")]
    where = ".".join(map(str, parts)) or "body"
    what = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more problem{'s' * (len(errors) > 2)})" if len(errors) > 1 else ""
    return f"{where}: {what}{more}"
