// The stage for "where can a sandbox steer the credential": one granted upstream and decoys that
// sit everywhere a trick could lead (another host on the same port, another port on the same host,
// the IPv6 loopback), a resolver that maps the granted name to the granted upstream and every
// other name to a decoy, and all three proxies in front.
import type { LookupAddress } from 'node:dns'
import type { LookupFunction } from 'node:net'
import { createOpener, type Opener, type ProxyOptions } from '@keyhole/core'
import { createNodeForwarder, type NodeForwarder } from '@keyhole/core/node'
import { testIssuers } from '../../../packages/core/test/kit/issuer.js'
import { PROXY_KINDS, type ProxyKind, type RunningProxy, startProxy } from './proxies.js'
import { type Keys, type Minted, makeKeys, mintFor } from './tokens.js'
import { type Recorder, startRecorder } from './upstream.js'

/** The name the grants use; the resolver maps it (and only it) to the granted upstream. */
export const GRANTED_NAME = 'api.example.test'

export interface Scene {
  keys: Keys
  opener: Opener
  granted: Recorder
  /** 127.0.0.2 on the granted port: where any other name resolves. */
  otherHost: Recorder
  /** 127.0.0.1 on another port. */
  otherPort: Recorder
  /** [::1] on the granted port, when IPv6 loopback is available. */
  ipv6: Recorder | undefined
  decoys: Recorder[]
  /** Every name the resolver was asked for. */
  lookups: string[]
  proxies: Map<ProxyKind, RunningProxy>
  forwarders: NodeForwarder[]
  /** `http://api.example.test:PORT` */
  grantedHost: string
  close(): Promise<void>
}

/**
 * A resolver like dns.lookup: the granted name resolves to 127.0.0.1, every other name to
 * 127.0.0.2 (the other-host decoy), so a trick that changes the name lands on a decoy.
 */
function mapLookup(lookups: string[]): LookupFunction {
  return ((hostname: string, options: { all?: boolean } | number, callback: (...args: unknown[]) => void) => {
    lookups.push(hostname)
    const address = hostname === GRANTED_NAME ? '127.0.0.1' : '127.0.0.2'
    const all = typeof options === 'object' && options?.all
    setImmediate(() => {
      if (all) callback(null, [{ address, family: 4 } satisfies LookupAddress])
      else callback(null, address, 4)
    })
  }) as unknown as LookupFunction
}

export interface SceneOptions {
  /** Engine options besides opener and forward, given the granted `http://host:port` (e.g. gateway mode's `upstream`). */
  proxy?: (grantedHost: string) => Omit<ProxyOptions, 'opener' | 'forward'>
  kinds?: readonly ProxyKind[]
}

export async function startScene(options: SceneOptions = {}): Promise<Scene> {
  const keys = await makeKeys()
  const granted = await startRecorder({ name: 'granted' })
  const otherHost = await startRecorder({ name: 'other-host', host: '127.0.0.2', port: granted.port })
  const otherPort = await startRecorder({ name: 'other-port' })
  let ipv6: Recorder | undefined
  try {
    ipv6 = await startRecorder({ name: 'ipv6-loopback', host: '::1', port: granted.port })
  } catch {
    ipv6 = undefined
  }
  const lookups: string[] = []
  const opener = createOpener({ keyring: keys.keyring, issuers: testIssuers })
  const proxies = new Map<ProxyKind, RunningProxy>()
  const forwarders: NodeForwarder[] = []
  const grantedHost = `http://${GRANTED_NAME}:${granted.port}`
  const extra = options.proxy?.(grantedHost) ?? {}
  for (const kind of options.kinds ?? PROXY_KINDS) {
    // The resolver answers with loopback addresses, so the address guard is told to allow them:
    // this stage tests the host policy; the address guard has its own suite.
    const forward = createNodeForwarder({ lookup: mapLookup(lookups), allowPrivateAddresses: true })
    forwarders.push(forward)
    proxies.set(
      kind,
      await startProxy(kind, {
        tokenHeaders: ['x-api-key'],
        ...extra,
        opener,
        forward,
        allowPrivateAddresses: true,
      }),
    )
  }
  const decoys = [otherHost, otherPort, ...(ipv6 ? [ipv6] : [])]
  return {
    keys,
    opener,
    granted,
    otherHost,
    otherPort,
    ipv6,
    decoys,
    lookups,
    proxies,
    forwarders,
    grantedHost,
    async close() {
      for (const proxy of proxies.values()) await proxy.close()
      for (const forward of forwarders) forward.destroy()
      for (const recorder of [granted, ...decoys]) await recorder.close()
    },
  }
}

/** Mints a token for the scene's granted host (plus `extra` grant fields). */
export function grantedToken(
  scene: Scene,
  extra: Partial<Parameters<typeof mintFor>[1]> = {},
): Promise<Minted> {
  return mintFor(scene.keys.key, { hosts: [scene.grantedHost], ...extra })
}

/**
 * The invariant every request test ends with: no decoy saw any request at all (so no credential
 * reached one), and each request the granted upstream saw carries the credential of `minted` only.
 */
export function decoyRequests(scene: Scene): string[] {
  return scene.decoys.flatMap((decoy) => decoy.texts().map((text) => `${decoy.name}: ${text.split('\n')[0]}`))
}
