// `npm run attw`: checks every publishable package's every subpath with @arethetypeswrong/cli, on the
// tarball npm would publish (`attw --pack`), so run `npm run build` first. Packages that ship ESM and
// CommonJS are checked under the node16 profile (both module systems of Node; node10's resolution,
// which ignores `exports` and so cannot see subpaths, is not a target: engines.node >= 20.19);
// ESM-only packages (no `require` condition) under the esm-only profile.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('..', import.meta.url).pathname
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const dirs = rootPkg.workspaces.filter((dir) => dir.startsWith('packages/'))

const hasRequire = (value) =>
  value !== null &&
  typeof value === 'object' &&
  Object.entries(value).some(([key, inner]) => key === 'require' || hasRequire(inner))

const failed = []
for (const dir of dirs) {
  const pkg = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8'))
  if (pkg.private) continue
  if (!existsSync(join(root, dir, 'dist'))) {
    console.error(`${pkg.name}: no dist/ — run \`npm run build\` first`)
    failed.push(pkg.name)
    continue
  }
  const profile = hasRequire(pkg.exports) ? 'node16' : 'esm-only'
  console.log(`\n${pkg.name} (${dir}, profile ${profile})`)
  const result = spawnSync('attw', ['--pack', dir, '--profile', profile, '--format', 'table-flipped'], {
    cwd: root,
    stdio: 'inherit',
    // npm run puts node_modules/.bin on PATH.
    env: process.env,
  })
  if (result.status !== 0) failed.push(pkg.name)
}
if (failed.length > 0) {
  console.error(`\nattw found problems in: ${failed.join(', ')}`)
  process.exit(1)
}
console.log(`\nattw: ${dirs.length} packages, no problems`)
