import type { IncomingHttpHeaders } from 'node:http'
import type { ProxyEvent } from '@keyhole/core'

export interface Recorded {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
}

export interface DemoReport {
  credential: string
  token: string
  child: {
    code: number | null
    stdout: string
    stderr: string
    steps: Array<Record<string, unknown> & { step: string }>
  }
  apiRequests: Recorded[]
  attackerReceived: Recorded[]
  proxyEvents: ProxyEvent[]
  replay: { beforeRevoke: number; afterRevoke: number; afterRevokeCode: string | null }
}

export declare function runDemo(options?: { log?: (line: string) => void }): Promise<DemoReport>
