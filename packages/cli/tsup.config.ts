import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them
// first; their third-party dependencies (hono, @hono/node-server, ioredis, pg) are the CLI's own.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm', 'cjs'],
  // Tests and `npm start` only need the binary; they skip the (slow) declaration build.
  dts: process.env.KEYHOLE_CLI_SKIP_DTS === '1' ? false : { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@keyhole\//],
  esbuildOptions(options) {
    options.conditions = ['@keyhole/source']
  },
})
