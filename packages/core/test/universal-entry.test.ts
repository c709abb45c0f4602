// The universal entry of @keyhole/core (src/index.ts, what `import '@keyhole/core'` loads) must
// run on Deno, Bun and workerd: nothing it reaches through static imports may name a Node built-in.
// The Node bridge lives behind `@keyhole/core/node`. This walks the import graph of the sources.
import { readFileSync } from 'node:fs'
import { builtinModules } from 'node:module'
import { dirname, join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const src = join(dirname(new URL(import.meta.url).pathname), '..', 'src')
function isBuiltin(specifier: string): boolean {
  return specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0] as string)
}

/** The module specifiers a file loads at run time: its value imports and re-exports. */
function valueImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  const specifiers: string[] = []
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement)) {
      // `import type { X } from 'y'` is erased at build time.
      if (statement.importClause?.isTypeOnly) continue
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text)
    } else if (ts.isExportDeclaration(statement) && statement.moduleSpecifier && !statement.isTypeOnly) {
      specifiers.push((statement.moduleSpecifier as ts.StringLiteral).text)
    }
  }
  return specifiers
}

/** Every file reachable from `entry` by static value imports, with the bare specifiers each names. */
function importGraph(entry: string): Map<string, string[]> {
  const graph = new Map<string, string[]>()
  const pending = [entry]
  while (pending.length > 0) {
    const file = pending.pop() as string
    if (graph.has(file)) continue
    const bare: string[] = []
    graph.set(file, bare)
    for (const specifier of valueImports(file)) {
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier.replace(/\.js$/, '.ts')))
      else bare.push(specifier)
    }
  }
  return graph
}

describe("@keyhole/core's universal entry", () => {
  const graph = importGraph(join(src, 'index.ts'))

  it('reaches no Node built-in through its static imports', () => {
    const offending = [...graph].flatMap(([file, specifiers]) =>
      specifiers.filter(isBuiltin).map((specifier) => `${relative(src, file)} -> ${specifier}`),
    )
    expect(offending).toEqual([])
  })

  it('loads only jose besides its own files, and does not reach the Node bridge (src/node/)', () => {
    expect([...new Set([...graph.values()].flat())]).toEqual(['jose'])
    const nodeFiles = [...graph.keys()].filter((file) => relative(src, file).startsWith('node/'))
    expect(nodeFiles).toEqual([])
    // The walk itself is not vacuous: the engine and the opener are on it.
    expect(graph.has(join(src, 'proxy', 'create-proxy.ts'))).toBe(true)
    expect(graph.has(join(src, 'open', 'opener.ts'))).toBe(true)
  })

  it('the Node entry does reach Node built-ins (the check can fail)', () => {
    const node = importGraph(join(src, 'node.ts'))
    expect([...node.values()].flat().some(isBuiltin)).toBe(true)
  })
})
