import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', '.chaos-build/**', 'node_modules/**', 'coverage/**', '.data/**', 'jest.config.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config (validated once).' },
      ],
    },
  },
  {
    // One provider port: only an adapter (src/modules/providers/<name>/) knows its provider's name,
    // headers and fields. Type positions (ProviderName unions) are fine; values are not.
    files: ['src/**/*.ts'],
    ignores: [
      'src/modules/providers/*/**',
      'src/modules/providers/provider-names.ts',
      'src/config/**',
      'src/bootstrap/**',
      '**/*.spec.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: ':not(TSLiteralType) > Literal[value=/^(google_calendar|office365_calendar)$/]',
          message:
            'Do not branch on a provider name outside src/modules/providers/<name>/: go through the CalendarProvider port.',
        },
        {
          selector: 'Literal[value=/(^x-goog-|^x-ms-|^validationToken$|^clientState$|@odata|^resourceData$)/i]',
          message: 'Provider headers and fields are read only inside src/modules/providers/<name>/.',
        },
        {
          selector: 'TemplateElement[value.raw=/(x-goog-|@odata|validationToken|clientState)/i]',
          message: 'Provider headers and fields are read only inside src/modules/providers/<name>/.',
        },
      ],
    },
  },
  {
    files: ['src/config/**', 'test/**', 'bench/**', 'scripts/**', 'ormconfig.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // Tool configuration in CommonJS (dependency-cruiser's rules).
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly', __dirname: 'readonly' } },
  },
);
