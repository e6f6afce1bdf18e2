import { transformFile } from '@swc/core';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/** The folders the service's entry point (`src/main.ts`) reaches. */
const SOURCE_DIRS = ['src', 'migrations', 'emulators'];

/**
 * Compiles the service for the chaos test in a second or two instead of `tsc`'s minute: SWC strips
 * the types file by file (no type check; `npm run lint` and the test suite's own compile do that),
 * with the decorator metadata Nest needs, the same options as jest.config.cjs. The output mirrors
 * dist/ (`<outDir>/src/main.js`) inside the repository, so node_modules and the package's
 * `"type": "module"` apply. Used by test/chaos; `npm run chaos` builds dist/ with tsc.
 */
export async function swcBuild(root: string, outDir: string): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  const files = SOURCE_DIRS.flatMap((dir) => walk(join(root, dir))).filter(
    (file) => file.endsWith('.ts') && !file.endsWith('.spec.ts') && !file.endsWith('.d.ts'),
  );
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transformFile(file, {
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          keepClassNames: true,
        },
        module: { type: 'es6' },
        sourceMaps: false,
        swcrc: false,
      });
      const out = join(outDir, relative(root, file)).replace(/\.ts$/, '.js');
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, code);
    }),
  );
  return join(relative(root, outDir), 'src', 'main.js');
}

function walk(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
