/**
 * What one failed attempt costs `withStatusRetry()`, in CPU and in allocation, against a successful one, without I/O:
 * a client that answers from memory (`HttpClientResponse.fromWeb`), calls at CONCURRENCY at once; the caller does not
 * read the 200's body.
 *
 * - `ok`: every call succeeds at its first attempt (a 200);
 * - `503`: the first attempt of every call gets a 503 with a 200-byte body and no hint, the second a 200;
 * - `429`: the first attempt gets a 429 with `Retry-After-Ms: 1` and `X-RateLimit-*` headers, the second a 200.
 *
 * A failed attempt costs what a call of its scenario takes over an `ok` call, set against the `ok` call. Each round
 * runs the three scenarios back to back, in an order that turns from round to round, so that a shared machine's load,
 * which drifts over seconds, falls on every scenario alike. Two modes, each in a process of its own:
 *
 * - `failed-attempt.js cpu` (normal heap settings, as a program runs): CPU is `process.cpuUsage()` (user + system)
 *   over a run of CPU_CALLS calls, so the waits between attempts cost nothing and the garbage collections a run
 *   causes count; runs follow each other with no forced collection (one before a run leaves the next thousand or so
 *   calls several times slower than a program's, and the ratio of such runs says nothing of a program's). A run of
 *   failing calls takes one of two times, by whether a full collection falls in it (about half do, costing some
 *   100 µs a call more): a median lands on either, so each figure is the mean of its runs, over more rounds, and a
 *   ratio is what the mean failing call takes over the mean `ok` call, set against the mean `ok` call;
 * - `failed-attempt.js heap` (with `--expose-gc` and `--max-semi-space-size=256`): allocation is `heapUsed` after
 *   minus before a run of HEAP_CALLS calls, both after `gc()`, with a young generation large enough that a run does
 *   not collect (a run that collected anyway gives no figure); a figure is the median of its runs, a ratio the median
 *   of the rounds' ratios (each against the `ok` run a moment before or after it).
 *
 * Each prints one JSON line; `main.ts` runs both and joins them. A third argument names what is measured: `ours` (the
 * default), `retry-transient` (@effect/platform's `retryTransient`, for reference), and `effect4` and
 * `effect4-retry-transient`, the same two on the Effect 4 line (its `HttpClient` from `effect/http`).
 * FAILED_ATTEMPT_ROUNDS changes ROUNDS.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { withStatusRetry as withStatusRetry4 } from "@effect-retry/effect4"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect4 from "effect-4/Effect"
import { HttpClient as HttpClient4, HttpClientResponse as HttpClientResponse4 } from "effect-4/http"
import * as Schedule4 from "effect-4/Schedule"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { PerformanceObserver } from "node:perf_hooks"

const CPU_CALLS = 2_000
const HEAP_CALLS = 400
const CONCURRENCY = 200

const BODY = "x".repeat(200)

export type Scenario = "ok" | "503" | "429"

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

/** Both modes' lines, joined (by `main.ts`). */
export interface FailedAttempt {
  /** Calls per run: of the CPU runs, and of the allocation runs. */
  readonly cpuCalls: number
  readonly heapCalls: number
  readonly concurrency: number
  /** The processes the CPU was measured in, and what each one's figures gave. */
  readonly cpuProcesses: ReadonlyArray<Readonly<Record<"503" | "429", number>>>
  /** Rounds: of the CPU runs (in each process), and of the allocation runs. */
  readonly rounds: number
  readonly heapRounds: number
  readonly ok: Measured
  readonly "503": FailedScenario
  readonly "429": FailedScenario
}

/** The line one mode prints: per call (ns of CPU, or bytes), and the failed attempt over the successful call. */
export interface FailedAttemptRun {
  readonly mode: "cpu" | "heap"
  readonly calls: number
  readonly concurrency: number
  readonly rounds: number
  readonly perCall: Readonly<Record<Scenario, number>>
  readonly ratios: Readonly<Record<"503" | "429", number>>
  /** Runs that gave a figure (a `heap` run that collected gives none). */
  readonly samples: number
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

/**
 * The retry measured: `withStatusRetry()`, or (`retry-transient`) the line's own `retryTransient`, 1 ms apart, for
 * reference: it builds no typed error, reads no body and bounds no attempt. On the Effect 3 line it retries only
 * errors, so `filterStatusOk` goes before it; Effect 4's retries transient responses itself.
 */
const measured = process.argv[3] ?? "ours"
const MEASURED = ["ours", "retry-transient", "effect4", "effect4-retry-transient"]
if (!MEASURED.includes(measured)) {
  throw new Error(`failed-attempt.js: the third argument is one of ${MEASURED.join(", ")}`)
}

/** Answers the first request for each URL as its scenario says, and any later one with a 200. */
const answering = (scenario: Scenario) => {
  const seen = new Set<string>()
  return (url: string): Response => {
    const first = !seen.has(url)
    seen.add(url)
    return answer(scenario, first)
  }
}

const clientFor = (scenario: Scenario) => {
  const respond = answering(scenario)
  const client = HttpClient.make((request) =>
    Effect.sync(() => HttpClientResponse.fromWeb(request, respond(request.url)))
  )
  return measured === "retry-transient"
    ? client.pipe(
      HttpClient.filterStatusOk,
      HttpClient.retryTransient({ times: 3, schedule: Schedule.spaced("1 millis") })
    )
    : client.pipe(withStatusRetry({ backoff: { baseDelay: "1 millis" } }))
}

const clientFor4 = (scenario: Scenario) => {
  const respond = answering(scenario)
  const client = HttpClient4.make((request) =>
    Effect4.sync(() => HttpClientResponse4.fromWeb(request, respond(request.url)))
  )
  return measured === "effect4-retry-transient"
    ? client.pipe(HttpClient4.retryTransient({ times: 3, schedule: Schedule4.spaced("1 millis") }))
    : client.pipe(withStatusRetry4({ backoff: { baseDelay: "1 millis" } }))
}

let round = 0
/** A run of `calls` calls of a scenario, CONCURRENCY at once, on the line measured. */
const run = (scenario: Scenario, calls: number): Promise<void> => {
  const prefix = `http://127.0.0.1/${scenario}/${round++}/`
  const indices = Array.from({ length: calls }, (_, i) => i)
  if (measured.startsWith("effect4")) {
    const client = clientFor4(scenario)
    return Effect4.runPromise(
      Effect4.forEach(indices, (i) => client.get(prefix + i), { concurrency: CONCURRENCY, discard: true })
    )
  }
  const client = clientFor(scenario)
  return Effect.runPromise(
    Effect.forEach(indices, (i) => client.get(prefix + i), { concurrency: CONCURRENCY, discard: true })
  )
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

const mean = (xs: ReadonlyArray<number>): number => xs.reduce((sum, x) => sum + x, 0) / xs.length

const mode = process.argv[2]
if (mode !== "cpu" && mode !== "heap") throw new Error("usage: failed-attempt.js cpu | heap [retry-transient]")
const calls = mode === "cpu" ? CPU_CALLS : HEAP_CALLS
const ROUNDS = Number(process.env["FAILED_ATTEMPT_ROUNDS"] ?? (mode === "cpu" ? 21 : 11))

const gc = (globalThis as { gc?: () => void }).gc
let collections = 0
const observer = new PerformanceObserver((list) => {
  collections += list.getEntries().length
})
// (Only the allocation runs count collections: the CPU runs are left as a program runs.)
if (mode === "heap") observer.observe({ entryTypes: ["gc"] })

const settle = () => new Promise((resolve) => setImmediate(resolve))

/** One run of a scenario: its CPU per call (`cpu`), or its allocation per call (`heap`; NaN when it collected). */
const once = async (scenario: Scenario): Promise<number> => {
  if (mode === "cpu") {
    const started = process.cpuUsage()
    await run(scenario, calls)
    const used = process.cpuUsage(started)
    return ((used.user + used.system) * 1000) / calls
  }
  if (gc === undefined) throw new Error("failed-attempt.js heap needs --expose-gc")
  gc()
  gc()
  await settle()
  collections += observer.takeRecords().length
  const seen = collections
  const before = process.memoryUsage().heapUsed
  await run(scenario, calls)
  const after = process.memoryUsage().heapUsed
  await settle()
  collections += observer.takeRecords().length
  return collections === seen ? (after - before) / calls : NaN
}

const scenarios: ReadonlyArray<Scenario> = ["ok", "503", "429"]
// Warm-up: the JIT sees every path first.
for (const scenario of scenarios) for (let i = 0; i < 5; i++) await run(scenario, calls)

const figures: Record<Scenario, Array<number>> = { ok: [], "503": [], "429": [] }
const ratios: Record<"503" | "429", Array<number>> = { "503": [], "429": [] }
for (let r = 0; r < ROUNDS; r++) {
  const round: Partial<Record<Scenario, number>> = {}
  for (let i = 0; i < scenarios.length; i++) {
    const scenario = scenarios[(r + i) % scenarios.length]!
    round[scenario] = await once(scenario)
  }
  for (const scenario of scenarios) if (!Number.isNaN(round[scenario]!)) figures[scenario].push(round[scenario]!)
  const ok = round.ok!
  for (const scenario of ["503", "429"] as const) {
    const ratio = (round[scenario]! - ok) / ok
    if (!Number.isNaN(ratio)) ratios[scenario].push(ratio)
  }
}
observer.disconnect()

/** A figure per call: the mean of the runs (CPU), or their median (allocation); NaN when no run gave one. */
const figure = (runs: ReadonlyArray<number>): number =>
  runs.length === 0 ? NaN : mode === "cpu" ? Math.round(mean(runs)) : median(runs)

/** A failed attempt over a successful call: of the mean calls (CPU), or the median of the rounds' ratios. */
const ratioOf = (scenario: "503" | "429"): number => {
  if (mode === "heap") return ratios[scenario].length === 0 ? NaN : +median(ratios[scenario]).toFixed(2)
  const ok = figure(figures.ok)
  return +((figure(figures[scenario]) - ok) / ok).toFixed(2)
}

const line: FailedAttemptRun = {
  mode,
  calls,
  concurrency: CONCURRENCY,
  rounds: ROUNDS,
  perCall: {
    ok: figure(figures.ok),
    "503": figure(figures["503"]),
    "429": figure(figures["429"])
  },
  ratios: { "503": ratioOf("503"), "429": ratioOf("429") },
  samples: figures.ok.length
}
process.stdout.write(JSON.stringify(line) + "\n")
