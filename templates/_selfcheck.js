// The self-check page's script (included by selfcheck.html.j2; no Jinja2 syntax in here).
// Judges each response with the rules of quizgen/grade.py, writes the verdict into the
// question's .feedback (data-correct="true" or "false"), names the misconception of each chosen
// distractor, opens the worked answer and keeps the score summary up to date.
"use strict";
(() => {
  const ANSWERS = JSON.parse(document.getElementById("quizgen-answers").textContent);
  const SHAPE_SEPARATORS = /\s*(?:,|x|×|\*)\s*/i;
  const BATCH_WORDS = ["none", "null", "?", "batch"];
  // A number as grade.py's _NUMBER reads it: ASCII digits, grouped by thousands before the
  // point with one kind of separator (",", "_" or a space), or not at all.
  const NUMBER = /^[+-]?(?:(?:[0-9]+|[1-9][0-9]{0,2}([,_ ])[0-9]{3}(?:\1[0-9]{3})*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/;
  const summary = document.querySelector(".score");
  const scores = new Map();

  class ResponseError extends Error {}

  // "34,826" -> 34826 (grade.parse_number).
  function parseNumber(text) {
    const trimmed = text.trim();
    const value = NUMBER.test(trimmed) ? Number(trimmed.replace(/[,_ ]/g, "")) : NaN;
    if (!Number.isFinite(value)) {
      throw new ResponseError(`"${text}" is not a number.`);
    }
    return value;
  }

  // "(None, 13, 13, 32)", "13x13x32", "[13, 13, 32]" -> [null, 13, 13, 32] (grade.parse_shape).
  function parseShape(text) {
    const inner = text.trim().replace(/^[()[\]]+|[()[\]]+$/g, "").trim().replace(/,+$/, "");
    if (!inner) {
      throw new ResponseError(`"${text}" is not a shape.`);
    }
    return inner.split(SHAPE_SEPARATORS).map((part) => {
      if (BATCH_WORDS.includes(part.toLowerCase())) {
        return null;
      }
      if (/^[0-9]+$/.test(part) && Number.isFinite(Number(part))) {
        return Number(part);
      }
      throw new ResponseError(`"${text}" is not a shape (cannot read "${part}").`);
    });
  }

  // "[[2, 2, 3], [1, 2, 1]]" -> its rows (grade.parse_matrix).
  function parseMatrix(text) {
    let rows;
    try {
      rows = JSON.parse(text);
    } catch {
      throw new ResponseError(`"${text}" is not a matrix (JSON like [[1, 2], [3, 4]]).`);
    }
    const rectangular = Array.isArray(rows) && rows.length > 0
      && rows.every((row) => Array.isArray(row) && row.length > 0)
      && new Set(rows.map((row) => row.length)).size === 1;
    if (!rectangular) {
      throw new ResponseError(`"${text}" is not a matrix: rows must be non-empty and equally long.`);
    }
    if (!rows.flat().every((x) => typeof x === "number" && Number.isFinite(x))) {
      throw new ResponseError(`"${text}" is not a matrix of (finite) numbers.`);
    }
    return rows;
  }

  // A shape with a leading None also accepts the shape without its batch axis.
  function shapeScore(answer, shape) {
    const full = answer[0] === null && shape[0] !== null ? [null, ...shape] : shape;
    return JSON.stringify(full) === JSON.stringify(answer) ? 1 : 0;
  }

  function matrixScore(answer, rows, tolerance) {
    if (JSON.stringify(rows.map((row) => row.length)) !== JSON.stringify(answer.map((row) => row.length))) {
      return 0;
    }
    return rows.every((row, i) => row.every((x, j) => Math.abs(x - answer[i][j]) <= tolerance)) ? 1 : 0;
  }

  // Partial credit as grade.multiple_choice_score: +1/k per correct option chosen, -1/(n-k) per
  // wrong one, floored at 0; without a correct option only choosing none scores.
  function multipleChoiceScore(choices, chosen) {
    const correct = choices.filter((choice) => choice.correct).length;
    if (correct === 0) {
      return chosen.length === 0 ? 1 : 0;
    }
    const right = chosen.filter((number) => choices[number - 1].correct).length;
    const wrong = chosen.length - right;
    const penalty = choices.length > correct ? wrong / (choices.length - correct) : 0;
    return Math.max(0, right / correct - penalty);
  }

  // The score of a response in [0, 1]; `given` is the list of chosen option numbers for choice
  // kinds, else the text typed. Throws ResponseError for a response that cannot be read.
  function score(entry, given) {
    switch (entry.kind) {
      case "single_choice":
        if (given.length !== 1) {
          throw new ResponseError("Choose an option first.");
        }
        return entry.choices[given[0] - 1].correct ? 1 : 0;
      case "multiple_choice":
        return multipleChoiceScore(entry.choices, given);
      case "numeric":
        return Math.abs(parseNumber(given) - entry.answer) <= entry.tolerance ? 1 : 0;
      case "shape":
        return shapeScore(entry.answer, parseShape(given));
      case "matrix":
        return matrixScore(entry.answer, parseMatrix(given), entry.tolerance);
      default:
        throw new ResponseError(`Questions of kind ${entry.kind} cannot be checked on this page.`);
    }
  }

  function response(section, entry) {
    if (entry.choices) {
      return Array.from(section.querySelectorAll("input:checked"), (input) => Number(input.value));
    }
    return section.querySelector("input.answer").value;
  }

  function points(value) {
    return String(Number(value.toFixed(2)));
  }

  function sentence(text) {
    return /[.!?]$/.test(text) ? text : `${text}.`;
  }

  // The verdict's lines: right or wrong, then one line per chosen distractor naming its mistake.
  function verdict(entry, given, earned) {
    if (earned === 1) {
      return [["Correct.", null]];
    }
    const lines = [[earned > 0 ? `Partly right: ${points(earned)} of 1 point.` : "Not quite.", null]];
    for (const number of entry.choices ? given : []) {
      const choice = entry.choices[number - 1];
      if (!choice.correct && choice.misconception) {
        lines.push([` (option ${number}): ${sentence(choice.feedback)}`, choice.misconception]);
      }
    }
    lines.push(["The worked answer is below.", null]);
    return lines;
  }

  function show(feedback, lines) {
    feedback.replaceChildren(...lines.map(([text, misconception]) => {
      const line = document.createElement("p");
      if (misconception) {  // the label stays out of sight: a student reads its description
        line.className = "misconception";
        line.dataset.misconception = misconception;
        line.append("Common mistake");
      }
      line.append(text);
      return line;
    }));
  }

  function updateSummary() {
    const total = Object.keys(ANSWERS).length;
    const sum = Array.from(scores.values()).reduce((a, b) => a + b, 0);
    summary.dataset.score = points(sum);
    summary.dataset.checked = String(scores.size);
    summary.textContent = `Score: ${points(sum)} of ${total} (${scores.size} of ${total} questions checked)`;
  }

  function check(section) {
    const id = section.dataset.id;
    const entry = ANSWERS[id];
    const feedback = section.querySelector(".feedback");
    const given = response(section, entry);
    let earned;
    try {
      earned = score(entry, given);
    } catch (error) {
      if (!(error instanceof ResponseError)) {
        throw error;
      }
      feedback.removeAttribute("data-correct");
      feedback.classList.add("invalid");
      show(feedback, [[error.message, null]]);
      scores.delete(id);
      updateSummary();
      return;
    }
    feedback.classList.remove("invalid");
    feedback.dataset.correct = String(earned === 1);
    show(feedback, verdict(entry, given, earned));
    section.querySelector("details").open = true;
    scores.set(id, earned);
    updateSummary();
  }

  for (const section of document.querySelectorAll("section.question")) {
    section.querySelector("button.check").addEventListener("click", () => check(section));
    const box = section.querySelector("input.answer");
    if (box) {
      box.addEventListener("keydown", (event) => {
        if (event.key === "Enter") {
          check(section);
        }
      });
    }
  }
})();
