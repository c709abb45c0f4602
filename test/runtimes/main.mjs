// Entry point for Node, Bun and Deno: serves the recording upstream with the runtime's own
// server, runs the suite and exits non-zero on any failure.
import { runChecks } from './run.mjs'
import { serve } from './serve.mjs'
import { checks, servedChecks } from './suite.mjs'
import { createUpstream } from './upstream.mjs'

const { Bun, Deno } = /** @type {any} */ (globalThis)
const runtime = Bun ? `bun ${Bun.version}` : Deno ? `deno ${Deno.version.deno}` : `node ${process.version}`

// Runtimes warn through console.warn about APIs used in a way they dislike (Deno.serve warns
// once when a handler reads request.signal). Such a warning is a finding: record it, still show it.
const warnings = []
for (const method of /** @type {const} */ (['warn', 'error'])) {
  const original = console[method]
  console[method] = (...args) => {
    warnings.push(args.map(String).join(' '))
    original.apply(console, args)
  }
}
const noWarnings = {
  name: 'the runtime printed no warning',
  async run() {
    if (warnings.length > 0) throw new Error(`warnings:\n${warnings.join('\n')}`)
  },
}

const server = await serve(createUpstream().handle)
let result
try {
  const all = [...checks, ...servedChecks, noWarnings]
  result = await runChecks(all, { upstreamUrl: server.url, serve }, (line) => console.log(line))
} finally {
  await server.close()
}
console.log(`# ${runtime}`)
console.log(`${runtime.split(' ')[0]}: ${result.passed} passed, ${result.failed} failed`)
// Deno 2 has `process` too, but its own exit is the documented one there.
if (Deno) Deno.exit(result.failed === 0 ? 0 : 1)
else process.exit(result.failed === 0 ? 0 : 1)
