"""The persistent fact cache: hits on a second run, corrupt entries recomputed, other Keras
versions ignored, and the same answers as without it."""

import json

from quizgen import cache, oracle
from quizgen.spec import LayerSpec, ModelSpec

SPEC = ModelSpec((9, 9, 2), (LayerSpec.make("Conv2D", filters=3, kernel_size=2),
                             LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=4)))


def entries(folder):
    return sorted(folder.rglob("*.json"))


def test_facts_round_trip_through_disk(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    computed = oracle._compute_facts(SPEC)
    value = cache.cached("facts", SPEC.digest(), lambda: computed, oracle._encode_facts,
                         oracle._decode_facts)
    (path,) = entries(tmp_path)
    hits = cache.STATS.hits
    again = cache.cached("facts", SPEC.digest(), lambda: 1 / 0, oracle._encode_facts,
                         oracle._decode_facts)
    assert again == value == computed and cache.STATS.hits == hits + 1
    assert computed.total_params == (2 * 2 * 2 + 1) * 3 + (8 * 8 * 3 + 1) * 4
    assert path.parent.parent.parent.name == "keras-{}-{}".format(*cache.installed_keras())


def test_corrupt_or_foreign_entries_are_recomputed(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    cache.cached("facts", SPEC.digest(), lambda: oracle._compute_facts(SPEC),
                 oracle._encode_facts, oracle._decode_facts)
    (path,) = entries(tmp_path)
    for broken in ('{"keras": ["0.0.1", "tensorflow"], "value": {}}', "{half an entr"):
        path.write_text(broken)
        misses = cache.STATS.misses
        value = cache.cached("facts", SPEC.digest(), lambda: oracle._compute_facts(SPEC),
                             oracle._encode_facts, oracle._decode_facts)
        assert cache.STATS.misses == misses + 1 and value.total_params == 799
        assert json.loads(path.read_text())["keras"] == list(cache.installed_keras())


def test_failed_builds_are_cached_as_errors(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    impossible = ModelSpec((3, 3, 1), (LayerSpec.make("Conv2D", filters=1, kernel_size=5),))
    first = cache.cached("facts", impossible.digest(), lambda: oracle._compute_facts(impossible),
                         oracle._encode_facts, oracle._decode_facts)
    second = cache.cached("facts", impossible.digest(), lambda: 1 / 0, oracle._encode_facts,
                          oracle._decode_facts)
    assert str(first) == str(second) and "negative" in str(second)


def test_no_cache_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    cache.configure(False)
    try:
        assert cache.cached("facts", "x", lambda: 5, int, int) == 5
    finally:
        cache.configure(True)
    assert entries(tmp_path) == []
