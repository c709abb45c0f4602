import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them
// first; their third-party dependencies (hono, @hono/node-server, ioredis, pg) are the CLI's own.
export default defineConfig({
  // decrypt-worker: the worker thread of --decrypt-threads, loaded from beside the bundle.
  entry: {
    index: 'src/index.ts',
    bin: 'src/bin.ts',
    'decrypt-worker': '../core/src/node/decrypt-worker.ts',
  },
  format: ['esm', 'cjs'],
  // Tests and `npm start` only need the binary; they skip the (slow) declaration build.
  dts: process.env.KEYHOLE_CLI_SKIP_DTS === '1' ? false : { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@keyhole\//],
  // import.meta.url (where the decrypt worker is found) in the CommonJS build too.
  shims: true,
  esbuildOptions(options) {
    options.conditions = ['@keyhole/source']
  },
})
