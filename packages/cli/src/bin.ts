#!/usr/bin/env node
import { run } from './run.js'

// Loaded by bin/keyhole.mjs (the package's bin), which builds dist/ first in a fresh clone.
run(process.argv.slice(2)).then((code) => {
  process.exitCode = code
})
