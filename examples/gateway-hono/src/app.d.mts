import type { IssuerOption, Keyring, RevocationStore } from '@keyhole/core'
import type { Hono } from 'hono'

export interface AppOptions {
  keyring: Keyring
  /** The issuers whose signed tokens the gateway honours (their public keys). */
  issuers: IssuerOption[]
  upstream: string
  adminToken?: string
  revocations?: RevocationStore
  log?: (line: string) => void
}

export declare function createApp(options: AppOptions): { app: Hono; close(): void }
