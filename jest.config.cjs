/**
 * NestJS 12 ships as ES modules, and Jest on Node 20 can only load those in its ESM mode
 * (`--experimental-vm-modules`, set by `npm test`). TypeScript is compiled by SWC with
 * decorator metadata; relative imports carry `.js` as Node requires, mapped back to `.ts` here.
 * @type {import('jest').Config}
 */
const swcTypeScript = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

// @fastify/static (CommonJS) requires content-disposition, which is ESM only: Node 20 can, Jest cannot.
const swcToCommonJs = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }];

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transformIgnorePatterns: ['/node_modules/(?!content-disposition/)'],
  transform: {
    '^.+\\.ts$': swcTypeScript,
    'node_modules/content-disposition/.+\\.js$': swcToCommonJs,
  },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/emulators/**/*.spec.ts', '<rootDir>/test/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
  maxWorkers: 2,
};
