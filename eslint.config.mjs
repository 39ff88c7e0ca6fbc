import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // docs/measurements holds the one-off scripts that made a measurement, kept as they ran.
  { ignores: ['dist/', 'node_modules/', '.device/', 'coverage/', 'tmp/', 'out/', 'docs/measurements/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Synchronous tensor reads throw on webgpu in Node (no OffscreenCanvas) and stall GPUs: the library and CLI
    // read through lib/backend/readTensor.ts.
    files: ['lib/**/*.ts', 'bin/**/*.ts', 'converters/**/*.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        ...['dataSync', 'arraySync', 'bufferSync'].map((property) => ({
          property,
          message:
            'synchronous tensor reads fail on webgpu: use readValues/readScalar (lib/backend/readTensor)',
        })),
      ],
    },
  },
  {
    // Build scripts run in Node.
    files: ['**/*.mjs'],
    languageOptions: { globals: { URL: 'readonly', process: 'readonly', console: 'readonly' } },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: {
      globals: { module: 'writable', require: 'readonly', __dirname: 'readonly', process: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
