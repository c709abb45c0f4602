// `npm run check:cli-package` (CI, after `npm run build`): the published @keyhole/cli depends on
// exactly the third-party packages its built files import and on nothing it bundles, and its
// declaration file is self-contained (it imports Node's modules only), so installing the tarball
// alone gives working JavaScript and types.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { join } from 'node:path'

const cli = new URL('../packages/cli/', import.meta.url).pathname
const dist = join(cli, 'dist')
const pkg = JSON.parse(readFileSync(join(cli, 'package.json'), 'utf8'))

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for Node's own. */
function packageOf(specifier) {
  if (specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0])) return undefined
  const parts = specifier.split('/')
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]
}

/**
 * Bare specifiers of the static and dynamic imports esbuild and tsup wrote (double-quoted at the
 * start of a statement or in `import("...")`), so examples inside doc comments do not count.
 */
function importsOf(text) {
  const found = new Set()
  for (const match of text.matchAll(
    /^(?:import|export)\b[^;'"]*?(?:from\s*)?"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm,
  )) {
    const specifier = match[1] ?? match[2]
    if (!specifier.startsWith('.')) found.add(specifier)
  }
  return found
}

const problems = []
const imported = new Set()
for (const file of readdirSync(dist).filter((name) => name.endsWith('.js'))) {
  for (const specifier of importsOf(readFileSync(join(dist, file), 'utf8'))) {
    const name = packageOf(specifier)
    if (name) imported.add(name)
  }
}
if (imported.size === 0) problems.push('found no imports in dist/*.js: run `npm run build` first')
const dependencies = new Set(Object.keys(pkg.dependencies ?? {}))
for (const name of imported)
  if (!dependencies.has(name)) problems.push(`dist imports ${name}, which is not in dependencies`)
for (const name of dependencies)
  if (!imported.has(name))
    problems.push(`${name} is in dependencies but dist does not import it (bundled or unused)`)

// The CLI tests rebuild dist without declarations (KEYHOLE_CLI_SKIP_DTS): build it in full first.
const dts = existsSync(join(dist, 'index.d.ts')) ? readFileSync(join(dist, 'index.d.ts'), 'utf8') : ''
if (!dts) problems.push('dist/index.d.ts is missing: run `npm run build` first')
for (const specifier of importsOf(dts.replaceAll("'", '"'))) {
  if (packageOf(specifier))
    problems.push(`dist/index.d.ts imports ${specifier}: the declarations are not self-contained`)
}
if (readdirSync(dist).some((name) => /\.c[jt]s$/.test(name))) problems.push('dist ships CommonJS files')

if (problems.length > 0) {
  for (const problem of problems) console.error(`@keyhole/cli: ${problem}`)
  process.exit(1)
}
console.log(
  `@keyhole/cli: dependencies match the bundle's imports (${[...imported].sort().join(', ')}); d.ts self-contained`,
)
