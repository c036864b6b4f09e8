// Runs the header parsers' properties (packages/core/test/properties/parsers.mjs, the ones the test suite runs 10^4
// times each) on many more generated values, against the built package, and prints a one-line summary.
//
// Usage, after a build (`pnpm build`): node scripts/fuzz-parsers.mjs [runs per parser, default 100000] [seed]
// Exits with 1 when a rule is broken, printing the first case of each kind on stderr.
import { all, fc } from "../packages/core/test/properties/parsers.mjs"

const runs = Number(process.argv[2] ?? 100_000)
const seed = Number(process.argv[3] ?? Date.now() % 2 ** 31)
if (!Number.isSafeInteger(runs) || runs < 1 || !Number.isSafeInteger(seed)) {
  console.error("usage: node scripts/fuzz-parsers.mjs [runs per parser] [seed]")
  process.exit(2)
}

const KINDS = ["throw", "non-finite", "negative", "short", "wrong"]
const totals = Object.fromEntries(KINDS.map((kind) => [kind, 0]))
const first = new Map()
const started = performance.now()
const parts = []
for (const [name, property] of Object.entries(all)) {
  let broken = 0
  fc.assert(
    fc.property(property.arbitrary, (testCase) => {
      const problems = property.check(testCase)
      if (problems.length > 0) broken++
      for (const problem of problems) {
        const kind = problem.slice(0, problem.indexOf(":"))
        totals[kind] = (totals[kind] ?? 0) + 1
        if (!first.has(`${name} ${kind}`)) first.set(`${name} ${kind}`, problem)
      }
      return true
    }),
    { numRuns: runs, seed }
  )
  parts.push(`${name} ${broken}`)
}
const seconds = ((performance.now() - started) / 1000).toFixed(1)
console.log(
  `fuzz-parsers: ${runs} cases x ${parts.length} parsers, seed ${seed}, ${seconds} s: ` +
    `${totals.throw} throws, ${totals["non-finite"]} non-finite, ${totals.negative} negative, ` +
    `${totals.short} shorter than the header, ${totals.wrong} misread (failing cases: ${parts.join(", ")})`
)
for (const [where, problem] of first) console.error(`${where}: ${problem}`)
process.exit(first.size > 0 ? 1 : 0)
