// Vitest hands the `ssr.resolve.conditions` of vitest.config.ts (which include `import`) to Node
// as --conditions, so inside test workers `require('is-promise')` from Express's router resolves
// to the package's ESM build and returns a namespace object instead of the function: every
// Express route would fail with "isPromise is not a function". Until the root config passes only
// `@keyhole/source` (and `node`) to Node, the CommonJS build is put in the require cache under the
// path the router will ask for. Test-only; nothing in the packages depends on it.
import { createRequire, Module } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const resolved = require.resolve('is-promise')
if (resolved.endsWith('.mjs')) {
  const cjsPath = join(dirname(resolved), 'index.js')
  const fn = require(cjsPath)
  const mod = new Module(resolved)
  mod.filename = resolved
  mod.exports = fn
  mod.loaded = true
  require.cache[resolved] = mod
}
