// The Runs view's model from the CLI's and the API's JSON (shapes as documented in README.md).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  applyStateEvent, currentRun, detailFromJson, jobDescription, jobMatches, runDescription, runFromJson,
  runsFromJson, stateIcon, statusText,
} from "../src/runsModel";

const cliRun = {
  id: 12, pipeline: "iris", state: "failed", reason: "failed: train", trigger: "cli", params: { lr: 0.1 },
  spec_path: "/home/me/iris/reefline.yaml", created_at: "2025-01-31T10:00:00+00:00",
  started_at: "2025-01-31T10:00:00.1+00:00", last_started_at: "2025-01-31T10:00:00.1+00:00",
  finished_at: "2025-01-31T10:00:04.3+00:00", duration: 4.2,
};

const cliJob = {
  name: "train[model=tree]", job: "train", stage: "train", matrix: { model: "tree" }, needs: ["prepare"],
  state: "failed", reason: null, attempts: 2, exit_code: 3, allow_failure: false, cached_from_job_id: null,
  cached_from_run_id: null, started_at: "2025-01-31T10:00:01+00:00", finished_at: "2025-01-31T10:00:02.2+00:00",
  duration: 1.2, outputs: [], metrics: {}, attempt_history: [],
};

// GET /api/runs/{id}: the same shape as `show --json` (services/shapes.py), here a live run.
const apiDetail = {
  id: 5, pipeline: "iris", state: "running", trigger: "api", reason: null, params: {}, spec_path: "reefline.yaml",
  revision_id: 2, triggered_by: 1, created_at: "2025-01-31T10:00:00+00:00", started_at: "2025-01-31T10:00:01+00:00",
  last_started_at: "2025-01-31T10:00:01+00:00", finished_at: null, duration: null,
  jobs: [
    { ...cliJob, name: "prepare", job: "prepare", stage: "prepare", matrix: {}, needs: [], state: "cached", attempts: 0,
      exit_code: null, cached_from_job_id: 17, cached_from_run_id: 4, started_at: null, finished_at: null, duration: null },
    { ...cliJob, state: "running", attempts: 1, exit_code: null, started_at: "2025-01-31T10:00:02+00:00",
      finished_at: null, duration: null },
  ],
  history: [],
};
const T0 = Date.parse("2025-01-31T10:00:00Z");

describe("runs from the CLI", () => {
  it("reads a run of `runs --json`: ISO times, the duration", () => {
    const run = runFromJson(cliRun);
    assert.equal(run.id, 12);
    assert.equal(run.state, "failed");
    assert.equal(run.startedAt, Date.parse("2025-01-31T10:00:00.100Z"));
    assert.equal(run.finishedAt, Date.parse("2025-01-31T10:00:04.300Z"));
    assert.equal(run.duration, 4.2);
  });

  it("reads `show --json` with its jobs", () => {
    const detail = detailFromJson({ ...cliRun, jobs: [cliJob], history: [] });
    assert.equal(detail.jobs.length, 1);
    const [job] = detail.jobs;
    assert.equal(job.name, "train[model=tree]");
    assert.equal(job.job, "train");
    assert.equal(job.attempts, 2);
    assert.equal(job.exitCode, 3);
    assert.equal(jobDescription(job), "failed · 1.2s · exit 3 · attempt 2");
  });

  it("refuses what is not a run, naming the field", () => {
    assert.throws(() => runsFromJson({}), /not a list/);
    assert.throws(() => runFromJson({ ...cliRun, id: "12" }), /"id" is not a number/);
    assert.throws(() => runFromJson({ ...cliRun, started_at: "yesterday" }), /"started_at" is not a time/);
  });
});

describe("runs from the API", () => {
  it("reads a live run's detail: jobs, attempts, where a cached job came from", () => {
    const detail = detailFromJson(apiDetail);
    assert.equal(detail.id, 5);
    assert.equal(detail.duration, null);
    assert.deepEqual(detail.jobs.map((j) => [j.name, j.state, j.attempts]), [["prepare", "cached", 0], ["train[model=tree]", "running", 1]]);
    assert.equal(jobDescription(detail.jobs[0]), "cached from #4");
    assert.equal(jobDescription(detail.jobs[1], T0 + 7_000), "running · 5.0s");
  });

  it("applies live state events (epoch seconds in `at`) to the run and its jobs", () => {
    const detail = detailFromJson(apiDetail);
    const t = T0 / 1000;
    assert.ok(applyStateEvent(detail, { job: "train[model=tree]", from: "running", to: "failed", at: t + 4.5, reason: null, attempt: 1 }));
    assert.equal(detail.jobs[1].state, "failed");
    assert.equal(detail.jobs[1].duration, 2.5);
    assert.ok(!applyStateEvent(detail, { job: "train[model=tree]", from: "running", to: "failed", at: t + 4.5, reason: null, attempt: 1 }));
    assert.ok(!applyStateEvent(detail, { job: "no-such-job", from: null, to: "running", at: t, reason: null, attempt: null }));
    assert.ok(applyStateEvent(detail, { job: null, from: "running", to: "failed", at: "2025-01-31T10:00:05+00:00", reason: "failed: train", attempt: null }));
    assert.equal(detail.state, "failed");
    assert.equal(detail.duration, 4);
  });
});

describe("how runs are shown", () => {
  it("gives each state its icon", () => {
    assert.deepEqual(stateIcon("success"), { icon: "pass", color: "testing.iconPassed" });
    assert.deepEqual(stateIcon("failed"), { icon: "error", color: "testing.iconFailed" });
    assert.equal(stateIcon("running").icon, "sync~spin");
    assert.equal(stateIcon("cached").icon, "history");
    assert.equal(stateIcon("some-future-state").icon, "question");
  });

  it("describes a finished run and a running one", () => {
    const run = runFromJson(cliRun);
    assert.equal(runDescription(run, Date.parse("2025-01-31T10:05:00Z")), "failed · 4.2s · 5 min ago");
    const live = runFromJson(apiDetail);
    assert.equal(runDescription(live, T0 + 1000 + 75_000), "running · 1m 15s · 1 min ago");
  });

  it("follows the newest active run in the status bar, else the newest", () => {
    const a = runFromJson({ ...cliRun, id: 1, state: "success" });
    const b = runFromJson({ ...cliRun, id: 2, state: "running" });
    const c = runFromJson({ ...cliRun, id: 3, state: "failed" });
    assert.equal(currentRun([a, b, c])?.id, 2);
    assert.equal(currentRun([a, c])?.id, 3);
    assert.equal(currentRun([]), undefined);
    assert.equal(statusText(b), "$(sync~spin) Reefline #2 running");
    assert.equal(statusText(undefined), "$(circle-outline) Reefline");
  });

  it("matches a matrix job's expansions by its name, and nothing else", () => {
    assert.ok(jobMatches("train[model=tree]", "train"));
    assert.ok(jobMatches("train", "train"));
    assert.ok(!jobMatches("trainer", "train"));
    assert.ok(!jobMatches("pretrain[x=1]", "train"));
  });
});
