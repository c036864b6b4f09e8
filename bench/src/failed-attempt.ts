/**
 * What one failed attempt costs `withStatusRetry()`, in CPU and in allocation, against a successful one, without I/O:
 * a client that answers from memory (`HttpClientResponse.fromWeb`), CALLS calls at CONCURRENCY at once; the caller
 * does not read the 200's body.
 *
 * - `ok`: every call succeeds at its first attempt (a 200);
 * - `503`: the first attempt of every call gets a 503 with a 200-byte body and no hint, the second a 200;
 * - `429`: the first attempt gets a 429 with `Retry-After-Ms: 1` and `X-RateLimit-*` headers, the second a 200.
 *
 * CPU is `process.cpuUsage()` (user + system) over the run, so the waits between attempts cost nothing; a failed
 * attempt costs (CPU of the run - CPU of the `ok` run) / CALLS, set against the `ok` run's CPU per call. Allocation is
 * `heapUsed` after minus before a run, both after `gc()`, with a young generation large enough that a run does not
 * collect (a run that collected anyway gives no allocation figure). ROUNDS rounds each run the three scenarios back
 * to back; a ratio is the median of the rounds' ratios, each figure per call the median of its runs.
 *
 * `node --expose-gc --max-semi-space-size=256 bench/build/failed-attempt.js` prints one JSON line (FAILED_ATTEMPT_CALLS
 * and FAILED_ATTEMPT_ROUNDS change CALLS and ROUNDS).
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import { PerformanceObserver } from "node:perf_hooks"

const CALLS = Number(process.env["FAILED_ATTEMPT_CALLS"] ?? 400)
const CONCURRENCY = 200
const ROUNDS = Number(process.env["FAILED_ATTEMPT_ROUNDS"] ?? 11)
const BODY = "x".repeat(200)

type Scenario = "ok" | "503" | "429"

/** What calls of one scenario cost, per call: CPU, and allocation (NaN when every run collected). */
export interface Measured {
  readonly nsPerCall: number
  readonly bytesPerCall: number
  readonly heapSamples: number
}

/** A scenario whose calls fail once: what the failed attempt adds to a call, and as a ratio of a successful call. */
export interface FailedScenario extends Measured {
  readonly failedAttemptNs: number
  readonly failedAttemptBytes: number
  readonly cpuRatio: number
  readonly allocationRatio: number
}

/** The line this script prints. */
export interface FailedAttempt {
  readonly calls: number
  readonly concurrency: number
  readonly rounds: number
  readonly ok: Measured
  readonly "503": FailedScenario
  readonly "429": FailedScenario
}

const answer = (scenario: Scenario, first: boolean): Response => {
  if (!first || scenario === "ok") return new Response(null, { status: 200 })
  // A server states the length of a short body, as node:http does for one written whole.
  const length = String(BODY.length)
  if (scenario === "503") {
    return new Response(BODY, { status: 503, headers: { "content-type": "text/plain", "content-length": length } })
  }
  return new Response(BODY, {
    status: 429,
    headers: {
      "retry-after-ms": "1",
      "x-ratelimit-limit": "40",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1",
      "content-type": "text/plain",
      "content-length": length
    }
  })
}

const clientFor = (scenario: Scenario) => {
  const seen = new Set<string>()
  return HttpClient.make((request) =>
    Effect.sync(() => {
      const first = !seen.has(request.url)
      seen.add(request.url)
      return HttpClientResponse.fromWeb(request, answer(scenario, first))
    })
  ).pipe(withStatusRetry({ backoff: { baseDelay: "1 millis" } }))
}

let round = 0
const run = (scenario: Scenario) => {
  const client = clientFor(scenario)
  const prefix = `http://127.0.0.1/${scenario}/${round++}/`
  return Effect.forEach(
    Array.from({ length: CALLS }, (_, i) => i),
    (i) => client.get(prefix + i),
    { concurrency: CONCURRENCY, discard: true }
  )
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error("failed-attempt.js needs --expose-gc")
let collections = 0
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length
})
observer.observe({ entryTypes: ["gc"] })

const settle = () => new Promise((resolve) => setImmediate(resolve))

/** One run of a scenario: its CPU per call, and its allocation per call (undefined when it collected). */
const once = async (scenario: Scenario): Promise<{ readonly ns: number; readonly bytes: number | undefined }> => {
  gc!()
  gc!()
  await settle()
  collections += observer.takeRecords().length
  const seen = collections
  const before = process.memoryUsage().heapUsed
  const started = process.cpuUsage()
  await Effect.runPromise(run(scenario))
  const used = process.cpuUsage(started)
  const after = process.memoryUsage().heapUsed
  await settle()
  collections += observer.takeRecords().length
  return {
    ns: ((used.user + used.system) * 1000) / CALLS,
    bytes: collections === seen ? (after - before) / CALLS : undefined
  }
}

const scenarios: ReadonlyArray<Scenario> = ["ok", "503", "429"]
// Warm-up: the JIT sees every path first.
for (const scenario of scenarios) for (let i = 0; i < 5; i++) await Effect.runPromise(run(scenario))

// Each round runs the three scenarios back to back, in an order that turns from round to round, so that a failed
// attempt is set against successful calls measured a moment before or after it: a shared machine's load drifts
// over seconds, and a ratio of runs far apart would measure the drift.
const cpu: Record<Scenario, Array<number>> = { ok: [], "503": [], "429": [] }
const heap: Record<Scenario, Array<number>> = { ok: [], "503": [], "429": [] }
const cpuRatios: Record<"503" | "429", Array<number>> = { "503": [], "429": [] }
const heapRatios: Record<"503" | "429", Array<number>> = { "503": [], "429": [] }
for (let r = 0; r < ROUNDS; r++) {
  const round: Partial<Record<Scenario, { readonly ns: number; readonly bytes: number | undefined }>> = {}
  for (let i = 0; i < scenarios.length; i++) {
    const scenario = scenarios[(r + i) % scenarios.length]!
    round[scenario] = await once(scenario)
  }
  for (const scenario of scenarios) {
    const m = round[scenario]!
    cpu[scenario].push(m.ns)
    if (m.bytes !== undefined) heap[scenario].push(m.bytes)
  }
  const ok = round.ok!
  for (const scenario of ["503", "429"] as const) {
    const m = round[scenario]!
    cpuRatios[scenario].push((m.ns - ok.ns) / ok.ns)
    if (m.bytes !== undefined && ok.bytes !== undefined) heapRatios[scenario].push((m.bytes - ok.bytes) / ok.bytes)
  }
}

const measured = (scenario: Scenario): Measured => ({
  nsPerCall: median(cpu[scenario]),
  bytesPerCall: heap[scenario].length === 0 ? NaN : median(heap[scenario]),
  heapSamples: heap[scenario].length
})
const ok = measured("ok")
const rows: Record<string, unknown> = { ok }
for (const scenario of ["503", "429"] as const) {
  const m = measured(scenario)
  rows[scenario] = {
    ...m,
    failedAttemptNs: Math.round(m.nsPerCall - ok.nsPerCall),
    failedAttemptBytes: Math.round(m.bytesPerCall - ok.bytesPerCall),
    // The median of each round's ratio, not the ratio of the medians: see above.
    cpuRatio: +median(cpuRatios[scenario]).toFixed(2),
    allocationRatio: heapRatios[scenario].length === 0 ? NaN : +median(heapRatios[scenario]).toFixed(2)
  }
}
observer.disconnect()
process.stdout.write(JSON.stringify({ calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS, ...rows }) + "\n")
