from __future__ import annotations

import re

import pytest

from qa.passage import Highlight, Hit, Passage
from qa.retrieval.answer import Answer
from qa.serve.chat import _user_turns, context_markdown, escape, format_reply


def _hit(text: str, highlight: tuple[int, int] | None = None, **kw) -> Hit:
    fields = dict(source="a.txt", title="T", paragraph=2, line=3, start=100, end=100 + len(text))
    fields.update(kw)
    mark = None
    if highlight:
        mark = Highlight(text[highlight[0] : highlight[1]], fields["start"] + highlight[0], fields["start"] + highlight[1])
    return Hit(Passage(text=text, **fields), 0.5, mark)


@pytest.mark.parametrize(
    "raw",
    ["<script>alert(1)</script>", "![x](http://e/x.png)", "[a](javascript:alert(1))", "**b** _i_ `c`", "# h", "1. item"],
)
def test_escape_leaves_no_markup(raw):
    escaped = escape(raw)
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"(?<!\\)[\[\]()*_`#!]", escaped)  # every markup character is backslash-escaped
    assert re.sub(r"\\(.)", r"\1", escaped).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == raw


def test_answered_reply_leads_with_the_highlight_and_cites_it():
    first = _hit("Intro sentence here. The answer is 42.\nMore text.", highlight=(21, 38))
    second = _hit("Other.", source="dir/b_c.md", paragraph=7, line=12)
    reply = format_reply(Answer("q?", "topic: q?", True, [first, second], 0.2))
    assert reply.startswith("**Answer:** The answer is 42\\.\n\n— [1] T — a\\.txt ¶2, line 3")
    assert "searched for: topic\\: q?" in reply
    assert "> Intro sentence here\\. <strong>The answer is 42\\.</strong>\n> More text\\." in reply
    assert "**[2] T — dir\\/b\\_c\\.md ¶7, line 12**" in reply
    assert "weak match" not in reply


def test_unanswered_reply_says_so_and_marks_passages_weak():
    reply = format_reply(Answer("Who won?", "Who won?", False, [_hit("Nothing relevant.")], -0.1))
    assert reply.startswith("**The documents do not contain the answer to this question.**")
    assert "· weak match" in reply and "Answer:" not in reply


def test_related_reply_says_the_subject_is_there_but_not_what_was_asked():
    reply = format_reply(Answer("How old is she?", "How old is she?", False, [_hit("She moved in 1988.")], 0.1, "related"))
    assert reply.startswith("**The documents mention this, but do not state what you asked.**")
    assert "· related" in reply and "Answer:" not in reply and "weak match" not in reply


def test_user_turns_come_from_the_message_history():
    history = [
        {"role": "user", "content": "Who is Ardavan Hatami?"},
        {"role": "assistant", "content": "**Answer:** ..."},
        {"role": "user", "content": "  "},
        {"role": "user", "content": [{"type": "text", "text": "Where is he based?"}]},  # gradio 6's form
        {"role": "user", "content": [{"type": "file", "file": {"path": "x.png"}}]},
    ]
    assert _user_turns(history) == ["Who is Ardavan Hatami?", "Where is he based?"]


@pytest.mark.slow
def test_chat_answers_through_gradio_client(serving, corpus_index):
    from gradio_client import Client

    with serving(corpus_index, "--no-uploads") as url:
        client = Client(url, verbose=False)
        messages = client.predict("How many followers does the Persian Instagram account have?", 5, [], api_name="/chat")
        reply = messages[0]["content"]
        assert reply.startswith("**Answer:** Its Persian Instagram account has half a million followers\\.")
        assert "000\\_ec1e6d9161bd9899\\.txt ¶15, line 30" in reply.split("\n")[2]
        assert reply.count("**[") == 5 and "<strong>" in reply
        contexts = messages[1:]  # one collapsed "in context" message per cited passage
        assert len(contexts) == 5 and all(m["metadata"]["title"].endswith("— in context") for m in contexts)
        assert "<strong>" in contexts[0]["content"] and contexts[0]["content"].count("> ") >= 2
        unanswerable = client.predict("Who won the 2018 FIFA World Cup?", 5, [], api_name="/chat")
        assert unanswerable[0]["content"].startswith("**The documents do not contain the answer to this question.**")
        assert client.predict("   ", 5, [], api_name="/chat") == "Please type a question."
        three = client.predict("Who is Ardavan Hatami?", 3, ["001_a1be916fc4c24177.txt"], api_name="/chat")
        assert three[0]["content"].count("**[") == 3 and "002\\_" not in three[0]["content"]
        assert "searched only: 001\\_a1be916fc4c24177\\.txt" in three[0]["content"]


class _Neighbours:  # the one view context_markdown asks of an index
    def __init__(self, before: Passage | None, after: Passage | None) -> None:
        self.around = (before, after)

    def neighbours(self, source: str, start: int):
        return self.around


def test_in_context_marks_the_cited_passage_even_when_all_of_it_answers():
    whole = _hit("The answer is the whole passage.", highlight=(0, 32))
    around = _Neighbours(Passage("Before it.", "a.txt", "T", 1, 1, 0, 10), Passage("After it.", "a.txt", "T", 3, 5, 140, 149))
    shown = context_markdown(around, whole)
    assert shown == "> Before it\\.\n\n> <strong>The answer is the whole passage\\.</strong>\n\n> After it\\."
    assert "<strong>" not in format_reply(Answer("q?", "q?", True, [whole], 0.2)).split("Supporting passages")[1]


def test_in_context_of_a_pdf_shows_its_page_with_qas_own_address_only():
    boxes = ((2, 0.1, 0.2, 0.9, 0.22, 100, 130), (2, 0.1, 0.23, 0.5, 0.25, 131, 140))
    hit = _hit("A line ](javascript:x) of text and more.", highlight=(0, 39), source="dir/a b)(.pdf", line=None, page=2, boxes=boxes)
    hit = Hit(hit.passage, 0.5, Highlight(hit.highlight.text, hit.highlight.start, hit.highlight.end, tuple(b[:5] for b in boxes)))
    shown = context_markdown(_Neighbours(None, None), hit)
    first, rest = shown.split("\n\n", 1)
    assert first == "![Page 2, the answer boxed](/api/page?source=dir%2Fa%20b%29%28.pdf&page=2&start=100&end=139)"
    assert "](javascript" not in rest and "\\]\\(javascript\\:x\\)" in rest
    assert not context_markdown(_Neighbours(None, None), _hit("Plain text.", highlight=(0, 11))).startswith("![")
