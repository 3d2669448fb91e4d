import dataclasses

import pytest

from qa.passage import Highlight, Hit, Passage


def hit(**fields) -> Hit:
    base = dict(text="t", source="guide.md", title="Guide", paragraph=3, line=12, start=0, end=1)
    return Hit(Passage(**{**base, **fields}), score=1.0)


def test_citation_names_file_section_paragraph_and_line():
    assert hit(section=("Install", "Linux")).citation() == "Guide — guide.md › Install › Linux ¶3, line 12"


def test_top_heading_that_is_the_title_is_not_repeated():
    assert hit(section=("Guide", "Lamps")).citation() == "Guide — guide.md › Lamps ¶3, line 12"
    assert hit(section=("Guide",)).citation() == "Guide — guide.md ¶3, line 12"
    assert hit(section=("Lamps", "Guide")).citation() == "Guide — guide.md › Lamps › Guide ¶3, line 12"


def test_page_and_copies():
    cited = hit(source="r.pdf", title="Report", line=None, page=2, paragraph=1, copies=("b.pdf",)).citation()
    assert cited == "Report — r.pdf, page 2 ¶1 (also b.pdf)"


def test_a_hit_reads_through_to_its_passage_and_flattens_to_one_record():
    found = Hit(Passage("Tea.", "a.txt", "A", 2, 3, 10, 14), 0.5, Highlight("Tea.", 10, 14))
    assert (found.text, found.source, found.line, found.section) == ("Tea.", "a.txt", 3, ())
    assert found.citation() == found.passage.citation() == "A — a.txt ¶2, line 3"
    assert found.to_dict() == {
        **dataclasses.asdict(found.passage), "score": 0.5, "highlight": {"text": "Tea.", "start": 10, "end": 14, "boxes": ()},
        "citation": "A — a.txt ¶2, line 3",
    }  # fmt: skip
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        found.nonsense
