import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Comparison = '>=' | '>' | '<=' | '<' | '=';

export interface Target {
  op: Comparison;
  value: number;
  /** How the target reads in the table when the bare number would not say it (e.g. "≥ 50% of bare"). */
  label?: string;
}

export interface Metric {
  metric: string;
  value: number | null;
  unit: string;
  target?: Target;
  /** null when there is no target or no value. */
  met: boolean | null;
}

export type BenchStatus = 'ok' | 'skipped' | 'error';

/** What one bench found: the figures for the table, plus whatever detail is worth keeping in its JSON. */
export class BenchReport {
  readonly metrics: Metric[] = [];
  readonly details: Record<string, unknown> = {};
  readonly notes: string[] = [];
  status: BenchStatus = 'ok';
  message: string | undefined;
  readonly startedAt = new Date();
  finishedAt: Date | undefined;

  constructor(
    readonly name: string,
    readonly description: string,
  ) {}

  add(metric: string, value: number | null, unit: string, target?: Target): Metric {
    const usable = value !== null && Number.isFinite(value);
    const entry: Metric = {
      metric,
      value: usable ? value : null,
      unit,
      target,
      met: target && usable ? compare(value, target) : null,
    };
    this.metrics.push(entry);
    return entry;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  skip(message: string): void {
    this.status = 'skipped';
    this.message = message;
  }

  fail(error: unknown): void {
    this.status = 'error';
    this.message = error instanceof Error ? error.message : String(error);
  }
}

function compare(value: number, target: Target): boolean {
  switch (target.op) {
    case '>=':
      return value >= target.value;
    case '>':
      return value > target.value;
    case '<=':
      return value <= target.value;
    case '<':
      return value < target.value;
    case '=':
      return value === target.value;
  }
}

const OP_TEXT: Record<Comparison, string> = { '>=': '≥', '>': '>', '<=': '≤', '<': '<', '=': '=' };

export function formatValue(value: number | null, unit: string): string {
  if (value === null) return '—';
  switch (unit) {
    case 'ms':
      return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ms`;
    case '%':
      return `${value.toFixed(0)} %`;
    case 's':
      return `${value.toFixed(2)} s`;
    default:
      return `${Math.round(value).toLocaleString('en-US')}${unit ? ` ${unit}` : ''}`;
  }
}

export function formatTarget(metric: Metric): string {
  if (!metric.target) return '';
  return metric.target.label ?? `${OP_TEXT[metric.target.op]} ${formatValue(metric.target.value, metric.unit)}`;
}

function formatMet(metric: Metric, status: BenchStatus): string {
  if (!metric.target) return '';
  if (metric.met === null) return status === 'ok' ? 'n/a' : status;
  return metric.met ? 'yes' : 'NO';
}

/** One plain-text table over every bench: bench | metric | value | target | met? */
export function renderTable(reports: readonly BenchReport[]): string {
  const header = ['bench', 'metric', 'value', 'target', 'met?'];
  const rows: string[][] = [];
  for (const report of reports) {
    if (report.metrics.length === 0) {
      rows.push([report.name, report.status === 'ok' ? '(no figures)' : `${report.status}: ${report.message ?? ''}`, '', '', '']);
      continue;
    }
    for (const metric of report.metrics) {
      rows.push([
        report.name,
        metric.metric,
        formatValue(metric.value, metric.unit),
        formatTarget(metric),
        formatMet(metric, report.status),
      ]);
    }
    if (report.status !== 'ok') rows.push([report.name, `${report.status}: ${report.message ?? ''}`, '', '', '']);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 2 ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join(' | ')
      .trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('-|-');
  const out = [line(header), rule];
  let previous = '';
  for (const row of rows) {
    if (previous && row[0] !== previous) out.push(rule);
    previous = row[0];
    out.push(line(row));
  }
  return out.join('\n');
}

export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

export interface RunEnvironment {
  database: 'embedded' | 'DATABASE_URL';
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
}

export function describeEnvironment(database: RunEnvironment['database']): RunEnvironment {
  const cores = cpus();
  return {
    database,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cores.length,
    cpuModel: cores[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
  };
}

/** Writes `bench/results/<name>.json` and returns its path. */
export function writeResult(report: BenchReport, environment: RunEnvironment): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${report.name}.json`);
  const finishedAt = report.finishedAt ?? new Date();
  const body = {
    name: report.name,
    description: report.description,
    status: report.status,
    message: report.message ?? null,
    startedAt: report.startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - report.startedAt.getTime(),
    environment,
    metrics: report.metrics.map((m) => ({
      ...m,
      value: m.value === null ? null : Math.round(m.value * 1000) / 1000,
      display: formatValue(m.value, m.unit),
      targetText: formatTarget(m) || null,
    })),
    notes: report.notes,
    details: report.details,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file;
}
