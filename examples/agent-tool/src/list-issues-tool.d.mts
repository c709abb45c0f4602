export interface ListIssuesToolOptions {
  proxy: string
  tokens: readonly string[]
  apiBase?: string
  fetch?: typeof fetch
}

export type ListIssuesResult =
  | { ok: true; issues: { number: number; title: string }[] }
  | { ok: false; error: string }

export interface ListIssuesTool {
  name: 'list_issues'
  description: string
  parameters: Record<string, unknown>
  execute(args: { owner: string; repo: string }): Promise<ListIssuesResult>
}

export declare function createListIssuesTool(options: ListIssuesToolOptions): ListIssuesTool
