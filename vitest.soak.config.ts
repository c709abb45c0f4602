import { defineConfig } from 'vitest/config'

// `npm run soak`: only the long-running *.soak.test.ts files, one at a time, with their output shown.
const conditions = ['@keyhole/source', 'import', 'module', 'node', 'default']

export default defineConfig({
  resolve: { conditions },
  // As in vitest.config.ts: these reach the workers as `node --conditions`, so only require-safe ones.
  ssr: {
    resolve: {
      conditions: ['@keyhole/source', 'node', 'development|production'],
      externalConditions: ['@keyhole/source'],
    },
  },
  test: {
    include: ['test/**/*.soak.test.ts', 'packages/*/test/**/*.soak.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
