import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them first.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm', 'cjs'],
  dts: { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@keyhole\//],
  esbuildOptions(options) {
    options.conditions = ['@keyhole/source']
  },
})
