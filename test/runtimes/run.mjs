// A tiny test runner every runtime can execute (no vitest under Deno or workerd): runs the checks
// in order, reports each, and ends with the plain "N passed, N failed" line CI reads.

/**
 * @param {Array<{ name: string, run: (ctx: any) => Promise<void> }>} checks
 * @param {any} ctx what each check receives (the upstream's URL)
 * @param {(line: string) => void} print
 * @returns {Promise<{ passed: number, failed: number }>}
 */
export async function runChecks(checks, ctx, print) {
  let passed = 0
  let failed = 0
  for (const check of checks) {
    try {
      await check.run(ctx)
      passed++
      print(`ok - ${check.name}`)
    } catch (error) {
      failed++
      print(
        `not ok - ${check.name}: ${error instanceof Error ? error.stack || error.message : String(error)}`,
      )
    }
  }
  return { passed, failed }
}
