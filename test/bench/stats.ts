export interface Figure {
  figure: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number;
  target?: string;
  met?: boolean;
}

export function summarize(figure: string, unit: string, values: readonly number[], target?: { text: string; ok: (median: number) => boolean }): Figure {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  const median = sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? (sorted[Math.floor(mid)] ?? NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  const round = (n: number) => Math.round(n * 1000) / 1000;
  return {
    figure,
    unit,
    median: round(median),
    min: round(sorted[0] ?? NaN),
    max: round(sorted[sorted.length - 1] ?? NaN),
    runs: values.length,
    ...(target ? { target: target.text, met: target.ok(median) } : {}),
  };
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}
