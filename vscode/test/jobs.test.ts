// Finding job keys for CodeLens, on the iris example and on files in mid-edit.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { findJobKeys, findPipelineName, isPipelineFile, jobAtLine } from "../src/jobs";

const iris = path.resolve(__dirname, "../../../examples/iris/reefline.yaml");

describe("findJobKeys", () => {
  it("finds every job of the iris example at its line and columns", () => {
    const text = fs.readFileSync(iris, "utf8");
    const keys = findJobKeys(text);
    assert.deepEqual(keys.map((k) => k.name), ["prepare", "featurize", "train", "evaluate", "report"]);
    const lines = text.split("\n");
    for (const key of keys) {
      assert.equal(lines[key.line].slice(key.character, key.endCharacter), key.name);
      assert.equal(lines[key.line].slice(key.endCharacter, key.endCharacter + 1), ":");
    }
    // A job's block runs to the line before the next job (blank lines excluded).
    for (let i = 0; i + 1 < keys.length; i++) {
      assert.ok(keys[i].endLine < keys[i + 1].line);
      assert.notEqual(lines[keys[i].endLine].trim(), "");
    }
    assert.equal(keys[keys.length - 1].endLine, lines.map((l) => l.trim()).lastIndexOf(lines.filter((l) => l.trim()).pop()!.trim()));
  });

  it("reads quoted keys, comments, CRLF, and a deeper indentation", () => {
    const text = [
      "name: x",
      "jobs:   # the jobs",
      "",
      "    # a comment at another indentation",
      '    "fit model":',
      "        script: [echo]",
      "    'it''s': {script: [echo]}",
      "    plain: {script: [echo]}  # trailing",
      "    <<: *base",
      "params: {}",
      "  notajob: 1",
    ].join("\r\n");
    const keys = findJobKeys(text);
    assert.deepEqual(keys.map((k) => [k.name, k.line, k.character, k.endCharacter, k.endLine]), [
      ["fit model", 4, 5, 14, 5],
      ["it's", 6, 5, 10, 6],
      ["plain", 7, 4, 9, 8],
    ]);
  });

  it("still finds the jobs of a half-typed document", () => {
    const text = "version: 1\njobs:\n  prepare:\n    script: [echo, {\n  train:\n    needs: [prep\n  ev";
    assert.deepEqual(findJobKeys(text).map((k) => [k.name, k.line]), [["prepare", 2], ["train", 4]]);
  });

  it("ignores what is not a block mapping of jobs", () => {
    assert.deepEqual(findJobKeys("jobs: {a: {script: [x]}}\n"), []);
    assert.deepEqual(findJobKeys("jobs:\n  - a: 1\n"), []);
    assert.deepEqual(findJobKeys("stages:\n  train: 1\n"), []);
    assert.deepEqual(findJobKeys(""), []);
  });

  it("knows which job holds a line", () => {
    const keys = findJobKeys("jobs:\n  a:\n    script: [x]\n\n  b:\n    script: [y]\nparams: {}\n");
    assert.equal(jobAtLine(keys, 2)?.name, "a");
    assert.equal(jobAtLine(keys, 5)?.name, "b");
    assert.equal(jobAtLine(keys, 0), undefined);
    assert.equal(jobAtLine(keys, 6), undefined);
  });
});

describe("findPipelineName", () => {
  it("reads the top-level name, plain or quoted, not a job's", () => {
    assert.equal(findPipelineName(fs.readFileSync(iris, "utf8")), "iris");
    assert.equal(findPipelineName('jobs:\n  a:\n    name: no\nname: "my pipe"  # c\n'), "my pipe");
    assert.equal(findPipelineName("name: 'it''s'\n"), "it's");
    assert.equal(findPipelineName("version: 1\n"), undefined);
  });

  it("recognises pipeline files by name", () => {
    assert.ok(isPipelineFile("/a/b/reefline.yaml"));
    assert.ok(isPipelineFile("C:\\a\\nightly.reefline.yaml"));
    assert.ok(!isPipelineFile("/a/reefline.yml"));
    assert.ok(!isPipelineFile("/a/notreefline.yaml"));
  });
});
