import type { Schemas } from "./api/client";

type RunDetail = Schemas["RunDetailShape"];

export interface Comparison {
  runs: number[];
  params: { name: string; values: string[]; differs: boolean }[];
  metrics: { name: string; values: (number | null)[] }[];
}

/** Params side by side and every job's metrics (`job.metric`) across the runs. */
export function compareRuns(details: RunDetail[]): Comparison {
  const paramNames = [...new Set(details.flatMap((d) => Object.keys(d.params)))].sort();
  const params = paramNames.map((name) => {
    const values = details.map((d) => (name in d.params ? JSON.stringify(d.params[name]) : "—"));
    return { name, values, differs: new Set(values).size > 1 };
  });
  const metricNames = [...new Set(details.flatMap((d) => d.jobs.flatMap((j) => Object.keys(j.metrics).map((m) => `${j.name}.${m}`))))].sort();
  const metrics = metricNames.map((name) => ({
    name,
    values: details.map((d) => {
      for (const job of d.jobs) {
        const prefix = `${job.name}.`;
        if (name.startsWith(prefix) && name.slice(prefix.length) in job.metrics) return job.metrics[name.slice(prefix.length)];
      }
      return null;
    }),
  }));
  return { runs: details.map((d) => d.id), params, metrics };
}
