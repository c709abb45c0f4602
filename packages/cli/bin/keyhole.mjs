#!/usr/bin/env node
// The `keyhole` command. A published package ships dist/, so this only loads dist/bin.js. In a
// clone of the repository dist/ is not committed: the first run builds it (once, quietly), so
// `npx keyhole` works right after `npm install`, and later runs rebuild it when a source it bundles
// has changed.
import { existsSync } from 'node:fs'

const bin = new URL('../dist/bin.js', import.meta.url)
const builder = new URL('../scripts/ensure-built.mjs', import.meta.url)

if (existsSync(builder)) {
  const { ensureBuilt, isStale } = await import(builder.href)
  if (isStale()) {
    process.stderr.write('keyhole: building the CLI from source (once per change)...\n')
    try {
      ensureBuilt({ quiet: true })
    } catch (error) {
      process.stderr.write(`keyhole: ${error instanceof Error ? error.message : error}\n`)
      // A build that fails on a half-edited source still leaves the last good binary usable.
      if (!existsSync(bin)) process.exit(1)
      process.stderr.write('keyhole: running the previous build\n')
    }
  }
} else if (!existsSync(bin)) {
  process.stderr.write('keyhole: dist/bin.js is missing from this install of @keyhole/cli\n')
  process.exit(1)
}

await import(bin.href)
