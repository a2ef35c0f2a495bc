// ESLint (flat config): typescript-eslint's recommended rules over our TypeScript; src/gen is generated.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'node_modules/', 'src/gen/', 'coverage/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        __dirname: 'readonly',
        module: 'writable',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        performance: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        fetch: 'readonly',
        structuredClone: 'readonly',
        queueMicrotask: 'readonly',
        NodeJS: 'readonly',
      },
    },
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters already check this, with the `_` convention.
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'}],
    },
  },
  // bin/run.js and the scripts are plain CommonJS / Node: require is how they load things.
  {files: ['**/*.js', '**/*.cjs'], rules: {'@typescript-eslint/no-require-imports': 'off'}},
  // Tests read untyped JSON and CLI output (any), and match terminal escape sequences on purpose (\x1b).
  {files: ['test/**'], rules: {'@typescript-eslint/no-explicit-any': 'off', 'no-control-regex': 'off'}},
)
