// What every benchmark returns (see run.ts).

export interface BenchResult {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  /** The same quantity for the reference the issue names (plain text, raw LevelDB ...), or null. */
  baseline: number | null;
  /** value / baseline, or null without a baseline. */
  ratio: number | null;
}

export type Bench = () => Promise<BenchResult[]>;

export function result(bench: string, metric: string, value: number, unit: string, baseline: number | null = null): BenchResult {
  return { bench, metric, value, unit, baseline, ratio: baseline ? value / baseline : null };
}

