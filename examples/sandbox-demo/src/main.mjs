// Runs the sandbox demo: `npm run build` at the repository root once, then
//   node examples/sandbox-demo/src/main.mjs
import { runDemo } from './demo.mjs'

const report = await runDemo({ log: (line) => console.log(line) })
const leaked = report.child.stdout.includes(report.credential)
console.log(
  `\nthe API received the credential: ${report.apiRequests.some((r) => r.headers.authorization?.includes(report.credential))}`,
)
console.log(`the child saw the credential:    ${leaked}`)
console.log(
  `the attacker saw the credential: ${report.attackerReceived.some((r) => JSON.stringify(r).includes(report.credential))}`,
)
