/**
 * The in-process micro-benchmark of the happy path, run by `main.ts` in processes of its own: what
 * `withStatusRetry()` and `HttpClient.retryTransient` add, per request, to an @effect/platform client that answers
 * 200 without I/O (`HttpClient.make(req => Effect.succeed(HttpClientResponse.fromWeb(req, new Response(null,
 * { status: 200 }))))`).
 *
 * - `micro.js time <index>` (normal heap settings): tinybench, one client per process; its task runs BATCH sequential
 *   requests inside one `Effect.runPromise`, so the runtime's per-run cost is shared by BATCH requests;
 *   ns/request = the task's median / BATCH. `main.ts` runs every client several times, in rotating order, and
 *   keeps the median pass;
 * - `micro.js memory` (with `--expose-gc` and a young generation of 64 MB, so that a batch never triggers a
 *   collection): `process.memoryUsage().heapUsed` after minus before a batch of MEMORY_BATCH requests, both after
 *   `gc()`, divided by MEMORY_BATCH; median of MEMORY_SAMPLES batches; a batch during which V8 collected anyway is
 *   measured again.
 *
 * Prints one JSON line on stdout.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Coordinator } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { PerformanceObserver } from "node:perf_hooks"
import { Bench } from "tinybench"

export const BATCH = 500
export const MEMORY_BATCH = 200
const MEMORY_SAMPLES = 9

export interface MicroTime {
  readonly name: string
  readonly nsPerRequest: number
  /** Relative margin of error of the task's mean, in %. */
  readonly rme: number
  readonly samples: number
  /** Set by main.ts: the median, over passes, of this client's time minus the bare client's in the same pass. */
  readonly addedNs?: number
}

export interface MicroMemory {
  readonly name: string
  readonly bytesPerRequest: number
  readonly samples: number
}

const bare = HttpClient.make((request) =>
  Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 200 })))
)

/** One coordinator for the coordinated row, as `Coordinator.layer()` would provide it to a whole program. */
const coordinator = Effect.runSync(Coordinator.make())

/** The clients measured; the first is the baseline. The coordinated one runs with the coordinator provided. */
export const CLIENTS: ReadonlyArray<readonly [string, HttpClient.HttpClient.With<unknown, never>, boolean?]> = [
  ["bare client (no retry)", bare],
  ["withStatusRetry()", bare.pipe(withStatusRetry())],
  ["withStatusRetry() + Coordinator.layer()", bare.pipe(withStatusRetry()), true],
  // The README's recommended production setting (a per-attempt timeout), where it differs from the defaults.
  ["withStatusRetry({ attemptTimeout: \"10 seconds\" })", bare.pipe(withStatusRetry({ attemptTimeout: "10 seconds" }))],
  [
    "retryTransient({ schedule: exponential(100 ms).jittered, times: 3 })",
    bare.pipe(HttpClient.retryTransient({ schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered), times: 3 }))
  ]
]

const batch = (client: HttpClient.HttpClient.With<unknown, never>, size: number, coordinated = false) => {
  const requests = Effect.gen(function*() {
    for (let i = 0; i < size; i++) {
      const response = yield* client.get("http://127.0.0.1/items")
      if (response.status !== 200) return yield* Effect.die(new Error(`status ${response.status}`))
    }
  })
  return coordinated ? Effect.provideService(requests, Coordinator.Coordinator, coordinator) : requests
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Times one client (each in a fresh process, so no client runs on a heap or JIT state another one left). */
const time = async (index: number): Promise<MicroTime> => {
  const [name, client, coordinated] = CLIENTS[index]!
  const bench = new Bench({ time: 300, iterations: 10, warmupTime: 150, warmupIterations: 3 })
  const program = batch(client, BATCH, coordinated)
  bench.add(name, () => Effect.runPromise(program))
  await bench.run()
  const result = bench.getTask(name)?.result
  if (result === undefined || !("latency" in result)) throw new Error(`micro: ${name} did not complete`)
  return {
    name,
    nsPerRequest: (result.latency.p50 * 1e6) / BATCH,
    rme: result.latency.rme,
    samples: result.latency.samplesCount
  }
}

const memory = async (): Promise<ReadonlyArray<MicroMemory>> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("micro.js memory needs --expose-gc")
  let collections = 0
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length
  })
  observer.observe({ entryTypes: ["gc"] })
  const rows: Array<MicroMemory> = []
  for (const [name, client, coordinated] of CLIENTS) {
    const program = batch(client, MEMORY_BATCH, coordinated)
    await Effect.runPromise(program)
    const samples: Array<number> = []
    for (let attempt = 0; attempt < MEMORY_SAMPLES * 4 && samples.length < MEMORY_SAMPLES; attempt++) {
      gc()
      gc()
      // Let the observer take the entries of those two collections before counting.
      await new Promise((resolve) => setImmediate(resolve))
      collections += observer.takeRecords().length
      const seen = collections
      const before = process.memoryUsage().heapUsed
      await Effect.runPromise(program)
      const after = process.memoryUsage().heapUsed
      await new Promise((resolve) => setImmediate(resolve))
      collections += observer.takeRecords().length
      if (collections === seen && after > before) samples.push((after - before) / MEMORY_BATCH)
    }
    rows.push({ name, bytesPerRequest: samples.length === 0 ? NaN : median(samples), samples: samples.length })
  }
  observer.disconnect()
  return rows
}

const mode = process.argv[2]
if (mode === "time") process.stdout.write(JSON.stringify({ batch: BATCH, row: await time(Number(process.argv[3])) }) + "\n")
else if (mode === "memory") process.stdout.write(JSON.stringify({ batch: MEMORY_BATCH, rows: await memory() }) + "\n")
else if (mode === "count") process.stdout.write(JSON.stringify({ count: CLIENTS.length }) + "\n")
else throw new Error("usage: micro.js time <index> | memory | count")
