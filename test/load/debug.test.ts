import { createOpener } from '@keyhole/core'
import { it } from 'vitest'
import { send } from '../adversarial/harness/client.js'
import { startProxy } from '../adversarial/harness/proxies.js'
import { makeKeys, mintFor } from '../adversarial/harness/tokens.js'
import { startRecorder } from '../adversarial/harness/upstream.js'

it('debug express', async () => {
  const up = await startRecorder({ name: 'up' })
  const { key, keyring } = await makeKeys()
  const { token } = await mintFor(key, { hosts: [up.origin] })
  for (const kind of ['core', 'hono', 'express'] as const) {
    const proxy = await startProxy(kind, {
      opener: createOpener({ keyring }),
      onEvent: (e) => console.log(JSON.stringify(e)),
    })
    const r = await send(`${proxy.base}/http/127.0.0.1:${up.port}/x`, {
      headers: [['x-keyhole-token', token]],
    })
    console.log(kind, r.status, r.body, r.headers)
    await proxy.close()
  }
  console.log(up.hits.length, up.texts())
  await up.close()
})
