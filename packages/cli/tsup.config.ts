import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them first.
export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm', 'cjs'],
  // Tests and `npm start` only need the binary; they skip the (slow) declaration build.
  dts: process.env.KEYHOLE_CLI_SKIP_DTS === '1' ? false : { entry: 'src/index.ts' },
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@keyhole\//],
  // Bundled CommonJS dependencies (ioredis, via @keyhole/redis) call require() for Node built-ins;
  // an ES module has no require, so give each ESM output file one.
  banner: (ctx) =>
    ctx.format === 'esm'
      ? {
          js: "import { createRequire as __keyholeCreateRequire } from 'node:module'; const require = __keyholeCreateRequire(import.meta.url);",
        }
      : {},
  esbuildOptions(options) {
    options.conditions = ['@keyhole/source']
  },
})
