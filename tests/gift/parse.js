// Parse each GIFT file named on the command line with gift-pegjs; print one JSON array of
// results, each {"questions": [...]} or {"error": "..."} (tests/test_lms.py reads it).
const gift = require("gift-pegjs");
const fs = require("fs");
const results = process.argv.slice(2).map((path) => {
  try {
    return { questions: gift.parse(fs.readFileSync(path, "utf8")) };
  } catch (error) {
    return { error: String(error.message) };
  }
});
process.stdout.write(JSON.stringify(results));
