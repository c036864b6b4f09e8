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
 * collect (a run that collected anyway is measured again). Each figure is the median of ROUNDS runs.
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
const ROUNDS = Number(process.env["FAILED_ATTEMPT_ROUNDS"] ?? 7)
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

const measure = async (scenario: Scenario) => {
  const cpu: Array<number> = []
  const heap: Array<number> = []
  // Warm-up: the JIT sees every path first.
  for (let i = 0; i < 5; i++) await Effect.runPromise(run(scenario))
  for (let tries = 0; tries < ROUNDS * 2 && heap.length < ROUNDS; tries++) {
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
    cpu.push(((used.user + used.system) * 1000) / CALLS)
    await settle()
    collections += observer.takeRecords().length
    if (collections === seen) heap.push((after - before) / CALLS)
  }
  return { nsPerCall: median(cpu), bytesPerCall: heap.length === 0 ? NaN : median(heap), heapSamples: heap.length }
}

const ok = await measure("ok")
const rows: Record<string, unknown> = { ok }
for (const scenario of ["503", "429"] as const) {
  const m = await measure(scenario)
  const ns = m.nsPerCall - ok.nsPerCall
  const bytes = m.bytesPerCall - ok.bytesPerCall
  rows[scenario] = {
    ...m,
    failedAttemptNs: Math.round(ns),
    failedAttemptBytes: Math.round(bytes),
    cpuRatio: +(ns / ok.nsPerCall).toFixed(2),
    allocationRatio: +(bytes / ok.bytesPerCall).toFixed(2)
  }
}
observer.disconnect()
process.stdout.write(JSON.stringify({ calls: CALLS, concurrency: CONCURRENCY, rounds: ROUNDS, ...rows }) + "\n")
