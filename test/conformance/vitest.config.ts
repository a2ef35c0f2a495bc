// Runs only the proto conformance test, without the shared containerd globalSetup:
//   npx vitest run --config test/conformance/vitest.config.ts
import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/conformance/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
})
