// Lint enforces the layers (README "Architecture") and catches unhandled promises.
import js from '@eslint/js';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Layers, from the bottom: a folder may import the ones listed under it, never the ones above. */
const CORE = './main/runner';
const APP = './main/app';
const DESKTOP = './main/desktop';
const CLI = './main/cli';
const PRELOAD = './preload';
const RENDERER = './renderer';

const layerZones = [
  // The core is a library: plain Node, no faces, no contract.
  {
    target: CORE,
    from: [APP, DESKTOP, CLI, PRELOAD, RENDERER],
    message: 'main/runner (the core) imports nothing from the layers above it.',
  },
  // The application layer is Electron-free and face-neutral.
  { target: APP, from: [DESKTOP, CLI, RENDERER], message: 'main/app imports only the core and the contract.' },
  { target: CLI, from: [APP, DESKTOP, PRELOAD, RENDERER], message: 'the CLI is a face on the core only.' },
  { target: DESKTOP, from: [CLI, RENDERER], message: 'the desktop shell imports the app layer, the core and the contract.' },
  // The contract imports the core's schemas; never the layers that implement it.
  { target: PRELOAD, from: [APP, DESKTOP, CLI, RENDERER], message: 'preload/ is the contract and the bridge: schemas from the core only.' },
  // The bridge runs in the sandboxed preload: only the core's schema modules, no runtime code (no node:fs there).
  {
    target: PRELOAD,
    from: CORE,
    except: ['./config/schema.ts', './control/contract.ts', './errors.ts', './history/schema.ts'],
    message: 'preload/ imports only the core schema modules (config/schema, control/contract, errors, history/schema).',
  },
  // The renderer knows only window.sibyl: types from the contract and the shared vocabulary.
  { target: RENDERER, from: [APP, DESKTOP, CLI], message: 'renderer/ knows only window.sibyl and the contract.' },
  // …except the core's words (link state, phases, durations): pure, value-import free, shared by every face.
  {
    target: RENDERER,
    from: CORE,
    except: ['./vocabulary.ts'],
    message: 'renderer/ knows only window.sibyl, the contract and main/runner/vocabulary.ts.',
  },
  { target: RENDERER, from: PRELOAD, except: ['./contract.ts'], message: 'renderer/ imports the contract (types only), never the bridge.' },
];

export default tseslint.config(
  { ignores: ['node_modules/', 'out/', 'dist/', 'test-artifacts/', 'build/', 'docs/', 'test/lint/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'] })] },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Handlers implement promise-returning interfaces; many answer synchronously on purpose.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'import-x/no-restricted-paths': ['error', { zones: layerZones }],
      'import-x/no-cycle': 'off',
    },
  },
  {
    // The renderer runs in a sandboxed page: no Node built-ins, no Electron.
    files: ['renderer/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['node:*', 'electron', 'electron/*'], message: 'the renderer knows only window.sibyl' }] },
      ],
      // Values from the contract would pull zod and the core's schemas into the page.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/preload/contract.ts'], allowTypeImports: true, message: 'the renderer imports types only from the contract' },
          ],
        },
      ],
    },
  },
  {
    // The core and the app layer run in plain Node: Electron only in main/desktop and preload.
    files: ['main/runner/**/*.ts', 'main/app/**/*.ts', 'main/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['electron', 'electron/*'], message: 'Electron belongs to main/desktop only' }] },
      ],
    },
  },
  {
    // The renderer bundles the vocabulary: types from the core only, so no Node module, zod or
    // schema comes along into the page.
    files: ['main/runner/vocabulary.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['*', '**/*'], allowTypeImports: true, message: 'vocabulary.ts is bundled into the renderer: type imports only' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
