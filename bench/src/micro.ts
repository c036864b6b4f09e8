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
 * - `micro.js origins <count>` (with `--expose-gc`): the coordinator's own path, without HTTP: `Coordinator.make()`
 *   with its defaults, then requests spread over `count` distinct origins (`withPermit`, then `observe` with a
 *   synthetic 200 carrying `X-RateLimit-*`); ns per request (median of
 *   ORIGIN_ROUNDS rounds of ORIGIN_REQUESTS requests, after one round that touches every origin; a round stops
 *   after ORIGIN_ROUND_MS, however far it got) and the heap the coordinator holds after `gc()`;
 * - `micro.js origins <count> request` (with `--expose-gc`): the same, each request a whole one: `withStatusRetry()` under
 *   that coordinator, over a client that answers the same 200 from memory (what a program's request costs in this
 *   process, HTTP client included, without I/O);
 * - `micro.js waiting <sleep | alone | coordinated>` (with `--expose-gc`): WAITING_CALLS calls parked by a
 *   `Retry-After: 5` (a synthetic client answers 429 to every request) through `withStatusRetry()`, alone or with
 *   one coordinator, or as many bare `Effect.sleep("5 seconds")` fibers: heap after `gc()` while they wait, minus
 *   the heap before, per call. The same modes prefixed `effect4-` run on the Effect 4 line.
 *
 * Prints one JSON line on stdout.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Coordinator } from "@effect-retry/core"
import { Coordinator as Coordinator4, withStatusRetry as withStatusRetry4 } from "@effect-retry/effect4"
import { withStatusRetry } from "@effect-retry/platform"
import * as Effect4 from "effect-4/Effect"
import { HttpClient as HttpClient4, HttpClientResponse as HttpClientResponse4 } from "effect-4/http"
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
    bare.pipe(
      HttpClient.retryTransient({ schedule: Schedule.exponential("100 millis").pipe(Schedule.jittered), times: 3 })
    )
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

export const ORIGIN_REQUESTS = 200_000
const ORIGIN_ROUNDS = 3
/** Every round (and the first, touching every origin) stops after this long, whatever it has done. */
const ORIGIN_ROUND_MS = 1_500
export const WAITING_CALLS = 10_000
/** How long after the calls start the heap is read (they wait 5 s: all are parked by then). */
const WAITING_SETTLE_MS = 1_500

export interface MicroOrigins {
  readonly origins: number
  readonly path: OriginPath
  readonly nsPerRequest: number
  /** The heap the coordinator holds after the rounds, after `gc()`, in MB. */
  readonly heapMB: number
  /** How many origins it holds state for (its `size`). */
  readonly held: number
  /** Requests timed (a round stops early past ORIGIN_ROUND_MS) and origins touched in the first round. */
  readonly requests: number
  readonly touched: number
}

export interface MicroWaiting {
  readonly mode: string
  readonly calls: number
  /** Requests the synthetic server answered while the calls waited. */
  readonly answered: number
  readonly kbPerCall: number
  /** CPU time (user and system) from the first call's start until they all wait, per call. */
  readonly cpuMicrosPerCall: number
}

/**
 * Two collections at once, the event loop not turned: what the waiting-call figures have always been measured with
 * (kept so that they compare with the figures of earlier versions quoted in RESULTS.md).
 */
const collectNow = () => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) throw new Error("micro.js needs --expose-gc")
  gc()
  gc()
}

/**
 * Collects until what is left is held: between collections the event loop turns, so that the cleanups of a
 * `FinalizationRegistry` run (a web `Response` registers one, which holds about 800 bytes until it has run).
 */
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    collectNow()
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  collectNow()
}

/**
 * What a request to an origin goes through: the coordinator's own path (`withPermit`, then `observe` with a synthetic
 * 200 carrying `headers`), or a whole request, `withStatusRetry()` under the coordinator over a client that answers
 * that 200 from memory.
 */
export type OriginPath = "coordinator" | "request"

const originsBench = async (count: number, path: OriginPath): Promise<MicroOrigins> => {
  const names = Array.from({ length: count }, (_, i) => `https://o${i}.example.test`)
  const order = Array.from({ length: ORIGIN_REQUESTS }, (_, i) => names[(i * 7919) % count]!)
  const headers = {
    "x-ratelimit-limit": "1000",
    "x-ratelimit-remaining": "999",
    "x-ratelimit-reset": String(Math.ceil(Date.now() / 1000) + 3600)
  }
  await collect()
  const before = process.memoryUsage().heapUsed
  const coordinator = Effect.runSync(Coordinator.make())
  /** The coordinator's own path for one request to `url`. */
  const one = (url: string): Effect.Effect<unknown, unknown> => {
    const at = Date.now()
    return coordinator.withPermit(
      { method: "GET", url, headers: {}, attempt: "first" },
      (permit) => coordinator.observe(permit, { status: 200, headers, receivedAt: at })
    )
  }
  const client = path === "request"
    ? HttpClient.make((request) =>
      Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(null, { status: 200, headers })))
    ).pipe(withStatusRetry())
    : undefined
  const request = (url: string) =>
    client === undefined ? one(url) : Effect.provideService(client.get(url), Coordinator.Coordinator, coordinator)
  let next = 0
  /** Requests to `origins[next...]`, at most `limit` of them and for at most ORIGIN_ROUND_MS: how many it made. */
  const round = (origins: ReadonlyArray<string>, limit: number) =>
    Effect.gen(function*() {
      const began = performance.now()
      let done = 0
      while (done < limit) {
        const origin = origins[next++ % origins.length]!
        yield* request(`${origin}/items`)
        done++
        if ((done & 255) === 0 && performance.now() - began > ORIGIN_ROUND_MS) break
      }
      return done
    })
  const touched = await Effect.runPromise(round(names, names.length))
  next = 0
  const times: Array<number> = []
  let requests = 0
  for (let r = 0; r < ORIGIN_ROUNDS; r++) {
    const began = performance.now()
    const done = await Effect.runPromise(round(order, order.length))
    times.push(((performance.now() - began) * 1e6) / done)
    requests += done
  }
  await collect()
  const heapMB = (process.memoryUsage().heapUsed - before) / 2 ** 20
  return {
    origins: count,
    path,
    nsPerRequest: median(times),
    heapMB,
    held: Effect.runSync(coordinator.size),
    requests,
    touched
  }
}

/**
 * Measures WAITING_CALLS calls started by `start` (one per URL) while they wait: heap and CPU per call. `answered`
 * reads how many requests the synthetic server answered meanwhile.
 */
const measureWaiting = async (
  mode: string,
  start: (url: string) => unknown,
  answered: () => number
): Promise<MicroWaiting> => {
  const urls = Array.from({ length: WAITING_CALLS }, (_, i) => `http://127.0.0.1/items/${i}`)
  const started: Array<unknown> = new Array(WAITING_CALLS)
  collectNow()
  const before = process.memoryUsage().heapUsed
  const cpu = process.cpuUsage()
  for (let i = 0; i < WAITING_CALLS; i++) started[i] = start(urls[i]!)
  await new Promise((resolve) => setTimeout(resolve, WAITING_SETTLE_MS))
  const used = process.cpuUsage(cpu)
  collectNow()
  const after = process.memoryUsage().heapUsed
  // The calls are left waiting: the process exits once this is printed.
  return {
    mode,
    calls: WAITING_CALLS,
    answered: answered(),
    kbPerCall: (after - before) / 1024 / WAITING_CALLS,
    cpuMicrosPerCall: (used.user + used.system) / WAITING_CALLS
  }
}

/** A 429 with `Retry-After: 5`, as the synthetic server answers every request of the waiting calls. */
const throttledAnswer = () => new Response(null, { status: 429, headers: { "retry-after": "5" } })

/** The waiting calls on the Effect 4 line (`effect4-sleep`, `effect4-alone`, `effect4-coordinated`). */
const waitingBench4 = (mode: string): Promise<MicroWaiting> => {
  let answered = 0
  const throttled = HttpClient4.make((request) =>
    Effect4.sync(() => {
      answered++
      return HttpClientResponse4.fromWeb(request, throttledAnswer())
    })
  ).pipe(withStatusRetry4())
  const coordinator = Effect4.runSync(Coordinator4.make())
  const call = (url: string): Effect4.Effect<unknown, unknown> => {
    switch (mode) {
      case "effect4-sleep":
        return Effect4.sleep("5 seconds")
      case "effect4-alone":
        return throttled.get(url)
      case "effect4-coordinated":
        return Effect4.provideService(throttled.get(url), Coordinator4.Coordinator, coordinator)
      default:
        throw new Error(`micro.js waiting: unknown mode ${mode}`)
    }
  }
  return measureWaiting(mode, (url) => Effect4.runFork(call(url)), () => answered)
}

const waitingBench = (mode: string): Promise<MicroWaiting> => {
  if (mode.startsWith("effect4-")) return waitingBench4(mode)
  let answered = 0
  const throttled = HttpClient.make((request) =>
    Effect.sync(() => {
      answered++
      return HttpClientResponse.fromWeb(request, throttledAnswer())
    })
  ).pipe(withStatusRetry())
  const coordinator = Effect.runSync(Coordinator.make())
  const call = (url: string): Effect.Effect<unknown, unknown> => {
    switch (mode) {
      case "sleep":
        return Effect.sleep("5 seconds")
      case "alone":
        return throttled.get(url)
      case "coordinated":
        return Effect.provideService(throttled.get(url), Coordinator.Coordinator, coordinator)
      default:
        throw new Error(`micro.js waiting: unknown mode ${mode}`)
    }
  }
  return measureWaiting(mode, (url) => Effect.runFork(call(url)), () => answered)
}

const mode = process.argv[2]
if (mode === "time") {
  process.stdout.write(JSON.stringify({ batch: BATCH, row: await time(Number(process.argv[3])) }) + "\n")
} else if (mode === "memory") process.stdout.write(JSON.stringify({ batch: MEMORY_BATCH, rows: await memory() }) + "\n")
else if (mode === "count") process.stdout.write(JSON.stringify({ count: CLIENTS.length }) + "\n")
else if (mode === "origins") {
  const path = process.argv[4] === "request" ? "request" : "coordinator"
  process.stdout.write(JSON.stringify(await originsBench(Number(process.argv[3]), path)) + "\n")
} else if (mode === "waiting") {
  process.stdout.write(JSON.stringify(await waitingBench(process.argv[3] ?? "")) + "\n")
  // Whatever timers the interrupted calls left are not waited for.
  process.exit(0)
} else {throw new Error(
    "usage: micro.js time <index> | memory | count | origins <count> [request] | waiting <[effect4-]sleep | alone | coordinated>"
  )}
