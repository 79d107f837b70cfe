import type { Frame, Trace } from "./traceGraph";

// A two-frame backtrace: train (stale input) made from prepare (cached from run 3).
export const SHA_DATA = "a".repeat(64);
const SHA_MODEL = "b".repeat(64);
const link = (name: string, sha: string, frame: number | null = null, stale: string | null = null) => ({
  name,
  path: `${name}.txt`,
  type: "file",
  sha256: sha,
  size: 3,
  frame,
  stale,
  producer_run: frame === null ? null : 4,
  producer_component_run: null,
});
export function frame(number: number, job: string, extra: Partial<Frame> = {}): Frame {
  return {
    number,
    job_id: number + 10,
    job,
    run_id: 5,
    pipeline: "flow",
    at: null,
    commit: "0123456789abcdef",
    branch: "main",
    dirty: false,
    author: "alice",
    params: {},
    cached_from_run: null,
    cached_from_job_id: null,
    stale: [],
    inputs: [],
    outputs: [],
    derived_from: null,
    kind: "job",
    component_run_id: null,
    in_job: null,
    status: null,
    exception: null,
    ...extra,
  };
}

export const TRACE: Trace = {
  target: "train.model",
  sha256: SHA_MODEL,
  direction: "back",
  truncated: false,
  hidden: 0,
  frames: [
    frame(0, "train", { inputs: [link("data", SHA_DATA, 1, "made 40 days ago")], outputs: [link("model", SHA_MODEL)] }),
    frame(1, "prepare", { run_id: 4, cached_from_run: 3, outputs: [link("data", SHA_DATA)] }),
  ],
};

