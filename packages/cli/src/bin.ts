#!/usr/bin/env node
import { run } from './run.js'

// No top-level await: tsup also emits a CommonJS build of this entry.
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
