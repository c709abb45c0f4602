// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${API_TOKEN} is literal text in the printed command
// `npm start` (scripts/start.mjs): builds if needed, creates development keys, serves, prints how to use it.
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildCli, tempDir } from './cli.js'

const root = new URL('../../..', import.meta.url).pathname
let dir: string
let remove: () => Promise<void>

beforeAll(async () => {
  buildCli()
  ;({ dir, remove } = await tempDir())
}, 300_000)
afterAll(() => remove())

function start(): {
  child: ChildProcess
  output: () => string
  jwksUrl: Promise<string>
  exit: Promise<number | null>
} {
  const child = spawn(process.execPath, [join(root, 'scripts/start.mjs')], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PORT: '0', KEYHOLE_DEV_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const jwksUrl = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8')
      const match = /JWKS URL: (http:\/\/\S+)/.exec(output)
      if (match && output.includes('kill -HUP')) resolve(match[1] as string)
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.once('exit', () => reject(new Error(`npm start exited early:\n${output}`)))
  })
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return { child, output: () => output, jwksUrl, exit }
}

describe('npm start', () => {
  it('creates a development keyring on first run, serves its JWKS, and prints a mint command', async () => {
    const first = start()
    try {
      const jwksUrl = await first.jwksUrl
      const jwks = (await (await fetch(jwksUrl)).json()) as { keys: Array<{ kid: string }> }
      const keys = JSON.parse(await readFile(join(dir, 'keys.json'), 'utf8')) as {
        keys: Array<{ kid: string; use: string }>
      }
      // The JWKS serves the decryption key; the issuer key stays in the file and signs.
      expect(jwks.keys.map((key) => key.kid)).toEqual(
        keys.keys.filter((key) => key.use === 'enc').map((key) => key.kid),
      )
      expect(keys.keys.map((key) => key.use)).toEqual(['enc', 'sig'])
      expect((await stat(join(dir, 'keys.json'))).mode & 0o777).toBe(0o600)
      expect((await stat(join(dir, 'admin-token'))).mode & 0o777).toBe(0o600)
      const output = first.output()
      expect(output).toContain('created a development key set')
      expect(output).toContain('mint --keys ')
      expect(output).toContain("--header 'Authorization: Bearer ${API_TOKEN}'")
      expect(output).not.toContain((await readFile(join(dir, 'admin-token'), 'utf8')).trim())
      expect(new URL(jwksUrl).hostname).toBe('127.0.0.1')
    } finally {
      first.child.kill('SIGTERM')
    }
    expect(await first.exit).toBe(0)

    // The second run keeps the keys, so tokens minted before a restart still open.
    const before = await readFile(join(dir, 'keys.json'), 'utf8')
    const second = start()
    try {
      await second.jwksUrl
      expect(second.output()).not.toContain('created a development key set')
      expect(await readFile(join(dir, 'keys.json'), 'utf8')).toBe(before)
    } finally {
      second.child.kill('SIGTERM')
    }
    expect(await second.exit).toBe(0)
  })
})
