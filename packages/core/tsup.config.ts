import { defineConfig } from 'tsup'

export default defineConfig({
  // The decryption pool's worker is a file of its own, loaded by URL from beside the bundle.
  entry: { index: 'src/index.ts', node: 'src/node.ts', 'decrypt-worker': 'src/node/decrypt-worker.ts' },
  // import.meta.url (where the worker is found) in the CommonJS build too.
  shims: true,
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
})
