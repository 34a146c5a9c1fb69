"""Outputs as one set (quizgen.files.write_outputs, issue 12 reproductions 4 and 5): a failure
while writing or while moving files into place leaves the folder exactly as it was; a smaller run
into the folder of a bigger one removes the bigger run's files; files the command did not write,
or changed since, are never replaced or removed. Then the same through `quizgen grade` and
`quizgen generate`."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from pathlib import Path

import pytest

from quizgen import files
from quizgen.errors import QuizgenError
from quizgen.files import write_outputs

from .conftest import run_cli


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` (hidden ones too): relative path → bytes."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def run(count: int, tag: str = "a") -> dict[str, str]:
    """The outputs of a pretend run with `count` variants."""
    return {"key.json": f"key {tag} {count}",
            **{f"variant-{n}.qmd": f"variant {n} {tag}" for n in range(1, count + 1)},
            **{f"lms/variant-{n}.gift": f"gift {n} {tag}" for n in range(1, count + 1)}}


def failing(real, call: int, code: int):
    """`real`, except that its call number `call` raises OSError(`code`)."""
    calls = []

    def wrapper(*args):
        calls.append(args)
        if len(calls) == call:
            raise OSError(code, os.strerror(code))
        return real(*args)

    return wrapper


def test_first_run_writes_the_files_and_a_manifest(tmp_path):
    done = write_outputs(tmp_path, run(2), "generate")
    assert [path.name for path in done.written] == ["key.json", "variant-1.qmd", "variant-2.qmd",
                                                    "variant-1.gift", "variant-2.gift"]
    assert done.removed == ()
    manifest = json.loads((tmp_path / ".quizgen-generate.json").read_text())
    assert sorted(manifest["files"]) == sorted(run(2))
    assert manifest["files"]["key.json"] == hashlib.sha256(b"key a 2").hexdigest()
    assert snapshot(tmp_path)["variant-2.qmd"] == b"variant 2 a"
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".quizgen-staging")]


def test_a_smaller_run_removes_the_bigger_runs_files(tmp_path):
    write_outputs(tmp_path, run(5), "generate")
    done = write_outputs(tmp_path, run(2, "b"), "generate")
    assert sorted(path.name for path in done.removed) == [
        "variant-3.gift", "variant-3.qmd", "variant-4.gift", "variant-4.qmd", "variant-5.gift",
        "variant-5.qmd"]
    assert set(snapshot(tmp_path)) == {*run(2), ".quizgen-generate.json"}
    assert snapshot(tmp_path)["key.json"] == b"key b 2"


def test_a_run_without_lms_files_removes_the_emptied_lms_folder(tmp_path):
    write_outputs(tmp_path, run(2), "generate")
    write_outputs(tmp_path, {"key.json": "k"}, "generate")
    assert not (tmp_path / "lms").exists()


def test_files_not_written_by_the_command_are_never_touched(tmp_path):
    (tmp_path / "variant-1.qmd").write_text("the instructor's own notes")
    (tmp_path / "notes.txt").write_text("unrelated")
    with pytest.raises(QuizgenError, match=r"variant-1\.qmd: not written by this command"):
        write_outputs(tmp_path, run(2), "generate")
    assert snapshot(tmp_path) == {"variant-1.qmd": b"the instructor's own notes",
                                  "notes.txt": b"unrelated"}
    write_outputs(tmp_path, {"key.json": "k"}, "generate")
    assert snapshot(tmp_path)["notes.txt"] == b"unrelated"


def test_a_file_changed_since_it_was_written_is_kept(tmp_path):
    write_outputs(tmp_path, run(3), "generate")
    (tmp_path / "variant-3.qmd").write_text("edited by hand")
    before = snapshot(tmp_path)
    with pytest.raises(QuizgenError, match=r"variant-3\.qmd: changed since it was written"):
        write_outputs(tmp_path, run(2, "b"), "generate")
    assert snapshot(tmp_path) == before


def test_each_command_owns_its_own_files(tmp_path):
    write_outputs(tmp_path, {"grades.csv": "g"}, "grade")
    write_outputs(tmp_path, run(1), "generate")
    with pytest.raises(QuizgenError, match=r"key\.json: not written by this command"):
        write_outputs(tmp_path, {"key.json": "x"}, "grade")
    assert snapshot(tmp_path)["grades.csv"] == b"g"


@pytest.mark.parametrize("manifest", ["not json", '{"files": {"../../etc/passwd": "00"}}',
                                      '{"files": ["key.json"]}', '[]'])
def test_a_tampered_manifest_is_an_error_naming_it(tmp_path, manifest):
    (tmp_path / ".quizgen-generate.json").write_text(manifest)
    with pytest.raises(QuizgenError, match=r"\.quizgen-generate\.json: (unreadable|malformed) manifest"):
        write_outputs(tmp_path, run(1), "generate")
    assert snapshot(tmp_path) == {".quizgen-generate.json": manifest.encode()}


def test_a_full_disk_while_writing_changes_nothing(tmp_path, monkeypatch):
    write_outputs(tmp_path, run(3), "generate")
    before = snapshot(tmp_path)
    monkeypatch.setattr(Path, "write_bytes", failing(Path.write_bytes, 4, errno.ENOSPC))
    with pytest.raises(QuizgenError, match=r"lms/variant-1\.gift: cannot write: No space left on device; "
                                           r"nothing in .* was changed"):
        write_outputs(tmp_path, run(2, "b"), "generate")
    assert snapshot(tmp_path) == before  # no staging folder, no new file, no old file lost


def test_a_failed_move_rolls_back(tmp_path, monkeypatch):
    write_outputs(tmp_path, run(3), "generate")
    before = snapshot(tmp_path)
    # the 9th rename: the 8 old files (manifest included) are aside, the new ones move in
    monkeypatch.setattr(files.os, "replace", failing(os.replace, 9, errno.EACCES))
    with pytest.raises(QuizgenError, match=r"cannot move into place: Permission denied; .* is as it was"):
        write_outputs(tmp_path, run(2, "b"), "generate")
    assert snapshot(tmp_path) == before


def test_grade_replaces_its_outputs_as_a_set(tmp_path, exam):
    key = json.loads((exam / "key.json").read_text())
    positions = max(entry["position"] for entry in key["questions"])
    header = ",".join(["student_id", "variant", *(f"q{n}" for n in range(1, positions + 1))])
    responses = tmp_path / "responses.csv"
    responses.write_text(f"{header}\ns1,1{',' * positions}\n")
    out = tmp_path / "grades"
    out.mkdir()
    (out / "report.html").write_text("someone else's report")
    result = run_cli("grade", "--key", str(exam / "key.json"), "--responses", str(responses),
                     "--out", str(out))
    assert result.exit_code == 1
    assert "report.html: not written by this command" in result.output
    assert snapshot(out) == {"report.html": b"someone else's report"}
    (out / "report.html").unlink()
    result = run_cli("grade", "--key", str(exam / "key.json"), "--responses", str(responses),
                     "--out", str(out))
    assert result.exit_code == 0, result.output
    assert set(snapshot(out)) == {"grades.csv", "report.md", "report-histogram.svg", "report.html",
                                  ".quizgen-grade.json"}


def test_generate_a_smaller_exam_into_a_bigger_ones_folder(tmp_path):
    out = tmp_path / "exam"
    common = ["generate", "--template", "batchnorm-trainable", "--questions", "1", "--format", "md,gift",
              "--out", str(out), "--seed", "3"]
    assert run_cli(*common, "--variants", "4").exit_code == 0
    result = run_cli(*common, "--variants", "2")
    assert result.exit_code == 0, result.output
    assert "Removed 4 file(s) of the previous run" in result.output
    assert set(snapshot(out)) == {"key.json", ".quizgen-generate.json", "variant-1.md", "variant-2.md",
                                  "lms/variant-1.gift", "lms/variant-2.gift"}
    assert len(json.loads((out / "key.json").read_text())["questions"]) == 2
