"""Each format gives real paragraphs with section path or page, and offsets into the kept text."""

from __future__ import annotations

from support.documents import GUIDE_MD, KETTLE_HTML, docx_bytes, pdf_bytes

from qa.indexing.split import split_document
from qa.readers import parse
from qa.readers.docx import extract as extract_docx
from qa.readers.html import extract as extract_html
from qa.readers.markdown import extract as extract_md


def _passages(source: str, data: bytes):
    doc = parse(source, data, "0" * 64)
    assert not hasattr(doc, "reason"), doc
    passages = split_document(doc)
    for p in passages:
        assert doc.text[p.start : p.end] == p.text
    return doc, passages


def test_markdown_sections_blocks_and_front_matter_title():
    got = extract_md(GUIDE_MD)
    assert got.title == "Lighthouse Keeper's Guide"
    doc, passages = _passages("guide.md", GUIDE_MD.encode())
    assert doc.text == GUIDE_MD  # offsets and lines are the file's own
    steps = next(p for p in passages if "Switch the lamp off" in p.text)
    assert steps.section == ("Guide", "Lamps", "Replacing a bulb")
    # the short lead-in joins the list, and the whole list stays together
    assert steps.text.startswith("Run these steps in order:") and "3. Fit the spare bulb" in steps.text
    assert steps.line == GUIDE_MD[: steps.start].count("\n") + 1
    code = next(p for p in passages if "lamp-test" in p.text)
    assert code.text.startswith("```sh") and code.text.endswith("```")  # a code block is never cut
    assert not any(p.text.startswith("#") for p in passages)  # headings are the section path, not passages
    assert "Replacing a bulb" in steps.search_text


def test_markdown_long_list_is_cut_between_items_only():
    items = "\n".join(f"- item {n} " + "word " * 30 for n in range(40))
    doc, passages = _passages("long.md", f"# Long\n\n{items}\n".encode())
    assert len(passages) > 1
    for p in passages:
        assert p.text.startswith("- item ") and p.text.endswith("word")


def test_html_main_content_only_with_title_and_sections():
    got = extract_html(KETTLE_HTML.encode())
    assert got.title == "Descaling a kettle"
    for junk in ("Shop our", "newsletter", "Copyright", "document.title", "color: red"):
        assert junk not in got.text
    doc, passages = _passages("kettle.html", KETTLE_HTML.encode())
    citric = next(p for p in passages if "two tablespoons" in p.text)
    assert citric.section == ("Descaling a kettle", "With citric acid") and citric.line is None
    assert any("- Never descale a hot kettle." in p.text for p in passages)


def test_html_without_main_uses_body_and_title_tag():
    html = b"<html><head><title>Plain page</title></head><body><div>Loose text in a div that is long enough.</div></body></html>"
    got = extract_html(html)
    assert got.title == "Plain page" and "Loose text in a div" in got.text


def test_pdf_pages_paragraphs_and_hyphenation():
    data = pdf_bytes(
        [
            ["Annual Report of the Kettle Society",
             "The society met four times this year. Attendance rose by a third, mostly thanks to the new venue near "
             "the station, which is easier to reach by bus and by train than the old hall ever was.",
             "This line ends with a hyphen-\nated word and goes on to the next line of the same paragraph."],
            ["Membership fees stay at twelve pounds; the treasurer reported a surplus of 412 pounds."],
        ]
    )  # fmt: skip
    got = _pdf(data)
    assert got.title == "Annual Report of the Kettle Society"
    doc, passages = _passages("report.pdf", data)
    venue = next(p for p in passages if "new venue" in p.text)
    assert venue.page == 1 and "near the station" in venue.text  # lines of a paragraph joined
    assert any("hyphenated word" in p.text for p in passages)
    fees = next(p for p in passages if "twelve pounds" in p.text)
    assert fees.page == 2 and fees.paragraph == 1 and fees.line is None


def test_pdf_metadata_title_wins_unless_it_is_a_file_name():
    assert _pdf(pdf_bytes([["Body text of the report."]], title="Kettle Report 2026")).title == "Kettle Report 2026"
    assert _pdf(pdf_bytes([["Body text of the report."]], title="report.docx")).title == "Body text of the report."


def test_docx_headings_lists_and_title():
    data = docx_bytes(
        [("h0", "Kettle Handbook"), ("h1", "Cleaning"),
         ("p", "Descale the kettle monthly with citric acid; vinegar works too but leaves a smell."),
         ("list", "Rinse twice"), ("list", "Boil once and pour away"),
         ("h2", "Safety"), ("p", "Never immerse the base of the kettle in water, not even briefly.")]
    )  # fmt: skip
    got = extract_docx(data)
    assert got.title == "Kettle Handbook"
    doc, passages = _passages("handbook.docx", data)
    safety = next(p for p in passages if "immerse" in p.text)
    assert safety.section == ("Cleaning", "Safety")
    assert any(p.text == "- Rinse twice\n- Boil once and pour away" for p in passages)


def test_markdown_long_code_block_is_cut_between_lines_within_the_character_cap():
    from qa.indexing.split import MAX_CHARS

    code = "\n".join(f"x{n} = compute({n})" for n in range(3000))
    source = f"# Code\n\n```python\n{code}\n```\n"
    doc, passages = _passages("code.md", source.encode())
    assert len(passages) > 1 and all(len(p.text) <= MAX_CHARS for p in passages)
    for p in passages:
        assert source[p.start - 1] == "\n" and source[p.end] == "\n"  # whole lines only


def _pdf(data: bytes):
    from qa.readers import parse

    return parse("report.pdf", data, "0" * 64)

