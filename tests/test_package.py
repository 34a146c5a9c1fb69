"""The question bank, output templates and schemas ship inside the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_bank_templates_and_schemas(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp_path), str(ROOT)], check=True)
    (wheel,) = tmp_path.glob("quizgen-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    bank = {p.name for p in (ROOT / "question_bank").glob("*.yaml")}
    assert {f"quizgen/question_bank/{name}" for name in bank} <= names
    assert {f"quizgen/templates/{p.name}" for p in (ROOT / "templates").iterdir()} <= names
    assert {"quizgen/schemas/key.schema.json", "quizgen/schemas/template.schema.json"} <= names


def test_console_script_from_another_folder(tmp_path):
    quizgen = Path(sys.executable).parent / "quizgen"
    completed = subprocess.run([str(quizgen), "list"], cwd=tmp_path, capture_output=True,
                               text=True, check=True)
    assert "conv-output-shape" in completed.stdout
