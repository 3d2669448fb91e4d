"""The hybrid's weight measured on the corpus: a corpus where only exact words tell passages apart makes
qa lean on BM25, one where only meaning does makes it lean on the model -- with the real model and BM25."""

from __future__ import annotations

import random

import pytest
from support.fakes import FakeEmbedder

from qa.indexing.assemble import assemble_index
from qa.passage import Passage
from qa.indexing.manifest import Tuning
from qa.retrieval.fuse import DENSE_WEIGHT, fuse
from qa.retrieval.pipeline import Retriever, Stages
from qa.retrieval.tune import MIN_QUERIES, WEIGHTS, pseudo_queries, tune

# Each concept under three names that share no word: the sentence taken out names it one way, the rest
# of its passage the other two, and every passage has the same words around them.
CONCEPTS = [
    ("car", "automobile", "sedan"), ("dog", "puppy", "canine"), ("cat", "kitten", "feline"),
    ("house", "home", "residence"), ("doctor", "physician", "medic"), ("money", "cash", "currency"),
    ("ship", "vessel", "boat"), ("child", "kid", "toddler"), ("lawyer", "attorney", "barrister"),
    ("movie", "film", "cinema"), ("bicycle", "bike", "cycling"), ("telephone", "phone", "smartphone"),
    ("sofa", "couch", "settee"), ("rain", "downpour", "drizzle"), ("ocean", "sea", "marine"),
    ("forest", "woods", "woodland"), ("shop", "store", "boutique"), ("teacher", "instructor", "tutor"),
    ("illness", "disease", "sickness"), ("road", "street", "highway"), ("river", "stream", "creek"),
    ("rock", "stone", "boulder"), ("airplane", "aircraft", "jet"), ("wedding", "marriage", "bride"),
    ("king", "monarch", "royalty"), ("baby", "infant", "newborn"), ("horse", "pony", "stallion"),
    ("music", "song", "melody"), ("bread", "loaf", "baguette"), ("coffee", "espresso", "latte"),
    ("fire", "flame", "blaze"), ("snow", "blizzard", "frost"), ("computer", "laptop", "PC"),
    ("book", "novel", "paperback"), ("soldier", "army", "troops"), ("police", "cop", "officer"),
    ("train", "railway", "locomotive"), ("garden", "yard", "lawn"), ("church", "chapel", "cathedral"),
    ("hospital", "clinic", "ward"), ("fish", "salmon", "trout"), ("bird", "sparrow", "robin"),
    ("sun", "sunshine", "sunlight"), ("job", "employment", "occupation"), ("kitchen", "cooking", "chef"),
    ("thief", "burglar", "robber"), ("shoe", "sneaker", "boot"), ("island", "isle", "atoll"),
]  # fmt: skip
FRAMES = ("We all saw the {} there.", "It was such a {} indeed.", "Everyone talked of the {} later.")


def _passages(texts: list[str]) -> list[Passage]:
    return [Passage(t, f"{n:03}.txt", "", 1, 1, 0, len(t)) for n, t in enumerate(texts)]


def _meaning_only() -> list[Passage]:
    return _passages([" ".join(f.format(w) for f, w in zip(FRAMES, names)) for names in CONCEPTS])


def _words_only() -> list[Passage]:
    """Each passage is one made-up part code's record, its sentences the code and words drawn at random:
    only the code, in every sentence, tells a part's record from another's."""
    rng = random.Random(7)
    words = [w for names in CONCEPTS for w in names]
    texts = []
    for n in range(50):
        code = f"{rng.choice('BCDFGHJKLMNPQRSTVWXZ')}{rng.choice('BCDFGHJKLMNPQRSTVWXZ')}{rng.randrange(1000, 9999)}"
        texts.append(" ".join(f"Part {code} {' '.join(rng.sample(words, 4))}." for _ in range(3)))
    return _passages(texts)


@pytest.mark.slow
def test_a_corpus_told_apart_by_meaning_picks_the_model(real_embedder):
    index = assemble_index(_meaning_only(), real_embedder)[0]
    tuning = tune(index)
    assert tuning.queries == len(CONCEPTS)
    assert tuning.dense_weight >= 0.8, tuning.scores
    assert tuning.scores["1"] > tuning.scores["0"] + 0.3  # the evidence says why


@pytest.mark.slow
def test_a_corpus_told_apart_by_exact_words_picks_bm25(real_embedder):
    index = assemble_index(_words_only(), real_embedder)[0]
    tuning = tune(index)
    assert tuning.dense_weight <= 0.4, tuning.scores
    assert tuning.scores["0"] > tuning.scores["1"]


# Made-up names: the model knows none of them, so only BM25 can tell which passage a name belongs to.
_SYLLABLES = "ka lo mi ru ve zo ta ni qu bex dor fen gal hup jix lam mor pav sul tov".split()
_THINGS = (
    "harbour meadow lantern copper violin orchard candle river market winter garden basket ladder mirror pillow "
    "saddle thunder velvet wagon anchor barrel cellar chimney feather quarry tunnel"
).split()


def _entities(titles_name: str) -> list[Passage]:
    """Sixty people's records, each sentence naming its person once and two others twice: their names are
    what tells them apart. ``titles_name``: "own" (each title is its person's name) or "other" (each title
    is someone else's, a corpus whose titles mislead)."""
    rng = random.Random(3)
    names = sorted({rng.choice(_SYLLABLES).capitalize() + rng.choice(_SYLLABLES) + rng.choice(_SYLLABLES) for _ in range(200)})[:60]
    out = []
    for n, name in enumerate(names):
        others = rng.sample([x for x in names if x != name], 2)
        text = " ".join(f"Once {name} kept a {' and a '.join(rng.sample(_THINGS, 3))} near {o} and {o}." for o in (*others, others[0]))
        title = name if titles_name == "own" else names[(n + 7) % len(names)]
        out.append(Passage(text, f"{n:03}.txt", title, 1, 1, 0, len(text)))
    return out


@pytest.mark.slow
def test_titles_that_mislead_are_left_out_of_bm25(real_embedder):
    tuning = tune(assemble_index(_entities("other"), real_embedder)[0])
    assert tuning.title_weight == 0, tuning.title_scores
    assert tuning.title_scores["0"] > tuning.title_scores["1"] > tuning.title_scores["3"]


@pytest.mark.slow
def test_titles_that_name_the_passage_are_kept(real_embedder):
    tuning = tune(assemble_index(_entities("own"), real_embedder)[0])
    assert tuning.title_weight >= 1 and set(tuning.title_scores) == {"0", "1", "2", "3"}
    assert tuning.title_scores["1"] > tuning.title_scores["0"] - 0.02  # no worse than none, within noise


def test_untitled_passages_measure_no_title_weight():
    tuning = tune(assemble_index(_meaning_only(), FakeEmbedder())[0])
    assert tuning.title_weight == 1 and tuning.title_scores == {} and "no passage has a title" in tuning.method


def test_the_title_weight_chosen_is_the_bm25_the_index_searches(tmp_path):
    index = assemble_index(_entities("other"), FakeEmbedder())[0]
    name = index.passages[0].title
    before = index.keyword(name)[0]
    untitled = index.with_tuning(Tuning(0.6, "measured", 60, 60, {}, title_weight=0))
    assert untitled.keyword(name)[0] < before and untitled.tuning.title_weight == 0
    assert index.keyword(name)[0] == before and index.tuning is None  # a new index: this one is unchanged
    assert untitled.with_tuning(Tuning(0.6, "measured", 60, 60, {}, title_weight=3), built=0).keyword(name)[0] > before


def test_retrieval_fuses_with_the_tuned_weight():
    index = assemble_index(_meaning_only(), FakeEmbedder())[0]
    used = []

    def fuse_spy(candidates, weight):
        used.append(weight)
        return fuse(candidates, weight)

    Retriever(index, stages=Stages(fuse=fuse_spy)).retrieve("Which film did the village discuss?")
    assert set(used) == {DENSE_WEIGHT}  # not tuned: the default
    index = index.with_tuning(Tuning(0.9, "measured", 48, 48, {"0.9": 0.8}))
    used.clear()
    Retriever(index, stages=Stages(fuse=fuse_spy)).retrieve("Which film did the village discuss?")
    assert set(used) == {0.9}


def test_a_small_corpus_keeps_the_defaults():
    passages = _meaning_only()[: MIN_QUERIES - 1]
    index = assemble_index(passages, FakeEmbedder())[0]
    tuning = tune(index)
    assert (tuning.dense_weight, tuning.queries, tuning.scores) == (DENSE_WEIGHT, 0, {})
    assert f"{MIN_QUERIES - 1} passages of 3+ sentences" in tuning.method


def test_pseudo_queries_take_one_sentence_out_of_its_passage():
    passages = _meaning_only()
    found = pseudo_queries(passages, 10, random.Random(0))
    assert len(found) == 10 and len({p for p, _, _ in found}) == 10
    for position, sentence, cut in found:
        original = passages[position]
        assert sentence in original.text and sentence not in cut.text
        assert cut.text.count(".") == 2 and (cut.source, cut.title) == (original.source, original.title)
    assert pseudo_queries(_passages(["One sentence only, far too short to cut."]), 10, random.Random(0)) == []


def test_weights_span_both_single_runs():
    assert WEIGHTS[0] == 0.0 and WEIGHTS[-1] == 1.0 and DENSE_WEIGHT in WEIGHTS


def test_a_build_prepares_tuning_while_it_embeds_and_measures_the_same(monkeypatch):
    """A build runs tuning's vector-free half (pseudo-queries, the sample, BM25's candidates) on a thread of
    its own while the passages are embedded: what it measures is what tuning the finished index measures."""
    import threading

    from qa.indexing.build import passages_index
    from qa.retrieval import tune as tune_module

    passages, threads = _entities("own"), []
    made = tune_module.prepare

    def watched(*args, **kwargs):
        threads.append(threading.current_thread().name)
        return made(*args, **kwargs)

    monkeypatch.setattr(tune_module, "prepare", watched)
    built = passages_index(passages, tune=tune_module.TUNE, embedder=FakeEmbedder())
    assert threads == ["qa-tune-prepare"]
    alone = tune(assemble_index(passages, FakeEmbedder())[0])
    assert built.tuning == alone and alone.queries >= MIN_QUERIES and set(alone.title_scores) == {"0", "1", "2", "3"}
