from __future__ import annotations

import threading

import numpy as np
import pytest
from support.fakes import FakeEmbedder

from qa.indexing.ahead import Ahead


def _recording():
    """An encoder and a spare lane over the fake model, recording which texts each encoded."""
    model, calls = FakeEmbedder(), {"encode": [], "lane": []}
    started = threading.Event()

    def encode(texts, bar=None):
        calls["encode"].append(list(texts))
        if bar is not None:
            bar.update(len(texts))
        return model.encode_document(texts)

    def lane(text):
        started.set()
        calls["lane"].append(text)
        return model.encode_document([text])[0]

    return model, calls, encode, lane, started


class _Bar:
    def __init__(self):
        self.n = 0

    def update(self, n):
        self.n += n


def test_take_gives_each_text_its_vector_in_order_whoever_encoded_it():
    model, calls, encode, lane, started = _recording()
    texts = [f"passage number {i} about {w}" for i, w in enumerate(["cats", "dogs", "fish", "birds"] * 5)]
    with Ahead(encode, lambda: lane) as ahead:
        ahead.add(texts[:12])
        assert started.wait(5)
        bar = _Bar()
        got = ahead.take(texts + texts[:3], bar=bar)  # duplicates and texts never added
    assert np.array_equal(got, model.encode_document(texts + texts[:3]))
    assert bar.n == len(texts) + 3  # every text counted once it has its vector
    assert set(calls["lane"]) <= set(texts[:12])  # the lane only ever had what was added
    assert not set(calls["lane"]) & {t for batch in calls["encode"] for t in batch}  # nothing encoded twice


def test_no_lane_means_the_encoder_does_it_all_and_nothing_is_asked_before_texts_come():
    model, calls, encode, _, _ = _recording()
    asked = []
    ahead = Ahead(encode, lambda: asked.append(1))  # returns None: no spare lane
    ahead.take([])  # nothing added: the lane is never asked for (no model is loaded for nothing)
    assert asked == []
    ahead = Ahead(encode, lambda: asked.append(1))
    ahead.add(["one text"])
    assert np.array_equal(ahead.take(["one text", "two"]), model.encode_document(["one text", "two"]))
    assert asked == [1] and calls["encode"] == [["one text", "two"]]


def test_stop_ends_the_lane_and_later_texts_are_ignored():
    _, calls, encode, lane, started = _recording()
    ahead = Ahead(encode, lambda: lane)
    ahead.add(["a b c"])
    assert started.wait(5)
    ahead.stop()
    assert not ahead._thread.is_alive()
    ahead.add(["later text"])
    assert "later text" not in calls["lane"]


@pytest.mark.slow
def test_the_spare_lane_encodes_as_the_embedder_does(real_embedder, fp32_embedder):
    texts = [f"The {w} sat on the mat for {n} hours, then left." for n, w in enumerate(["cat", "dog", "fox"] * 4)]
    with Ahead.of(real_embedder) as ahead:
        ahead.add(texts)
        got = ahead.take(texts)
    assert np.array_equal(got, real_embedder.encode_document(texts))  # int8: each text alone, bit for bit
    with Ahead.of(real_embedder, "query") as ahead:
        ahead.add(texts[:3])
        assert np.array_equal(ahead.take(texts[:3]), real_embedder.encode_query(texts[:3]))
    assert fp32_embedder.spare_lane() is None  # fp32 pads a batch's texts together: nothing ahead
