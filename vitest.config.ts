import { defineConfig } from 'vitest/config'

// Workspace packages resolve to their TypeScript sources through the `@keyhole/source`
// export condition, so tests never depend on a previous build.
const conditions = ['@keyhole/source', 'import', 'module', 'node', 'default']

export default defineConfig({
  resolve: { conditions },
  // Vitest hands ssr.resolve.conditions to its worker processes as `node --conditions`, which also
  // steers CommonJS require(): with 'import' there, Express 5's router loaded is-promise's ESM
  // build and every Express middleware call failed. Only conditions that are safe for require.
  ssr: {
    resolve: {
      conditions: ['@keyhole/source', 'node', 'development|production'],
      externalConditions: ['@keyhole/source'],
    },
  },
  test: {
    include: [
      'packages/*/src/**/*.test.ts',
      'packages/*/test/**/*.test.ts',
      'examples/*/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.soak.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
