"""What a question gets: the passages found, whether they answer it, and how sure that is."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..passage import Hit

__all__ = ["Answer"]


@dataclass(frozen=True)
class Answer:
    question: str
    query: str  # what was searched: the question, or with the conversation's topic for a follow-up
    answered: bool  # False: the documents do not state the answer; ``hits`` are the closest passages
    hits: list[Hit] = field(default_factory=list)
    confidence: float = 0.0  # best similarity minus the index's threshold (negative: not found)
    # "answered"; "related": passages about the subject, none stating what is asked; "not_found": the
    # documents do not contain it
    outcome: str = ""
    reranked: bool = False  # whether a re-ranker (the cross-encoder by default) ordered the hits

    def __post_init__(self):
        if not self.outcome:  # built without one: what ``answered`` says
            object.__setattr__(self, "outcome", "answered" if self.answered else "not_found")

    def retrieved(self) -> dict:
        """What was searched and the hits (the API's ``/api/retrieve``, MCP's ``search_documents``)."""
        return {"query": self.query, "reranked": self.reranked, "hits": [h.to_dict() for h in self.hits]}

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "query": self.query,
            "answered": self.answered,
            "outcome": self.outcome,
            "confidence": self.confidence,
            "reranked": self.reranked,
            "hits": [h.to_dict() for h in self.hits],
        }
