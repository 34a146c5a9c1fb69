"""The persistent fact cache: hits on a second run, corrupt entries recomputed, other Keras
versions ignored, failed builds remembered, and the same answers as without it."""

import json

import pytest

from quizgen import cache, oracle
from quizgen.cache import FactCache
from quizgen.errors import ArchitectureError
from quizgen.oracle import Oracle
from quizgen.spec import LayerSpec, ModelSpec

SPEC = ModelSpec((9, 9, 2), (LayerSpec.make("Conv2D", filters=3, kernel_size=2),
                             LayerSpec.make("Flatten"), LayerSpec.make("Dense", units=4)))
IMPOSSIBLE = ModelSpec((3, 3, 1), (LayerSpec.make("Conv2D", filters=1, kernel_size=5),))


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder (`QUIZGEN_CACHE_DIR`)."""
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path))
    return tmp_path


def new_oracle() -> Oracle:
    """An oracle with empty memo tables on the cache folder of `QUIZGEN_CACHE_DIR`."""
    return Oracle(FactCache(cache.default_folder()))


def without_keras(monkeypatch):
    """From now on, building a layer fails the test: answers must come from the cache."""
    def fail(*_):
        raise AssertionError("Keras was asked again")
    monkeypatch.setattr(oracle, "_execute_layer", fail)


def entries(folder, kind="*"):
    return sorted(folder.rglob(f"{kind}/*/*.json"))


def test_facts_round_trip_through_disk(fresh, monkeypatch):
    computed = new_oracle().facts(SPEC)
    assert computed.total_params == (2 * 2 * 2 + 1) * 3 + (8 * 8 * 3 + 1) * 4 == 799
    assert len(entries(fresh, "facts")) == 1 and len(entries(fresh, "layer")) == 3
    assert entries(fresh)[0].parents[2].name == "keras-{}-{}".format(*cache.installed_keras())
    without_keras(monkeypatch)
    second = new_oracle()
    assert second.facts(SPEC) == computed and second.cache.stats == cache.CacheStats(1, 0)


def test_layers_are_shared_between_models(fresh, monkeypatch):
    new_oracle().facts(SPEC)
    (facts_entry,) = entries(fresh, "facts")
    facts_entry.unlink()
    without_keras(monkeypatch)  # the three layers are on disk: no Keras needed
    second = new_oracle()
    assert second.facts(SPEC).total_params == 799
    prefix = ModelSpec(SPEC.input_shape, SPEC.layers[:1])
    assert second.facts(prefix).layers[0].output_shape == (None, 8, 8, 3)


def test_corrupt_or_foreign_entries_are_recomputed(fresh):
    new_oracle().facts(SPEC)
    for broken in ('{"keras": ["0.0.1", "tensorflow"], "value": {}}', "{half an entr"):
        for path in entries(fresh):
            path.write_text(broken)
        again = new_oracle()
        assert again.facts(SPEC).total_params == 799
        assert again.cache.stats == cache.CacheStats(0, 4)
        for path in entries(fresh):
            assert json.loads(path.read_text())["keras"] == list(cache.installed_keras())


def test_failed_builds_are_cached_as_errors(fresh, monkeypatch):
    with pytest.raises(ArchitectureError, match="negative") as first:
        new_oracle().facts(IMPOSSIBLE)
    without_keras(monkeypatch)
    with pytest.raises(ArchitectureError) as second:
        new_oracle().facts(IMPOSSIBLE)
    assert str(first.value) == str(second.value)
    assert str(first.value).startswith("layer 0 (Conv2D): ")


def test_no_cache_writes_nothing(fresh):
    off = Oracle()
    assert off.cache.cached("facts", "x", lambda: 5, int, int) == 5
    assert off.facts(SPEC).total_params == 799
    assert entries(fresh) == [] and off.cache.stats.misses == 5


def test_memo_tables_belong_to_one_oracle(fresh, monkeypatch):
    first = Oracle()
    first.facts(SPEC)
    without_keras(monkeypatch)
    assert first.facts(SPEC).total_params == 799  # remembered by this oracle
    with pytest.raises(AssertionError, match="Keras was asked again"):
        Oracle().facts(SPEC)  # a fresh one computes everything again
