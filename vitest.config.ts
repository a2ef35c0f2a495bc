/**
 * Four projects (`npx vitest run --project unit`, or all of them with `npx vitest run`):
 *   unit         pure logic, commands against oclif, the built CLI's help and code cache: no daemon, no root
 *   contract     commands against a recording in-process gRPC server (test/helpers/fake-containerd.ts)
 *   conformance  our protos against containerd's (fetches them once)
 *   integration  the built CLI and library against a private real containerd, which only this project's
 *                globalSetup installs and starts (test/helpers/global-setup.ts)
 * The projects that run dist/ rebuild it first when it is older than src/ (test/helpers/fresh-dist.ts).
 */
import {defineConfig} from 'vitest/config'

const FRESH_DIST = 'test/helpers/fresh-dist.ts'

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // Set-up hooks do real work (bundles, images, private daemons): 10 s, vitest's default, was not enough
    // on a loaded CI machine (reliability-input's beforeAll).
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {name: 'unit', include: ['test/lib/**/*.test.ts', 'test/cli/**/*.test.ts', 'test/commands/**/*.test.ts'], globalSetup: [FRESH_DIST]},
      },
      {extends: true, test: {name: 'contract', include: ['test/contract/**/*.test.ts']}},
      {extends: true, test: {name: 'conformance', include: ['test/conformance/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000}},
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/helpers/**/*.test.ts', 'test/index.test.ts'],
          globalSetup: [FRESH_DIST, 'test/helpers/global-setup.ts'],
        },
      },
    ],
  },
})
