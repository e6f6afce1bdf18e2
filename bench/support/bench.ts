import type { BenchApp } from './bench-env.js';
import type { BenchReport } from './report.js';

export interface BenchContext {
  /** The application, its database and the Google emulator, shared by the benches of one run. */
  env: BenchApp;
  log(line: string): void;
}

export interface Bench {
  name: string;
  description: string;
  /** How long the bench may take before the runner gives up on it; 120 s when not set. */
  timeoutMs?: number;
  /** Fills `report`; throws only when the bench could not be run at all. */
  run(ctx: BenchContext, report: BenchReport): Promise<void>;
}
