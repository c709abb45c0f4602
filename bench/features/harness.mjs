// Process plumbing for bench/features.mjs: the upstream, the proxy and the client each run in a
// child process of their own; this module forks them and talks to them over IPC.
import { fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const here = new URL('.', import.meta.url).pathname

/**
 * Forks `script` (in this folder); resolves once its first message arrives (its ports, or
 * { ready }). `ask(op, args)` is an IPC round trip; an answer with `error` rejects.
 */
export async function start(script, args = []) {
  const proc = fork(join(here, script), args, { execArgv: ['--expose-gc'], stdio: 'inherit' })
  let nextId = 0
  const waiting = new Map()
  const first = await new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before starting`)))
    proc.on('message', (message) => {
      if (message.id === undefined) resolve(message)
      else waiting.get(message.id)?.(message)
    })
  })
  proc.removeAllListeners('exit')
  return {
    ...first,
    proc,
    ask(op, extra = {}) {
      const id = ++nextId
      return new Promise((resolve, reject) => {
        waiting.set(id, (m) => {
          waiting.delete(id)
          if (m.error) reject(new Error(`${script} ${op}: ${m.error}`))
          else resolve(m.result ?? m)
        })
        proc.send({ ...extra, op, id })
      })
    },
    /** Resident set size, in bytes, read from /proc. */
    rss() {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024
    },
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve()
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
        proc.once('exit', () => {
          clearTimeout(timer)
          resolve()
        })
        proc.send({ op: 'exit' })
      })
    },
  }
}
