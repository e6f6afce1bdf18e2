import { ESLint } from 'eslint';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const eslint = new ESLint({ cwd: root });

async function problems(code: string, file: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => m.message);
}

/** "Adding a provider is one folder": nothing outside src/modules/providers/<name>/ may know a provider. */
describe('provider boundary (npm run lint)', () => {
  it.each([
    ['a branch on a provider name', `export const f = (p: string) => (p === 'office365_calendar' ? 1 : 2);`],
    ['a Google header', `export const f = (h: Record<string, string>) => h['x-goog-channel-id'];`],
    ['a Graph field', `export const f = (b: { value: Array<{ clientState: string }> }) => b.value.map((v) => v['clientState']);`],
    ['a Graph field in a template', 'export const f = (x: unknown) => `${String(x)}?validationToken=1`;'],
  ])('refuses %s in another module', async (_name, code) => {
    expect(await problems(code, 'src/modules/sync/leak.ts')).toHaveLength(1);
    expect(await problems(code, 'src/modules/subscriptions/leak.ts')).toHaveLength(1);
  });

  it('allows the same code inside an adapter, and provider names as types anywhere', async () => {
    expect(
      await problems(`export const f = (p: string) => p === 'office365_calendar';`, 'src/modules/providers/microsoft/x.ts'),
    ).toEqual([]);
    expect(await problems(`export type Source = 'api' | 'google_calendar';`, 'src/modules/bookings/x.ts')).toEqual([]);
  });

  it('holds for the code base as it is', async () => {
    const results = await eslint.lintFiles(['src/**/*.ts']);
    const leaks = results.flatMap((r) =>
      r.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => `${r.filePath}:${m.line} ${m.message}`),
    );
    expect(leaks).toEqual([]);
  });
});
