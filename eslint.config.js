// Lint for every TypeScript and JavaScript file in the tree. Formatting is Prettier's job
// (eslint-config-prettier turns the overlapping rules off); this catches mistakes and keeps imports in order.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const LAYERS = {
  commands: {
    regex: '(^|/)commands/',
    message: 'Library code never imports a CLI command: lib/commands/ only parses, calls library code and prints.',
  },
  addon: {
    regex: '(^|/)(infra/native|bridge/)',
    allowTypeImports: true,
    message: 'lib/process/ and lib/glibc/ never load the addon (reading other processes needs only /proc).',
  },
};

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'build-*/', 'node_modules/', 'prebuilds/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { 'import-x': importX },
    rules: {
      'import-x/no-duplicates': 'error',
      'import-x/first': 'error',
      'import-x/order': [
        'error',
        {
          groups: [
            ['builtin', 'external'],
            ['internal', 'parent', 'sibling', 'index', 'type'],
          ],
          'newlines-between': 'always',
          alphabetize: { order: 'asc', caseInsensitive: true },
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-empty': ['error', { allowEmptyCatch: true }],
    },
  },
  // The layers of lib/ (ARCHITECTURE.md): library code never imports a CLI command, and
  // what reads other processes or only knows glibc never loads the addon. Type-only
  // imports load nothing, so they are allowed.
  {
    files: ['lib/**/*.ts'],
    ignores: ['lib/commands/**', 'lib/cli.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: [LAYERS.commands] }] },
  },
  {
    files: ['lib/process/**/*.ts', 'lib/glibc/**/*.ts', 'lib/compare/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [LAYERS.commands, LAYERS.addon] }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js', '**/*.cjs'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  prettier,
);
