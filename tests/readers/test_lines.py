"""Paragraphs from positioned lines (the text layer of a PDF, or OCR), with where each line lies."""

from __future__ import annotations

from qa.readers.lines import Line, PageLines, assemble

H = 0.012  # a line's height, in page fractions


def _lines(*rows: tuple[str, float], width: float = 0.8, group=None) -> tuple[Line, ...]:
    return tuple(Line(text, (0.1, top, 0.1 + (width if w is None else w), top + H), group) for text, top, w in rows)


def test_a_gap_wider_than_the_line_pitch_starts_a_paragraph_and_each_line_keeps_its_box():
    page = PageLines(1, _lines(("Annual report", 0.05, 0.3), ("The society met four times this", 0.09, None),
                               ("year, mostly near the station.", 0.11, 0.5), ("Fees stay the same.", 0.15, 0.3)))  # fmt: skip
    got = assemble([page])
    assert got.text == "Annual report\n\nThe society met four times this year, mostly near the station.\n\nFees stay the same."
    # the title line heads the document: kept in its text (and boxed), not a passage glued to the next
    assert [got.text[b.start : b.end] for b in got.blocks] == [
        "The society met four times this year, mostly near the station.", "Fees stay the same."
    ] and got.title == "Annual report"  # fmt: skip
    for page_no, x0, y0, x1, y1, start, end in got.boxes:  # each line's text is where its box says
        assert page_no == 1 and 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert [got.text[b[5] : b[6]] for b in got.boxes] == [
        "Annual report", "The society met four times this", "year, mostly near the station.", "Fees stay the same."
    ]  # fmt: skip


def test_a_hyphenated_word_is_made_whole_and_its_lines_still_cover_it():
    got = assemble([PageLines(2, _lines(("Tea is an infu-", 0.1, None), ("sion of leaves.", 0.12, None)))])
    assert got.text == "Tea is an infusion of leaves."
    assert [got.text[b[5] : b[6]] for b in got.boxes] == ["Tea is an infu", "sion of leaves."]
    assert got.blocks[0].page == 2


def test_a_short_line_ending_a_sentence_ends_its_paragraph_and_ocr_groups_split_too():
    got = assemble([PageLines(1, _lines(("A long line of prose that fills the width", 0.1, None), ("and stops.", 0.12, 0.2),
                                        ("Next one starts here.", 0.14, None)))])  # fmt: skip
    assert got.text.split("\n\n") == ["A long line of prose that fills the width and stops.", "Next one starts here."]
    lines = (Line("One block", (0.1, 0.1, 0.9, 0.1 + H), 1001), Line("another block", (0.1, 0.12, 0.9, 0.12 + H), 2001))
    assert assemble([PageLines(1, lines, ocr=True)]).text == "One block\n\nanother block"


def test_a_paragraph_over_a_page_break_is_one_block_cited_where_it_starts():
    got = assemble([PageLines(1, _lines(("The keeper wrote that the lamp", 0.9, None))),
                    PageLines(2, _lines(("was lit at dusk.", 0.05, None)), ocr=True)])  # fmt: skip
    assert got.text == "The keeper wrote that the lamp was lit at dusk." and got.blocks[0].page == 1
    assert [b[0] for b in got.boxes] == [1, 2] and got.ocr_pages == (2,)


def test_double_spaced_lines_stay_one_paragraph():
    rows = [(f"line {n} of a double spaced page", 0.1 + n * 0.03, None) for n in range(5)]  # 2.5 line heights apart
    assert len(assemble([PageLines(1, _lines(*rows))]).blocks) == 1


def test_lines_going_up_the_page_start_a_paragraph():  # a second column
    got = assemble([PageLines(1, _lines(("The left column ends here.", 0.8, None), ("the right column starts", 0.1, None)))])
    assert len(got.blocks) == 2


def test_a_first_paragraph_that_is_a_sentence_or_not_the_title_stays_a_passage():
    lines = _lines(("The keeper logged a storm.", 0.05, 0.3), ("Waves came over the gallery.", 0.09, 0.3))
    assert len(assemble([PageLines(1, lines)]).blocks) == 2  # a sentence, not a title line
    lines = _lines(("Log of the keeper", 0.05, 0.3), ("Waves came over the gallery.", 0.09, 0.3))
    assert len(assemble([PageLines(1, lines)], title="Skerry Point Annual").blocks) == 2  # the title is another
    assert len(assemble([PageLines(1, lines[:1])]).blocks) == 1  # the only paragraph is the document
