from __future__ import annotations

import numpy as np

from qa.indexing.bm25 import BM25
from qa.text import tokenize


def test_tokenize_stems_and_drops_stopwords():
    assert tokenize(["The runners were running to the houses"]) == [["runner", "were", "run", "hous"]]
    assert tokenize(["the of and", ""]) == [[], []]


def test_scores_rank_matching_passages_and_handle_empty_queries():
    bm25 = BM25.build(["cats chase mice", "dogs chase cats and cats", "bread and butter"])
    scores = bm25.scores("Which cats?")
    assert scores.shape == (3,) and scores[1] > scores[0] > 0 and scores[2] == 0
    assert not bm25.scores("the and of").any()  # nothing searchable: all zeros, no error
    assert not bm25.scores("unicorns").any()
    weighted = bm25.weighted_scores({"cat": 1.0, "bread": 0.5})
    assert np.allclose(weighted, bm25.scores("cats") + 0.5 * bm25.scores("bread"))


def test_save_and_load_without_pickle(tmp_path):
    bm25 = BM25.build(["alpha beta", "beta gamma", "gamma delta"])
    bm25.save(tmp_path / "bm25")
    files = sorted(p.name for p in (tmp_path / "bm25").iterdir())
    assert all(name.endswith((".json", ".npy")) for name in files)
    loaded = BM25.load(tmp_path / "bm25", 3)
    assert np.allclose(loaded.scores("beta gamma"), bm25.scores("beta gamma")) and len(loaded) == 3


def test_tokenizers_split_exactly_as_bm25s(corpus_dir):
    """qa tokenizes a text at a time (cached) with bm25s's rules; the words must be bm25s's own."""
    import bm25s
    from bm25s.stopwords import STOPWORDS_EN_PLUS

    from qa.text import _stemmer, content_words, tokenize

    texts = [line for f in sorted(corpus_dir.iterdir()) for line in f.read_text().splitlines()]
    texts += ["", "a b c 42 x1 don't WON'T", "Ünïcode ÉCOLE naïve café's", "snake_case and_underscores 3rd", "日本語 テキスト"]
    for stopwords, ours in (("en", tokenize), (STOPWORDS_EN_PLUS, content_words)):
        theirs = bm25s.tokenize(texts, stopwords=stopwords, stemmer=_stemmer.stemWords, return_ids=False, show_progress=False)
        assert ours(texts) == theirs
        assert ours(texts) == theirs  # and again, from the cache


def test_passage_words_give_the_bm25_of_each_title_weight_and_are_reused():
    """A build tokenizes each text and title once (PassageWords) for every BM25 it makes; each must be the
    BM25 of the passages' keyword_text at that title weight: the same scores and rarity for every word."""
    from qa.indexing.bm25 import PassageWords
    from qa.passage import Passage

    def passage(text, title, section=()):
        return Passage(text, f"{title}.md", title, 1, 1, 0, len(text), section)

    passages = [
        passage("The harbour opens at dawn; ferries leave hourly.", "Harbour guide", ("Timetables", "Ferries")),
        passage("Ferries to the islands carry bicycles.", "Harbour guide", ("Ferries",)),
        passage("Sourdough needs a starter, flour and time.", "Baking", ("Bread",)),
        passage("Baking bread at home: the oven, the starter.", "Baking"),  # the title opens the text
        passage("No title, no section, just harbour words.", ""),
    ]
    words = PassageWords(passages)
    queries = ["harbour ferries", "baking bread starter", "timetables", "islands bicycles flour"]
    for weight in range(4):
        made, built = words.bm25(weight), BM25.build([p.keyword_text(weight) for p in passages])
        for q in queries:
            assert np.array_equal(made.scores(q), built.scores(q)), (weight, q)
        assert made.idf(tokenize([" ".join(queries)])[0]) == built.idf(tokenize([" ".join(queries)])[0])
    # a copy with one text changed reuses the words of the rest (tokenizing only what is new)
    changed = [*passages[:2], passage("Sourdough needs a starter.", "Baking", ("Bread",)), *passages[3:]]
    again = PassageWords(changed, words)
    assert again._words["Ferries to the islands carry bicycles."] is words._words["Ferries to the islands carry bicycles."]
    assert np.array_equal(again.bm25(2).scores("starter"), BM25.build([p.keyword_text(2) for p in changed]).scores("starter"))


def test_statistics_among_some_passages_are_those_of_a_bm25_of_them_alone():
    """A reader's search scores as if only what they may read were indexed: whether a word is in a
    passage they may not read changes nothing they see."""
    import numpy as np

    # three words each: the mean passage length, which stays shared, is the same either way
    docs = ["cat sat mat", "bluefin merger secret", "bluefin tuna swims", "dogs bark loudly", "cats dogs play",
            "bluefin bluefin everywhere"]  # fmt: skip
    rows = np.array([2, 3, 4])
    among, alone = BM25.build(docs).among(rows), BM25.build([docs[i] for i in rows])
    for query in ("bluefin dogs", "merger", "cat"):
        assert np.allclose(among.scores(query)[rows], alone.scores(query), rtol=1e-5), query
    assert among.idf(["bluefin", "merger"]) == alone.idf(["bluefin", "merger"])
