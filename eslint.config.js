// ESLint (npm run lint): the recommended JavaScript and TypeScript rules, plus
// the type-aware rules that catch promises nobody awaits or handles.
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'data/', 'test-artifacts/', '.scratch/', 'tests/fixtures/', 'console/src/graphql-env.d.ts', 'src/worker/graphql-env.d.ts'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      // An unused name is an error, but `_` marks one kept on purpose (a skipped tuple slot or parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // An empty interface is how a map is opened to declaration merging (the bus's Topics).
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'always' }],
    },
  },
  {
    // The console runs in the browser (its vite.config.ts in Node).
    files: ['console/src/**'],
    languageOptions: { globals: globals.browser },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/only-throw-error': 'error',
    },
  },
  {
    files: ['tests/**', 'bench/**'],
    rules: {
      // Tests and benchmarks read GraphQL responses, untyped JSON, as `any` on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
