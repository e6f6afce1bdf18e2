import { rmSync } from 'node:fs';

// Jest loads this file outside the test runtime, so it imports no project files.
export default async function globalTeardown(): Promise<void> {
  const state = globalThis as Record<string, unknown>;
  const running = state.__calsyncTestPg as { server: { stop(): Promise<void> }; dir: string } | undefined;
  if (!running) return;
  await running.server.stop();
  rmSync(running.dir, { recursive: true, force: true });
  state.__calsyncTestPg = undefined;
}
