"""A question bank is untrusted input: hostile or mistaken templates give short, clear errors
naming the file and the field, quickly, at load time where that is certain."""

import inspect
import json
import random
import re
import signal
import textwrap
import time
from contextlib import contextmanager

import pytest

from quizgen import families
from quizgen.bank import MAX_NESTING, MAX_TEMPLATE_BYTES, ImpossibleModelError, load_bank, load_template
from quizgen.errors import ArchitectureError, BatchError, QuizgenError, TemplateError, quote
from quizgen.families.by_hand import by_hand
from quizgen.oracle import Oracle
from quizgen.questions import make_item
from quizgen.resources import data_dir
from quizgen.sample import option_range, sample

from .conftest import run_cli

GOOD = """\
title: Parameters
topic: dense
difficulty: 1
model: {sampler: mlp}
asks:
  - fact: params
    layer: {class_name: [Dense]}
    text: How many parameters does `{{ layer.code }}` have?
"""

BY_HAND = """\
title: By hand
topic: convolution
difficulty: 2
task: {sampler: by_hand, options: {size: [1, 1]}}
asks:
  - fact: conv_output
    text: What does the layer output?
"""

FIXED = """\
title: Fixed
topic: convolution
difficulty: 1
model:
  input_shape: INPUT
  layers: LAYERS
asks:
  - fact: total_params
    text: How many parameters does this model have?
"""

#: Short error messages: what "bounded" means in these tests.
SHORT = 400


def write(folder, name, text):
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def fixed(input_shape, *layers):
    """`FIXED` with a model of `input_shape` and `layers` (`(class_name, config)` pairs)."""
    return FIXED.replace("INPUT", json.dumps(input_shape)).replace("LAYERS", json.dumps(
        [{"class_name": name, "config": config} for name, config in layers]))


@contextmanager
def deadline(seconds: float):
    """Fail (instead of hanging) when the block runs longer than `seconds`."""
    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def load_error(tmp_path, text, name="bad.yaml", error=TemplateError) -> str:
    path = write(tmp_path, name, text)
    with deadline(10), pytest.raises(error) as raised:
        load_template(path)
    message = str(raised.value)
    assert message.startswith(f"{name}: ") and len(message) < SHORT, message
    return message


def alias_bomb(levels: int, width: int = 10) -> str:
    """YAML anchors, each a list of `width` aliases of the previous: `width ** levels` values."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]" for i in range(1, levels)]
    return "\n".join(lines)


# --- sampler options: each sampler's schema ---------------------------------------------------

@pytest.mark.parametrize("options, field, message", [
    ("{blocks: [1, 2, 3]}", "model.options.blocks", "[1, 2, 3] is too long"),
    ("{blocks: x}", "model.options.blocks", "'x': expected Conv blocks, 1 to 6"),
    ("{blocks: 7}", "model.options.blocks", "'x'"),
    ("{blocks: 1.5}", "model.options.blocks", "1.5: expected"),
    ("{blocks: [1, 2.0]}", "model.options.blocks[1]", "2.0 is not of type 'integer'"),
    ("{blocks: true}", "model.options.blocks", "True: expected"),
    ("{dropout: 3}", "model.options.dropout", "3 is not of type 'boolean'"),
    ("{depth: 3}", "model.options.depth", "unknown option 'depth'; the options of 'cnn' are blocks, "
                                          "hidden, dropout, batch_normalization"),
])
def test_cnn_options_are_validated_at_load(tmp_path, options, field, message):
    text = GOOD.replace("{sampler: mlp}", f"{{sampler: cnn, options: {options}}}")
    error = load_error(tmp_path, text)
    assert error.startswith(f"bad.yaml: {field}: sampler 'cnn': bad options: ")
    if message != "'x'":
        assert message in error


@pytest.mark.parametrize("sampler, options, field", [
    ("mlp", "{hidden: [1, 99]}", "model.options.hidden[1]"),
    ("sequence", "{recurrent_layers: many}", "model.options.recurrent_layers"),
    ("signal", "{blocks: 2}", "model.options.blocks"),
    ("modern_cnn", "{size: 2}", "model.options.size"),
    ("by_hand", "{layer: nope}", "model.options.layer"),
    ("by_hand", "{size: [4, 6, 8]}", "model.options.size"),
])
def test_every_samplers_options_are_validated(tmp_path, sampler, options, field):
    text = GOOD.replace("{sampler: mlp}", f"{{sampler: {sampler}, options: {options}}}")
    assert load_error(tmp_path, text).startswith(f"bad.yaml: {field}: sampler '{sampler}': bad options")


def test_a_range_whose_min_exceeds_its_max_is_refused_at_load(tmp_path):
    text = GOOD.replace("{sampler: mlp}", "{sampler: cnn, options: {blocks: [3, 1]}}")
    assert load_error(tmp_path, text).startswith(
        "bad.yaml: model.options: sampler option blocks: expected [min, max]")


def test_every_sampler_has_an_options_schema_of_its_keyword_arguments():
    schemas = json.loads((data_dir("schemas") / "template.schema.json").read_text())
    options = schemas["$defs"]["sampler_options"]
    for name, sampler in families.SAMPLERS.items():
        parameters = list(inspect.signature(sampler).parameters)[1:]  # after rng
        assert list(options[name]["properties"]) == parameters, name
        assert options[name]["additionalProperties"] is False


def test_sampler_rejects_malformed_ranges_without_traceback():
    for value in ([1, 2, 3], "x", [1], {"a": 1}, [True, 2], [2, 1], -1):
        with pytest.raises(TemplateError, match="sampler option blocks: expected"):
            sample("cnn", random.Random(0), {"blocks": value})
    assert option_range([1, 2], (0, 0), "x") == (1, 2) and option_range(3, (0, 0), "x") == (3, 3)
    assert option_range(None, (1, 3), "x") == (1, 3)


def test_unknown_option_message_is_bounded_even_for_an_alias_bomb():
    bomb: list = ["lol"] * 10
    for _ in range(8):
        bomb = [bomb] * 10  # 10**9 values, shared
    start = time.perf_counter()
    with pytest.raises(TemplateError, match="sampler 'mlp': bad options") as raised:
        sample("mlp", random.Random(0), {"depth": bomb})
    assert len(str(raised.value)) < SHORT and time.perf_counter() - start < 1
    assert len(quote(bomb)) <= 80


# --- YAML: size, aliases, nesting, values ---------------------------------------------------

def test_alias_bomb_in_options_gives_a_short_error_quickly(tmp_path):
    text = alias_bomb(7) + "\n" + GOOD.replace("{sampler: mlp}", "{sampler: cnn, options: {depth: *a6}}")
    start = time.perf_counter()
    error = load_error(tmp_path, text)
    assert time.perf_counter() - start < 2
    assert error.startswith("bad.yaml: invalid YAML: its aliases expand it to more than")


@pytest.mark.parametrize("where", ["options: *a8", "options: {blocks: *a8}"])
def test_billion_laughs_gives_a_short_error_quickly(tmp_path, where):
    text = alias_bomb(9) + "\n" + GOOD.replace("{sampler: mlp}", f"{{sampler: cnn, {where}}}")
    start = time.perf_counter()
    assert "its aliases expand it" in load_error(tmp_path, text)
    assert time.perf_counter() - start < 2


def test_small_aliases_are_fine(tmp_path):
    text = GOOD.replace("title: Parameters", "title: &title Parameters").replace(
        "text: How many parameters does `{{ layer.code }}` have?", "text: *title")
    assert load_template(write(tmp_path, "ok.yaml", text)).asks[0].text == "Parameters"


@pytest.mark.parametrize("prefix, message", [
    ("x: &a [*a]\n", "a recursive alias"),
    ("x: &a {<<: *a}\n", "a recursive alias"),
    ("x: " + "[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5) + "\n", f"nested more than {MAX_NESTING}"),
    ("x: " + "[" * 10_000 + "]" * 10_000 + "\n", "nested"),
    ("x: " + "{a: " * 3000 + "1" + "}" * 3000 + "\n", "nested"),
])
def test_recursive_or_deep_yaml_is_refused(tmp_path, prefix, message):
    assert message in load_error(tmp_path, prefix + GOOD)


@pytest.mark.parametrize("value, message", [
    ("9" * 5000, "invalid YAML: a value cannot be read"),
    ("2024-13-45", "invalid YAML: a value cannot be read"),
    ("!!float nope", "invalid YAML: a value cannot be read"),
    ("!!binary '***'", "difficulty: b'' is not of type 'integer'"),
    ("!!set {1, 2}", "difficulty: {1, 2} is not of type 'integer'"),
    ("!!python/object/apply:os.system ['touch SENTINEL']", "invalid YAML: could not determine a constructor"),
])
def test_unconstructible_values_are_template_errors(tmp_path, value, message, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert message in load_error(tmp_path, GOOD.replace("difficulty: 1", f"difficulty: {value}"))
    assert not (tmp_path / "SENTINEL").exists()


def test_oversized_file_is_refused_unread(tmp_path):
    error = load_error(tmp_path, GOOD + "#" * (MAX_TEMPLATE_BYTES + 1))
    assert error == f"bad.yaml: larger than {MAX_TEMPLATE_BYTES:,} bytes"


@pytest.mark.parametrize("change, field", [
    (("title: Parameters", "title: [" + ", ".join(["x" * 50] * 500) + "]"), "title"),
    (("topic: dense", "topic: " + "y" * 25_000), "topic"),
    (("fact: params", "fact: " + "z" * 25_000), "asks[0].fact"),
    (("{sampler: mlp}", "{sampler: " + "s" * 25_000 + "}"), "model.sampler"),
    (("{sampler: mlp}", "{sampler: cnn, options: {" + "o" * 1000 + ": 1}}"), "model.options.ooo"),
    (("topic: dense", "topic: dense\ntags: [" + ", ".join(f"{{a: {i}}}" for i in range(2000)) + "]"),
     "tags"),
    (("topic: dense", "topic: dense\ntags: [" + ", ".join(["t"] * 8_000) + "]"), "tags"),
])
def test_schema_errors_quote_values_briefly(tmp_path, change, field):
    assert len(GOOD.replace(*change)) < MAX_TEMPLATE_BYTES
    start = time.perf_counter()
    assert load_error(tmp_path, GOOD.replace(*change)).startswith(f"bad.yaml: {field}")
    assert time.perf_counter() - start < 5


def test_unknown_sampler_names_the_known_ones_briefly(tmp_path):
    error = load_error(tmp_path, GOOD.replace("{sampler: mlp}", "{sampler: " + "q" * 60 + "}"))
    assert error.startswith("bad.yaml: model.sampler: 'qqq") and all(s in error for s in families.SAMPLERS)
    with pytest.raises(TemplateError, match="unknown sampler .*; known: cnn, mlp") as raised:
        sample("x" * 10_000, random.Random(0), None, families.SAMPLERS)
    assert len(str(raised.value)) < SHORT


def test_config_values_must_be_json(tmp_path):
    text = fixed([4], ("Dense", {"units": 2})).replace('"units": 2', '"units": 2, "name": 2024-01-01')
    assert load_error(tmp_path, text).startswith("bad.yaml: model.layers[0].config.name: datetime.date")


# --- by-hand tasks: a size that no task fits -------------------------------------------------

@pytest.mark.parametrize("size, layer", [("[1, 1]", "conv"), ("[1, 1]", "average"), ("[60, 90]", "max"),
                                         ("1", "pooling")])
def test_by_hand_size_that_no_task_fits_fails_at_load(tmp_path, size, layer):
    text = BY_HAND.replace("{size: [1, 1]}", f"{{size: {size}, layer: {layer}}}")
    error = load_error(tmp_path, text)
    assert error.startswith("bad.yaml: task.options: sampler option size: no ") and "draws" in error


def test_by_hand_sampler_gives_up_after_bounded_draws():
    with deadline(10), pytest.raises(TemplateError, match="sampler option size: no conv task fits"):
        by_hand(random.Random(1), "conv", [1, 1])


def test_by_hand_small_feasible_sizes_still_load(tmp_path):
    text = BY_HAND.replace("{size: [1, 1]}", "{size: [2, 2], layer: average}").replace("conv_output",
                                                                                      "pool_output")
    assert load_template(write(tmp_path, "ok.yaml", text)).options == {"size": [2, 2], "layer": "average"}


# --- fixed models the closed forms prove impossible ------------------------------------------

@pytest.mark.parametrize("model, layer", [
    (([4, 4, 1], ("Conv2D", {"filters": 2, "kernel_size": 7})), "layer 0 (Conv2D)"),
    (([4, 4, 1], ("Conv2D", {"filters": 2, "kernel_size": [3, 3]}), ("MaxPooling2D", {"pool_size": 3})),
     "layer 1 (MaxPooling2D)"),
    (([8], ("Conv2D", {"filters": 2, "kernel_size": 3})), "layer 0 (Conv2D)"),
    (([10, 3], ("Conv1D", {"filters": 2, "kernel_size": 11, "activation": "relu"})), "layer 0 (Conv1D)"),
    (([6, 6, 1], ("Flatten", {}), ("Dense", {"units": 3}), ("LSTM", {"units": 2})), "layer 2 (LSTM)"),
])
def test_impossible_fixed_model_is_reported_at_load(tmp_path, model, layer):
    error = load_error(tmp_path, fixed(*model), error=ImpossibleModelError)
    assert error.startswith(f"bad.yaml: its fixed model cannot be built: {layer}: ")


def test_impossible_fixed_model_is_a_template_and_an_architecture_error(tmp_path):
    write(tmp_path, "bad.yaml", fixed([4, 4, 1], ("Conv2D", {"filters": 2, "kernel_size": 7})))
    with pytest.raises(BatchError) as raised:
        load_bank(tmp_path)
    assert len(raised.value.failures) == 1
    assert issubclass(ImpossibleModelError, TemplateError) and issubclass(ImpossibleModelError,
                                                                          ArchitectureError)


def test_impossible_fixed_task_is_reported_at_load(tmp_path):
    text = BY_HAND.replace("{sampler: by_hand, options: {size: [1, 1]}}",
                           "{layer: {class_name: MaxPooling2D, config: {pool_size: 7}}, "
                           "input: [[1, 2], [3, 4]]}").replace("conv_output", "pool_output")
    error = load_error(tmp_path, text, error=ImpossibleModelError)
    assert error.startswith("bad.yaml: its fixed task cannot be run: layer 0 (MaxPooling2D): ")


@pytest.mark.parametrize("layers", [
    [("Conv9D", {"filters": 2})],
    [("Conv9D", {"filters": 2}), ("Conv2D", {"filters": 2, "kernel_size": 7})],
    [("Conv2D", {"filters": 2, "kernel_size": 7, "data_format": "channels_first"})],
    [("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "data_format": "channels_first"}),
     ("Conv2D", {"filters": 1, "kernel_size": 2})],
    [("Conv2D", {"filters": 2, "kernel_size": 7, "padding": "SAME"})],
    [("Conv2D", {"filters": 2, "kernel_size": 7, "padding": "same"})],
    [("GlobalAveragePooling2D", {"keepdims": True}), ("Conv2D", {"filters": 1, "kernel_size": 2})],
    [("Conv2D", {"filters": 2, "kernel_size": "7"})],
    [("Permute", {"dims": [2, 1, 3]}), ("Conv2D", {"filters": 2, "kernel_size": 7})],
])
def test_what_the_closed_forms_cannot_decide_is_left_to_keras(tmp_path, layers):
    template = load_template(write(tmp_path, "uncertain.yaml", fixed([4, 4, 1], *layers)))
    assert template.fixed is not None


@pytest.mark.parametrize("layers, message", [
    ([("Conv2D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2})],
     "layer 0 (Conv2D): a 5-wide window"),  # 3×3 dilated by 2 spans 5×5
    ([("Reshape", {"target_shape": [2, 2, 4]}), ("Conv2D", {"filters": 2, "kernel_size": 7})],
     "layer 1 (Conv2D): a 7-wide window"),
])
def test_dilation_and_reshape_are_decided_at_load(tmp_path, layers, message):
    with pytest.raises(ImpossibleModelError, match=re.escape(message)):
        load_template(write(tmp_path, "impossible.yaml", fixed([4, 4, 1], *layers)))


def test_unknown_layer_class_fails_later_with_a_clear_error(tmp_path):
    template = load_template(write(tmp_path, "conv9d.yaml", fixed([8, 8, 1], ("Conv9D", {"filters": 2}))))
    with pytest.raises(QuizgenError, match="conv9d.yaml: its fixed model cannot carry its questions"):
        make_item(template, 0, Oracle())


def test_generate_reports_an_impossible_model_once(tmp_path):
    bank = tmp_path / "bank"
    bank.mkdir()
    write(bank, "impossible.yaml", fixed([4, 4, 1], ("Conv2D", {"filters": 2, "kernel_size": 7})))
    result = run_cli("generate", "--bank", str(bank), "--variants", "3", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.count("impossible.yaml") == 1 and "layer 0 (Conv2D)" in result.output


# --- the bundled bank -------------------------------------------------------------------------

def test_bundled_bank_loads_and_lists(bank):
    assert len(load_bank()) == len(bank)
    result = run_cli("list")
    assert result.exit_code == 0 and len(result.output.strip().splitlines()) == len(bank)
