"""The persistent fact cache: hits on a second run, corrupt entries recomputed, other Keras
versions ignored, failed builds remembered, and the same answers as without it."""

import json

import pytest

from quizgen import cache, oracle
from quizgen.errors import ArchitectureError
from quizgen.spec import LayerSpec, ModelSpec

SPEC = ModelSpec((9, 9, 2), (LayerSpec.make("Conv2D", filters=3, kernel_size=2),
                             LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=4)))
IMPOSSIBLE = ModelSpec((3, 3, 1), (LayerSpec.make("Conv2D", filters=1, kernel_size=5),))


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and empty in-memory caches."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    forget()
    yield tmp_path
    forget()


def forget():
    oracle._facts.cache_clear()
    oracle.layer_facts.cache_clear()


def without_keras(monkeypatch):
    """From now on, building a layer fails the test: answers must come from the cache."""
    def fail(*_):
        raise AssertionError("Keras was asked again")
    monkeypatch.setattr(oracle, "_execute_layer", fail)


def entries(folder, kind="*"):
    return sorted(folder.rglob(f"{kind}/*/*.json"))


def test_facts_round_trip_through_disk(fresh, monkeypatch):
    computed = oracle.facts(SPEC)
    assert computed.total_params == (2 * 2 * 2 + 1) * 3 + (8 * 8 * 3 + 1) * 4 == 799
    assert len(entries(fresh, "facts")) == 1 and len(entries(fresh, "layer")) == 3
    assert entries(fresh)[0].parents[2].name == "keras-{}-{}".format(*cache.installed_keras())
    forget()
    without_keras(monkeypatch)
    hits = cache.STATS.hits
    assert oracle.facts(SPEC) == computed and cache.STATS.hits == hits + 1


def test_layers_are_shared_between_models(fresh, monkeypatch):
    oracle.facts(SPEC)
    forget()
    (facts_entry,) = entries(fresh, "facts")
    facts_entry.unlink()
    without_keras(monkeypatch)  # the three layers are on disk: no Keras needed
    assert oracle.facts(SPEC).total_params == 799
    prefix = ModelSpec(SPEC.input_shape, SPEC.layers[:1])
    assert oracle.facts(prefix).layers[0].output_shape == (None, 8, 8, 3)


def test_corrupt_or_foreign_entries_are_recomputed(fresh):
    oracle.facts(SPEC)
    for broken in ('{"keras": ["0.0.1", "tensorflow"], "value": {}}', "{half an entr"):
        for path in entries(fresh):
            path.write_text(broken)
        forget()
        misses = cache.STATS.misses
        assert oracle.facts(SPEC).total_params == 799
        assert cache.STATS.misses == misses + 4
        for path in entries(fresh):
            assert json.loads(path.read_text())["keras"] == list(cache.installed_keras())


def test_failed_builds_are_cached_as_errors(fresh, monkeypatch):
    with pytest.raises(ArchitectureError, match="negative") as first:
        oracle.facts(IMPOSSIBLE)
    forget()
    without_keras(monkeypatch)
    with pytest.raises(ArchitectureError) as second:
        oracle.facts(IMPOSSIBLE)
    assert str(first.value) == str(second.value)
    assert str(first.value).startswith("layer 0 (Conv2D): ")


def test_no_cache_writes_nothing(fresh):
    cache.configure(False)
    try:
        assert cache.cached("facts", "x", lambda: 5, int, int) == 5
        assert oracle.facts(SPEC).total_params == 799
    finally:
        cache.configure(True)
    assert entries(fresh) == []
