import { defineConfig } from 'tsup'

// The CLI bundles the workspace packages from their sources so the binary runs without building them
// first; @keyhole/* are therefore not among its dependencies. It also bundles jose, hono and
// @hono/node-server: a start of `keyhole serve` then loads the parts of them it uses from a few
// chunks instead of resolving and evaluating about 100 modules (jose's index alone imports 70), which
// is a fifth of its start-up CPU time and ~3 MB of resident memory (bench/footprint.mjs); their
// versions are those of the lockfile when the CLI is built. The other third-party packages (ioredis,
// pg, prom-client, @peculiar/x509 and reflect-metadata, and @keyhole/aws's @smithy/signature-v4 and
// @aws-crypto/sha256-js) stay external and are imported dynamically, so each loads only when a command
// or flag needs it; tsup's code splitting puts every dynamically imported module in a chunk of its
// own. ESM only: nothing loads the CLI through require(). The bundled packages are devDependencies.
//
// The declaration file is self-contained too: `paths` points the d.ts build at @keyhole/core's
// sources, so the core types startServer's options use (RevocationStore, ReplayCache, Injector,
// IssuerOption, CertificateAuthority, Duration) are inlined instead of imported from a package the
// CLI does not depend on. They are structural, so a store from @keyhole/redis still fits.
export default defineConfig({
  // decrypt-worker: the worker thread of --decrypt-threads, loaded from beside the bundle.
  entry: {
    index: 'src/index.ts',
    bin: 'src/bin.ts',
    'decrypt-worker': '../core/src/node/decrypt-worker.ts',
  },
  format: ['esm'],
  // Tests and `npm start` only need the binary; they skip the (slow) declaration build.
  dts:
    process.env.KEYHOLE_CLI_SKIP_DTS === '1'
      ? false
      : {
          entry: 'src/index.ts',
          compilerOptions: {
            paths: {
              '@keyhole/core': ['../core/src/index.ts'],
              '@keyhole/core/node': ['../core/src/node.ts'],
            },
          },
        },
  clean: true,
  sourcemap: true,
  target: 'node20',
  noExternal: [/^@keyhole\//, 'jose', 'hono', /^hono\//, '@hono/node-server'],
  esbuildOptions(options) {
    options.conditions = ['@keyhole/source']
  },
})
