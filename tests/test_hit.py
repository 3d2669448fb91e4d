from qa.hit import Hit


def hit(**fields) -> Hit:
    base = dict(text="t", source="guide.md", title="Guide", paragraph=3, line=12, start=0, end=1, score=1.0)
    return Hit(**{**base, **fields})


def test_citation_names_file_section_paragraph_and_line():
    assert hit(section=("Install", "Linux")).citation() == "Guide — guide.md › Install › Linux ¶3, line 12"


def test_top_heading_that_is_the_title_is_not_repeated():
    assert hit(section=("Guide", "Lamps")).citation() == "Guide — guide.md › Lamps ¶3, line 12"
    assert hit(section=("Guide",)).citation() == "Guide — guide.md ¶3, line 12"
    assert hit(section=("Lamps", "Guide")).citation() == "Guide — guide.md › Lamps › Guide ¶3, line 12"


def test_page_and_copies():
    cited = hit(source="r.pdf", title="Report", line=None, page=2, paragraph=1, copies=("b.pdf",)).citation()
    assert cited == "Report — r.pdf, page 2 ¶1 (also b.pdf)"
