import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them
// first; @keyhole/* are therefore not among its dependencies, while the third-party packages the
// bundle imports (hono, @hono/node-server, jose, @peculiar/x509, ioredis, pg, and @keyhole/aws's
// @smithy/signature-v4 and @aws-crypto/sha256-js) are, and stay external. @keyhole/aws is imported
// dynamically, so it lands in its own chunk, loaded only when a command needs aws-sigv4. ESM only:
// nothing loads the CLI through require().
export default defineConfig({
  // decrypt-worker: the worker thread of --decrypt-threads, loaded from beside the bundle.
  entry: {
    index: 'src/index.ts',
    bin: 'src/bin.ts',
    'decrypt-worker': '../core/src/node/decrypt-worker.ts',
  },
  format: ['esm'],
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
