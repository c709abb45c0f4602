// Process plumbing for bench/proxy.mjs: the upstream, the servers and the load generator each
// run in a child process of their own; this module starts them and talks to them over IPC.
import { execFile, fork } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const here = new URL('.', import.meta.url).pathname

/** A forked child that sends { port } once listening; `ask(op)` is an IPC round trip. */
function child(script, args, execArgv = []) {
  const proc = fork(join(here, script), args, { execArgv: ['--expose-gc', ...execArgv], stdio: 'inherit' })
  let nextId = 0
  const waiting = new Map()
  const ready = new Promise((resolve, reject) => {
    proc.once('error', reject)
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)))
    proc.on('message', (message) => {
      if (message.port !== undefined) resolve(message.port)
      else waiting.get(message.id)?.(message)
    })
  })
  return {
    proc,
    ready,
    ask(op, extra) {
      const id = ++nextId
      return new Promise((resolve) => {
        waiting.set(id, (m) => {
          waiting.delete(id)
          resolve(m)
        })
        proc.send({ op, id, ...extra })
      })
    },
    /** Resident set size and its peak since the last `resetPeak()`, in bytes, read from /proc. */
    rss() {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8')
      const kb = (name) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024
      return { rss: kb('VmRSS'), peak: kb('VmHWM') }
    },
    resetPeak() {
      // Writing 5 to clear_refs resets VmHWM (the peak RSS) to the current RSS.
      writeFileSync(`/proc/${proc.pid}/clear_refs`, '5')
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

export async function startUpstream() {
  const c = child('upstream.mjs', [])
  const port = await c.ready
  return { ...c, port, origin: `http://127.0.0.1:${port}` }
}

/** Starts one server of bench/proxy/server.mjs (`kind` and options as documented there). */
export async function startServer(config, { execArgv } = {}) {
  const c = child('server.mjs', [JSON.stringify(config)], execArgv)
  const port = await c.ready
  // Where open mode starts: `keyhole serve` serves it at `/`, the others under `/proxy`.
  const prefix = config.kind === 'keyhole-serve' ? '' : '/proxy'
  return { ...c, port, origin: `http://127.0.0.1:${port}`, prefix, kind: config.kind }
}

/** Runs bench/proxy/load.mjs in a child process and returns what it printed. */
export function load(config) {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(here, 'load.mjs'), JSON.stringify(config)],
      { maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`load generator failed: ${stderr || error.message}`))
        resolve(JSON.parse(stdout.trim().split('\n').pop()))
      },
    )
  })
}
