"""Fuzzing template loading (Hypothesis): any text written as a template file either loads or
raises `BatchError` with one message, which names the file and is bounded in length; never
another exception. Loading runs no code, leaves the file as it was and writes nothing beside it.
The texts of what loads render, in the sandbox, to a string or a `TemplateError` naming the
field. 5,500 generated templates in all (about a minute here), the same ones on every run."""

import os
import tempfile
import textwrap
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from quizgen.bank import load_bank
from quizgen.errors import BatchError, TemplateError
from quizgen.resources import data_dir
from quizgen.template import render_text

#: The file a payload would create if any code of a template ran: the same path on every run,
#: so that the same texts are generated.
SENTINEL = Path(tempfile.gettempdir()) / "quizgen-fuzz-sentinel"
SENTINEL.unlink(missing_ok=True)

PAYLOADS = (
    f"{{{{ cycler.__init__.__globals__.os.popen('touch {SENTINEL}').read() }}}}",
    f"{{% set n = '__in' ~ 'it__' %}}{{{{ cycler[n]['__glo' ~ 'bals__'].os.popen('touch {SENTINEL}') }}}}",
    "{{ lipsum|attr('__globals__') }}",
    f"!!python/object/apply:os.system ['touch {SENTINEL}']",
    f"!!python/object/new:subprocess.Popen [['touch', '{SENTINEL}']]",
)

GOOD = textwrap.dedent("""\
    title: Parameters
    topic: dense
    difficulty: 1
    model: {sampler: mlp, options: {hidden: [1, 2]}}
    asks:
      - fact: params
        layer: {class_name: [Dense]}
        text: How many parameters does `{{ layer.code }}` have?
    """)

#: Valid templates to mutate: the bundled bank and a few of every kind of subject.
SEEDS = [path.read_text() for path in sorted(data_dir("question_bank").glob("*.yaml"))] + [GOOD]

TOKENS = (
    "title: ", "topic: ", "difficulty: ", "tags: ", "stem: ", "code_style: ", "model: ", "task: ",
    "asks:", "  - fact: ", "    text: ", "    layer: ", "    response: ", "sampler: ", "options: ",
    "input_shape: ", "layers: ", "class_name: ", "config: ", "input: ", "kernel: ", "bias: ",
    "cnn", "mlp", "by_hand", "sequence", "signal", "modern_cnn", "Conv2D", "Conv9D", "Dense",
    "MaxPooling2D", "blocks", "hidden", "size", "layer", "kernel_size", "filters", "units",
    "params", "total_params", "conv_output", "formula", "statements", "&a ", "*a", "&b ", "*b",
    "<<: ", "!!binary ", "!!set ", "!!omap ", "!!float ", "!!str ", "!!int ", "? ", "---\n",
    "...\n", "{", "}", "[", "]", ", ", ": ", "- ", "\n", "\n  ", "\n    ", "'", '"', "|", ">",
    "#", "%", "@", "`", "~", "null", "true", "1", "0", "-1", "7", "1.5", "1e400", "2024-13-45",
    "99999999999999999999", "{{ ", " }}", "{% ", " %}", "layer.code", "x" * 100, "\t", "\x00",
    "\ufeff", "é", "\\", *PAYLOADS,
)

yamlish = st.lists(st.sampled_from(TOKENS), max_size=60).map("".join)


@st.composite
def mutated(draw) -> str:
    """A valid template with a few spans replaced by random tokens or characters."""
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(text)))
        end = draw(st.integers(start, min(len(text), start + 40)))
        piece = draw(st.one_of(yamlish, st.text(max_size=10)))
        text = text[:start] + piece + text[end:]
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 100) | st.floats(allow_nan=True)
    | st.text(max_size=12) | st.sampled_from(PAYLOADS) | st.dates(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["blocks", "hidden", "size", "layer", "units", "filters", "kernel_size",
                         "padding", "class_name", "config", "x"]) | st.text(max_size=5),
        children, max_size=4),
    max_leaves=12)


@st.composite
def structured(draw) -> str:
    """A template-shaped mapping with random values, dumped as YAML."""
    subject = draw(st.sampled_from([
        {"sampler": draw(st.sampled_from(["cnn", "mlp", "sequence", "signal", "modern_cnn",
                                          "by_hand", "nope"])),
         "options": draw(json_values)},
        {"input_shape": draw(st.lists(st.integers(-1, 12), max_size=4)),
         "layers": [{"class_name": draw(st.sampled_from(["Conv2D", "Dense", "Conv9D", "Flatten",
                                                         "MaxPooling2D", "LSTM", "conv"])),
                     "config": draw(json_values)} for _ in range(draw(st.integers(0, 3)))]},
        {"layer": {"class_name": draw(st.sampled_from(["Conv2D", "MaxPooling2D", "Dense"])),
                   "config": draw(json_values)},
         "input": draw(st.lists(st.lists(st.integers(0, 3), max_size=5), max_size=5))},
    ]))
    data = {"title": draw(st.text(max_size=10) | st.sampled_from(PAYLOADS)),
            "topic": "t", "difficulty": draw(st.integers(0, 4)),
            "model" if "layers" in subject or "sampler" in subject else "task": subject,
            "asks": [{"fact": draw(st.sampled_from(["params", "total_params", "conv_output",
                                                    "pool_output", "formula", "nope"])),
                      "layer": draw(st.none() | st.integers(-3, 3)),
                      "text": draw(st.sampled_from(PAYLOADS) | st.text(max_size=20))}]}
    if draw(st.booleans()):
        data["stem"] = draw(st.sampled_from(PAYLOADS) | st.text(max_size=20))
    return yaml.safe_dump(data, allow_unicode=True)


CONTEXT = {"layer": {"number": 1, "index": 0, "name": "dense", "class_name": "Dense",
                     "code": "layers.Dense(2)"}, "summary": "table", "blank": "___"}


#: At most this many characters in a refusal: messages quote what they cite by its beginning.
MESSAGE_BOUND = 1_000


def load_or_refuse(text: str) -> None:
    """Load `text` as the only file of a bank; render the texts of what loads."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        written = path.read_bytes()
        try:
            templates = load_bank(Path(folder))
        except BatchError as error:
            (message,) = error.failures
            assert message.startswith("fuzzed.yaml: ") and len(message) < MESSAGE_BOUND, message
            templates = []
        for template in templates:
            for where, source in [("stem", template.stem)] + [
                    (f"asks[{i}].text", ask.text) for i, ask in enumerate(template.asks)]:
                try:
                    assert isinstance(render_text(source, CONTEXT, where), str)
                except TemplateError as error:
                    assert str(error).startswith(f"{where}: ") and len(str(error)) < MESSAGE_BOUND
        assert path.read_bytes() == written and os.listdir(folder) == ["fuzzed.yaml"]
    assert not SENTINEL.exists(), "a template ran code"


#: Derandomized (the same examples on every run of the same tests: Hypothesis also draws
#: constants from the modules loaded) and without an example database, so that CI on a clean
#: checkout runs what a developer ran; a failure prints the blob that reproduces it.
FUZZ = settings(deadline=None, database=None, derandomize=True, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow])


@settings(FUZZ, max_examples=2_000)  # about 8 s
@given(yamlish)
def test_random_yaml_loads_or_is_refused(text):
    load_or_refuse(text)


@settings(FUZZ, max_examples=2_000)  # about 16 s
@given(mutated())
def test_mutated_templates_load_or_are_refused(text):
    load_or_refuse(text)


@settings(FUZZ, max_examples=1_500)  # about 33 s
@given(structured())
def test_template_shaped_data_loads_or_is_refused(text):
    load_or_refuse(text)
