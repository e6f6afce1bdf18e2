/**
 * Module boundaries, enforced by `npm run lint` (`depcruise src --config .dependency-cruiser.cjs`);
 * `test/architecture/module-boundaries.spec.ts` proves each rule refuses a violation.
 *
 * A module (`src/modules/<name>/`) reaches another only through that module's public surface:
 * - `index.ts`: what the module offers (commands, queries, events, errors, services its Nest
 *   module exports, DTO and record types);
 * - `*.module.ts`: its Nest module, for `imports: [...]`;
 * - `ports/`: ports it owns (an abstract class doubling as the injection token);
 * - `read-models/`: its declared read models (each file says what it reads, for whom);
 * - `*.jobs.ts`: its durable jobs' definitions (`defineJob`), which others may enqueue;
 * - for `providers`, the port itself: the files at its root (the adapters in `providers/<name>/`
 *   stay private, and an ESLint rule keeps provider names and fields inside them).
 * Entities, repositories, handlers, domain code and everything else are internal to their module.
 */

/** The public surface of any module, as paths relative to the repository. */
const PUBLIC_SURFACE = [
  '^src/modules/[^/]+/index[.]ts$',
  '^src/modules/[^/]+/[^/]+[.]module[.]ts$',
  '^src/modules/[^/]+/[^/]+[.]jobs[.]ts$',
  '^src/modules/[^/]+/ports/',
  '^src/modules/[^/]+/read-models/',
  '^src/modules/providers/[^/]+[.]ts$',
];

/**
 * Imports of another module's internals that are known and on their way out: the files belong to
 * a refactor in progress (issue 9), each until the port or public export it should use lands.
 * Each entry allows exactly these targets from exactly this file; anything else still fails.
 */
const KNOWN_VIOLATIONS = [];

const exactly = (path) => `^${path.replace(/[.]/g, '[.]')}$`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'module-public-surface',
      comment:
        'A module imports another only through its public surface (index.ts, *.module.ts, ports/, read-models/, *.jobs.ts; ' +
        'for providers the port at its root), never its entities, repositories or other internals. See docs/architecture.md.',
      severity: 'error',
      from: { path: '^src/modules/([^/]+)/', pathNot: KNOWN_VIOLATIONS.map((v) => exactly(v.from)) },
      to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/$1/', ...PUBLIC_SURFACE] },
    },
    ...KNOWN_VIOLATIONS.map((known) => ({
      name: 'module-public-surface',
      comment: `Known exception (issue 9): ${known.from} may still import ${known.to.join(', ')}; nothing else.`,
      severity: 'error',
      from: { path: exactly(known.from) },
      to: {
        path: '^src/modules/[^/]+/',
        pathNot: [`^${known.from.split('/').slice(0, 3).join('/')}/`, ...PUBLIC_SURFACE, ...known.to.map(exactly)],
      },
    })),
    {
      name: 'no-src-to-test',
      comment: 'Nothing in src/ imports test/ (unit specs beside the code included: test helpers stay in test/).',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'emulators-only-from-sandbox',
      comment:
        'The emulators are for tests and the development sandbox: src/ reaches them only from src/bootstrap/sandbox.ts ' +
        '(and from unit specs, which are tests).',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/bootstrap/sandbox[.]ts$', '[.]spec[.]ts$'] },
      to: { path: '^emulators/' },
    },
    {
      name: 'sandbox-loads-emulators-lazily',
      comment: 'src/bootstrap/sandbox.ts loads an emulator only when a sandbox starts (a dynamic import; types are free).',
      severity: 'error',
      from: { path: '^src/bootstrap/sandbox[.]ts$' },
      to: { path: '^emulators/', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'extensions-through-public-api',
      comment:
        'An extension (src/extensions/) reaches calsync only through its public API, src/index.ts, as a team extending ' +
        'calsync would: deep paths are internals that may change.',
      severity: 'error',
      from: { path: '^src/extensions/' },
      to: { path: '^src/', pathNot: ['^src/index[.]ts$', '^src/extensions/'] },
    },
    {
      name: 'no-circular',
      comment:
        'No import cycles in src/: they make load order fragile (Nest evaluates decorators, module imports included, ' +
        'as a file loads). A cycle closed only by type imports is erased at compile time and allowed.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

// For test/architecture/module-boundaries.spec.ts (which names exceptions no longer needed); not
// enumerable, so dependency-cruiser's configuration schema does not see it.
Object.defineProperty(module.exports, 'knownViolations', { value: KNOWN_VIOLATIONS, enumerable: false });
