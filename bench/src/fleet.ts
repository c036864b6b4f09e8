/**
 * `pnpm bench:fleet`: N worker processes (`fleet-worker.ts`, `child_process.fork`, N = 4 by default) against one
 * rate-limited server on 127.0.0.1 (40 requests per 1 s window, windows not on whole seconds, `X-RateLimit-Limit`,
 * `-Remaining`, `-Reset` in seconds, 429 + `Retry-After`): each worker with its own in-memory coordinator, then all
 * sharing one Redis (`@effect-retry/redis`), then sharing it told the limit (`coordinator.limits`), then the same with
 * Redis killed halfway and started again. Then the cost of the Redis store per admission on loopback. Writes bench/FLEET.md and bench/charts/fleet.svg.
 *
 * Environment: FLEET_WORKERS (default 4), FLEET_REDIS_TIMEOUT_MS (each Redis call's time-out, default 75), FLEET_TRACE=1
 * (prints every request the server received), FLEET_RESET=epoch (`X-RateLimit-Reset` as a Unix time in seconds, rounded
 * up, instead of seconds to wait). Needs a `redis-server` binary (`node scripts/redis-server.mjs` installs
 * Debian's package when run as root).
 */
import { Coordinator } from "@effect-retry/core"
import { RedisCoordinator } from "@effect-retry/redis"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { type ChildProcess, execFileSync, fork, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vega from "vega"
import * as vl from "vega-lite"
import type { TopLevelSpec } from "vega-lite"
import type { CallOutcome, FromWorker, WorkerSetup } from "./fleet-worker.js"
import { freePort } from "./nginx.js"
import { now } from "./protocol.js"

const here = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.resolve(here, "..")
const WORKERS = Number(process.env["FLEET_WORKERS"] ?? 4)
/** Each Redis call's time-out: FLEET_REDIS_TIMEOUT_MS, else the library's default. */
const REDIS_TIMEOUT_MS = Number(process.env["FLEET_REDIS_TIMEOUT_MS"] ?? 75)
/**
 * FLEET_RUNS: the runs to make (memory, redis, redis-patient, redis-told, outage, cost), comma-separated; default all.
 */
const RUNS = process.env["FLEET_RUNS"]?.split(",")
const selected = (id: string) => RUNS === undefined || RUNS.includes(id)
/** FLEET_RESET=epoch: the reset as a Unix time in seconds (rounded up), as GitHub sends it; else seconds to wait. */
const EPOCH_RESET = process.env["FLEET_RESET"] === "epoch"
const LIMIT = 40
const WINDOW_MS = 1000
const BIN_MS = 100
/** Each call's timeout (`withStatusRetry({ timeout })` in fleet-worker.ts), in seconds. */
const TIMEOUT_S = 30
/** Timers may fire a little before a sub-millisecond target: not "early" in any useful sense. */
const EARLY_TOLERANCE_MS = 5
/** How long after an answer left the server another request is taken to have been sent knowing it. */
const REACTION_MS = 20

const watchdog = setTimeout(() => {
  console.error("bench:fleet: still running after 5 minutes, stopping")
  process.exit(2)
}, 300_000)
watchdog.unref()

// ---------------------------------------------------------------------------------------------------------------
// Redis: a redis-server of the benchmark's own, killed and started again on the same port for the outage run.
// ---------------------------------------------------------------------------------------------------------------

const redisBinary = process.env["EFFECT_RETRY_REDIS_SERVER"] ?? "redis-server"

const pong = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("PING\r\n"))
    socket.setTimeout(200, () => socket.destroy())
    socket.on("data", (data) => {
      resolve(String(data).startsWith("+PONG"))
      socket.end()
    })
    socket.on("error", () => resolve(false))
    socket.on("close", () => resolve(false))
  })

const startRedis = async (port: number): Promise<ChildProcess> => {
  const child = spawn(
    redisBinary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore"
    }
  )
  const began = Date.now()
  while (Date.now() - began < 5000) {
    if (await pong(port)) return child
    await new Promise((r) => setTimeout(r, 20))
  }
  child.kill("SIGKILL")
  throw new Error(`redis-server did not answer on port ${port}`)
}

const stopRedis = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

/** Calls a command on the Redis at `port` and answers its raw reply (RESP). */
const command = (port: number, line: string): Promise<string> =>
  new Promise((resolve, reject) => {
    let reply = ""
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${line}\r\n`))
    socket.on("data", (data) => {
      reply += String(data)
      const header = /^\$(\d+)\r\n/.exec(reply)
      if (header !== null && reply.length >= header[0].length + Number(header[1]) + 2) socket.end()
    })
    socket.on("error", reject)
    socket.on("close", () => resolve(reply))
  })

/** `EVALSHA` calls Redis counted, and the microseconds it spent in them (`INFO commandstats`). */
const evalshaCalls = async (port: number): Promise<{ readonly calls: number; readonly usec: number }> => {
  const stats = await command(port, "INFO commandstats")
  const m = /cmdstat_evalsha:calls=(\d+),usec=(\d+)/.exec(stats)
  return m === null ? { calls: 0, usec: 0 } : { calls: Number(m[1]), usec: Number(m[2]) }
}

/**
 * Round trips of `PING` to the Redis at `port`, one every 10 ms on one connection of the parent's, while a run lasts:
 * how long Redis itself (and loopback) takes to answer, apart from the workers' event loops.
 */
const pingMonitor = (port: number) => {
  const samples: Array<number> = []
  let stopped = false
  let socket: net.Socket | undefined
  let sentAt = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const connect = () => {
    if (stopped) return
    const s = net.connect(port, "127.0.0.1", () => {
      sentAt = now()
      s.write("PING\r\n")
    })
    socket = s
    s.on("data", () => {
      samples.push(now() - sentAt)
      timer = setTimeout(() => {
        if (stopped) return
        sentAt = now()
        s.write("PING\r\n")
      }, 10)
    })
    s.on("error", () => {})
    s.on("close", () => {
      if (!stopped) timer = setTimeout(connect, 100)
    })
  }
  connect()
  return () => {
    stopped = true
    if (timer !== undefined) clearTimeout(timer)
    socket?.destroy()
    const sorted = [...samples].sort((a, b) => a - b)
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
    return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? NaN }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The rate-limited server.
// ---------------------------------------------------------------------------------------------------------------

interface Arrival {
  readonly at: number
  readonly worker: number
  readonly call: string
  readonly status: number
  readonly window: number
  /** When its window ends. */
  readonly end: number
  /** When the answer asked to wait (remaining 0, or a 429): the instant it told. */
  readonly toldAt: number | undefined
  /** The reset it told (every answer tells one): an upper bound of its window's end, rounded up to the second. */
  readonly resetAt: number
  /** When the answer left. */
  readonly sentAt: number
}

interface Api {
  readonly url: string
  readonly arrivals: Array<Arrival>
  readonly windowStart: (window: number) => number
  readonly close: () => Promise<void>
}

const startApi = (): Promise<Api> =>
  new Promise((resolve) => {
    // Windows start 377 ms into a second: a reset rounded to whole seconds never lands on one.
    const origin = Math.floor(now() / 1000) * 1000 + 377
    const used = new Map<number, number>()
    const arrivals: Array<Arrival> = []
    const server = http.createServer((request, response) => {
      // A worker's warm-up opens its connections to this server (see fleet-worker.ts): not counted, no quota fields.
      if (request.url?.startsWith("/warm-up/") === true) {
        request.resume()
        response.writeHead(204).end()
        return
      }
      const at = now()
      const window = Math.floor((at - origin) / WINDOW_MS)
      const count = (used.get(window) ?? 0) + 1
      used.set(window, count)
      const end = origin + (window + 1) * WINDOW_MS
      const resetIn = Math.max(1, Math.ceil((end - at) / 1000))
      const resetAt = EPOCH_RESET ? Math.ceil(end / 1000) * 1000 : at + resetIn * 1000
      const status = count <= LIMIT ? 200 : 429
      const remaining = Math.max(0, LIMIT - count)
      const headers: Record<string, string> = {
        "x-ratelimit-limit": String(LIMIT),
        "x-ratelimit-remaining": String(remaining),
        "x-ratelimit-reset": String(EPOCH_RESET ? Math.ceil(end / 1000) : resetIn)
      }
      if (status === 429) headers["retry-after"] = String(resetIn)
      request.resume()
      response.writeHead(status, headers).end("ok")
      arrivals.push({
        at,
        worker: Number(request.headers["x-worker"] ?? -1),
        call: String(request.headers["x-call-id"] ?? ""),
        status,
        window,
        end,
        // (A 429's Retry-After and its reset: the earlier instant.)
        toldAt: status === 429 ? Math.min(at + resetIn * 1000, resetAt) : remaining === 0 ? resetAt : undefined,
        resetAt,
        sentAt: now()
      })
    })
    server.keepAliveTimeout = 30_000
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}`,
        arrivals,
        windowStart: (window) => origin + window * WINDOW_MS,
        close: () =>
          new Promise((r) => {
            server.closeAllConnections()
            server.close(() => r())
          })
      })
    })
  })

// ---------------------------------------------------------------------------------------------------------------
// A run: N workers, their calls at once, an optional Redis outage.
// ---------------------------------------------------------------------------------------------------------------

interface Run {
  readonly id: string
  readonly title: string
  readonly calls: number
  readonly arrivals: ReadonlyArray<Arrival>
  readonly outcomes: ReadonlyArray<CallOutcome>
  readonly start: number
  readonly fallbacks: number
  readonly warnings: number
  readonly events: ReadonlyArray<{ readonly at: number; readonly what: string }>
  /** The longest event-loop delay of any worker during the calls. */
  readonly stallMs: number
  /** Redis `PING` round trips from the parent during the calls (none without Redis). */
  readonly ping:
    | { readonly count: number; readonly p50: number; readonly p99: number; readonly max: number }
    | undefined
}

const runFleet = async (options: {
  readonly id: string
  readonly title: string
  readonly coordinator: "memory" | "redis"
  readonly redisUrl: string
  readonly redisPort: number
  readonly warmUp: string
  readonly perWorker: number
  /** Each Redis call's time-out, when not REDIS_TIMEOUT_MS. */
  readonly timeout?: number
  /** The workers are told the server's limit (`coordinator.limits`). */
  readonly told?: boolean
  readonly outage?: {
    readonly stopAt: number
    readonly startAt: number
    readonly stop: () => Promise<void>
    readonly start: () => Promise<void>
  }
}): Promise<Run> => {
  const api = await startApi()
  const prefix = `fleet-${options.id}-${process.pid}-${Date.now()}`
  const workers = Array.from({ length: WORKERS }, (_, id) => {
    const setup: WorkerSetup = {
      id,
      coordinator: options.coordinator,
      redisUrl: options.redisUrl,
      prefix,
      url: api.url,
      warmUp: options.warmUp,
      calls: options.perWorker,
      timeout: options.timeout ?? REDIS_TIMEOUT_MS,
      callTimeout: TIMEOUT_S,
      // (The server's windows are fixed, back to back.)
      ...(options.told === true ? { told: { requests: LIMIT, windowMs: WINDOW_MS, backToBack: true } } : {})
    }
    return fork(path.join(here, "fleet-worker.js"), [JSON.stringify(setup)], {
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
  })
  const messages = workers.map((child) => {
    const ready = new Promise<void>((resolve) => child.once("message", () => resolve()))
    const done = new Promise<Extract<FromWorker, { kind: "done" }>>((resolve, reject) => {
      child.on("message", (m: FromWorker) => {
        if (m.kind === "done") resolve(m)
      })
      child.once("exit", (code) => reject(new Error(`worker exited with ${code}`)))
    })
    return { ready, done }
  })
  await Promise.all(messages.map((m) => m.ready))
  const stopPing = options.coordinator === "redis" ? pingMonitor(options.redisPort) : undefined
  const start = now()
  for (const child of workers) child.send("go")
  const events: Array<{ at: number; what: string }> = []
  const outage = options.outage
  const timers = outage === undefined ? [] : [
    setTimeout(() => {
      events.push({ at: now() - start, what: "Redis killed" })
      void outage.stop()
    }, outage.stopAt),
    setTimeout(() => {
      void outage.start().then(() => events.push({ at: now() - start, what: "Redis answers again" }))
    }, outage.startAt)
  ]
  const done = await Promise.all(messages.map((m) => m.done))
  const ping = stopPing?.()
  if (outage !== undefined) {
    for (const t of timers) clearTimeout(t)
    // Started again whatever happened, for the runs that follow.
    if (!events.some((e) => e.what === "Redis answers again")) await outage.start()
  }
  for (const child of workers) child.kill()
  await api.close()
  return {
    id: options.id,
    title: options.title,
    calls: WORKERS * options.perWorker,
    arrivals: [...api.arrivals].sort((a, b) => a.at - b.at),
    outcomes: done.flatMap((d) => d.outcomes),
    start,
    fallbacks: done.reduce((n, d) => n + d.fallbacks, 0),
    warnings: done.reduce((n, d) => n + d.warnings, 0),
    events,
    stallMs: Math.max(...done.map((d) => d.stallMs)),
    ping
  }
}

interface Metrics {
  readonly requests: number
  readonly perCall: number
  readonly timeMs: number
  readonly idealMs: number
  readonly ratio: number
  readonly early: number
  /** Requests before the reset of a success that left 0 (rounded up to the second), and how many got a 429. */
  readonly beforeReset: number
  readonly beforeResetRefused: number
  readonly firstWindow: number
  readonly refused: number
  readonly ok: number
  readonly failed: Record<string, number>
  readonly maxPerWindow: number
  readonly maxPerBin: number
  /** Requests of each worker in the server's window of the first request. */
  readonly firstWindowPerWorker: ReadonlyArray<number>
  /** Requests of each worker in the first WINDOW_MS after the fleet's first request, and how many of them got a 429. */
  readonly firstSecondPerWorker: ReadonlyArray<number>
  readonly firstSecondRefused: number
  /** Server windows that received requests; the ideal is calls / limit. */
  readonly windowsUsed: number
  /** Per server window with requests: its first request to its last (ms), summed. */
  readonly spreadMs: number
  /**
   * Per server window with requests after the first: its first request after the earliest reset that the answers of
   * the window used before it told (and that left before that request).
   */
  readonly lateMs: ReadonlyArray<number>
  /** Requests, 429s and early requests from each of the run's events (and its start) to the next. */
  readonly phases: ReadonlyArray<{
    readonly from: number
    readonly requests: number
    readonly refused: number
    readonly early: number
  }>
  /** The longest call, from its start to its outcome. */
  readonly longestMs: number
  /** Calls that ended with something else than an answer or a typed error (a defect, an unknown error). */
  readonly untyped: number
}

/** What a call may end with besides an answer: the library's typed errors (see fleet-worker.ts). */
const TYPED = new Set(["held", "RequestError", "ResponseError", "BodyTooLarge"])

const analyse = (run: Run): Metrics => {
  const arrivals = run.arrivals
  // Early: before the latest instant a 429 had told the fleet, in answers that left REACTION_MS before (as in the
  // main benchmark). Before a reset: the same against every instant told, also the reset of a success with 0 left,
  // which is rounded up to the second: a request after the window opened but before that reset is accepted.
  const told = arrivals.filter((a) => a.toldAt !== undefined).sort((a, b) => a.sentAt - b.sentAt)
  const before = (kept: ReadonlyArray<Arrival>): Array<Arrival> => {
    const found: Array<Arrival> = []
    let latest = -Infinity
    for (let i = 0, k = 0; i < arrivals.length; i++) {
      const a = arrivals[i]!
      while (k < kept.length && kept[k]!.sentAt <= a.at - REACTION_MS) latest = Math.max(latest, kept[k++]!.toldAt!)
      if (a.at < latest - EARLY_TOLERANCE_MS) found.push(a)
    }
    return found
  }
  const earlyOnes = before(told.filter((a) => a.status === 429))
  const early = earlyOnes.length
  const beforeReset = before(told)
  // Between the run's events (Redis killed, Redis back): requests, 429s and early requests of each stretch.
  const marks = [0, ...run.events.map((e) => e.at), Infinity]
  const phases = marks.slice(1).map((end, i) => {
    const inside = (a: Arrival) => a.at - run.start >= marks[i]! && a.at - run.start < end
    return {
      from: marks[i]!,
      requests: arrivals.filter(inside).length,
      refused: arrivals.filter((a) => inside(a) && a.status === 429).length,
      early: earlyOnes.filter(inside).length
    }
  })
  const first = arrivals[0]?.window ?? 0
  const perWindow = new Map<number, number>()
  for (const a of arrivals) perWindow.set(a.window, (perWindow.get(a.window) ?? 0) + 1)
  const perBin = new Map<string, number>()
  for (const a of arrivals) {
    const bin = `${a.worker}:${Math.floor((a.at - run.start) / BIN_MS)}`
    perBin.set(bin, (perBin.get(bin) ?? 0) + 1)
  }
  const start = Math.min(...run.outcomes.map((o) => o.start))
  const end = Math.max(...run.outcomes.map((o) => o.end))
  const idealMs = (Math.ceil(run.calls / LIMIT) - 1) * WINDOW_MS
  const failed: Record<string, number> = {}
  for (const o of run.outcomes) if (o.result !== 200) failed[String(o.result)] = (failed[String(o.result)] ?? 0) + 1
  return {
    requests: arrivals.length,
    perCall: arrivals.length / run.calls,
    timeMs: end - start,
    idealMs,
    ratio: (end - start) / idealMs,
    early,
    beforeReset: beforeReset.length,
    beforeResetRefused: beforeReset.filter((a) => a.status === 429).length,
    firstWindow: perWindow.get(first) ?? 0,
    refused: arrivals.filter((a) => a.status === 429).length,
    ok: run.outcomes.filter((o) => o.result === 200).length,
    failed,
    maxPerWindow: Math.max(...[...perWindow.values()]),
    maxPerBin: Math.max(...[...perBin.values()]),
    firstWindowPerWorker: Array.from(
      { length: WORKERS },
      (_, w) => arrivals.filter((a) => a.window === first && a.worker === w).length
    ),
    phases,
    windowsUsed: perWindow.size,
    spreadMs: [...perWindow.keys()].reduce((sum, w) => {
      const inside = arrivals.filter((a) => a.window === w)
      return sum + (inside[inside.length - 1]!.at - inside[0]!.at)
    }, 0),
    lateMs: [...perWindow.keys()].slice(1).map((w, i) => {
      const previous = [...perWindow.keys()][i]!
      const begin = arrivals.find((a) => a.window === w)!
      const resets = arrivals.filter((a) => a.window === previous && a.sentAt <= begin.at).map((a) => a.resetAt)
      return resets.length === 0 ? NaN : begin.at - Math.min(...resets)
    }),
    firstSecondPerWorker: Array.from(
      { length: WORKERS },
      (_, w) => arrivals.filter((a) => a.at < arrivals[0]!.at + WINDOW_MS && a.worker === w).length
    ),
    firstSecondRefused: arrivals.filter((a) => a.at < arrivals[0]!.at + WINDOW_MS && a.status === 429).length,
    longestMs: Math.max(...run.outcomes.map((o) => o.end - o.start)),
    untyped: run.outcomes.filter((o) => typeof o.result === "string" && !TYPED.has(o.result)).length
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Cost per admission with the Redis store on loopback.
// ---------------------------------------------------------------------------------------------------------------

interface Cost {
  readonly label: string
  readonly admissions: number
  readonly perSecond: number
  readonly microsEach: number
  readonly roundTrips: number | undefined
  /** Microseconds Redis spent in each script call. */
  readonly scriptMicros: number | undefined
}

const ANSWER = { "x-ratelimit-limit": "1000000000", "x-ratelimit-remaining": "999999999", "x-ratelimit-reset": "600" }

const admissions = (coordinator: Coordinator.Coordinator, n: number, concurrency: number) =>
  Effect.forEach(
    Array.from({ length: n }, (_, i) => i),
    () =>
      coordinator.withPermit(
        { method: "GET", url: "https://api.example.com/items", headers: {}, attempt: "first" },
        (permit) => coordinator.observe(permit, { status: 200, headers: ANSWER, receivedAt: Date.now() })
      ),
    { concurrency, discard: true }
  )

const measureCost = async (redisPort: number): Promise<ReadonlyArray<Cost>> => {
  const results: Array<Cost> = []
  const time = async (
    label: string,
    make: Effect.Effect<Coordinator.Coordinator, never, Scope.Scope>,
    n: number,
    concurrency: number,
    redis: boolean
  ) => {
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const coordinator = yield* make
      // The window is learned first (one opener and its answer), as a fleet's first request does.
      yield* admissions(coordinator, 200, 1)
      const calls = redis ? yield* Effect.promise(() => evalshaCalls(redisPort)) : { calls: 0, usec: 0 }
      const began = now()
      yield* admissions(coordinator, n, concurrency)
      const ms = now() - began
      const after = redis ? yield* Effect.promise(() => evalshaCalls(redisPort)) : { calls: 0, usec: 0 }
      results.push({
        label,
        admissions: n,
        perSecond: n / (ms / 1000),
        microsEach: (ms * 1000) / n,
        roundTrips: redis ? (after.calls - calls.calls) / n : undefined,
        scriptMicros: redis && after.calls > calls.calls
          ? (after.usec - calls.usec) / (after.calls - calls.calls)
          : undefined
      })
    })))
  }
  const url = `redis://127.0.0.1:${redisPort}`
  const redis = (name: string) => RedisCoordinator.make({ url, prefix: `cost-${name}-${Date.now()}` })
  await time("in-memory `Coordinator.make()`, one at a time", Coordinator.make(), 20_000, 1, false)
  await time("`RedisCoordinator`, one at a time", redis("seq"), 5_000, 1, true)
  await time("in-memory `Coordinator.make()`, 100 at once", Coordinator.make(), 20_000, 100, false)
  await time("`RedisCoordinator`, 100 at once", redis("par"), 20_000, 100, true)
  return results
}

// ---------------------------------------------------------------------------------------------------------------
// Report.
// ---------------------------------------------------------------------------------------------------------------

const chart = async (runs: ReadonlyArray<Run>): Promise<string> => {
  const values = runs.flatMap((run) => {
    const counts = new Map<string, { run: string; worker: string; t: number; requests: number }>()
    for (const a of run.arrivals) {
      const bin = Math.floor((a.at - run.start) / BIN_MS)
      const k = `${a.worker}:${bin}`
      const entry = counts.get(k) ??
        { run: run.title, worker: `worker ${a.worker + 1}`, t: (bin * BIN_MS) / 1000, requests: 0 }
      entry.requests++
      counts.set(k, entry)
    }
    return [...counts.values()]
  })
  const spec: TopLevelSpec = {
    title: {
      text: `Requests per 100 ms per worker (${WORKERS} workers, server limit ${LIMIT} per second)`,
      anchor: "start"
    },
    data: { values },
    facet: {
      row: {
        field: "run",
        type: "nominal",
        sort: runs.map((r) => r.title),
        title: null,
        header: { labelOrient: "top", labelAnchor: "start", labelAngle: 0, labelFontWeight: "bold" }
      }
    },
    spec: {
      width: 720,
      height: 110,
      mark: { type: "bar" },
      encoding: {
        x: { field: "t", type: "quantitative", bin: { step: BIN_MS / 1000 }, title: "seconds since the calls started" },
        y: { field: "requests", type: "quantitative", aggregate: "sum", stack: "zero", title: "requests" },
        color: { field: "worker", type: "nominal", title: null }
      }
    },
    resolve: { scale: { x: "shared" } }
  }
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

const fmt = (n: number, digits = 2) => n.toFixed(digits)

/** A Markdown table: its header (a column named with a trailing "<" is aligned left, the others right) and rows. */
const table = (lines: Array<string>, head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>) => {
  lines.push(`| ${head.map((h) => h.replace(/<$/, "")).join(" | ")} |`)
  lines.push(`| ${head.map((h) => (h.endsWith("<") ? "---" : "---:")).join(" | ")} |`)
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`)
}

/** Calls per worker in a run. */
const run0Calls = (run: Run) => run.calls / WORKERS

const render = (runs: ReadonlyArray<Run>, costs: ReadonlyArray<Cost>, seconds: number): string => {
  const lines: Array<string> = []
  lines.push("# Fleet benchmark: N processes, one rate limit")
  lines.push("")
  lines.push(
    "Generated by `pnpm bench:fleet` (bench/src/fleet.ts). Every number below was measured by the run that wrote " +
      "this file."
  )
  lines.push("")
  lines.push(
    `Run: ${new Date().toISOString().replace(/\.\d+Z$/, "Z")}, ${fmt(seconds, 0)} s; ${WORKERS} worker processes ` +
      `(\`child_process.fork\`), each with its own \`withStatusRetry()\` client, against one server on 127.0.0.1 that ` +
      `allows ${LIMIT} requests per ${WINDOW_MS / 1000} s window (windows 377 ms into the second), with ` +
      `\`X-RateLimit-Limit/Remaining/Reset\` (reset ${
        EPOCH_RESET ? "as a Unix time in seconds" : "in whole seconds"
      }, rounded up) and 429 + \`Retry-After\`. ` +
      `Node.js ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? "?"}), load ` +
      `${fmt(os.loadavg()[0]!)}; redis-server ${redisVersion}.`
  )
  lines.push("")
  lines.push(
    "req/call: requests the server received per call; time/ideal: from the first call's start to the last call's " +
      "end, over the ideal (the last window needed opens (calls / limit - 1) windows after the first); early: " +
      "requests that arrived before the latest instant a 429 had told the fleet (its `Retry-After`), sent at least " +
      `${REACTION_MS} ms before, as in the main benchmark; before a reset: requests that arrived before the reset ` +
      "of a success that left 0 (rounded up to the second, so the window may have opened before it), and of them " +
      "the ones refused with 429; first window: requests in " +
      "the server's window of the first request; max/window: most requests in one server window; max/100 ms: most " +
      "requests of one worker in 100 ms."
  )
  lines.push("")
  lines.push(
    "| run | calls | ok | req/call | time (ms) | time/ideal | early | before a reset (429) | 429s | first window (per worker) | max/window | max/100 ms per worker | longest call (ms) | store fallbacks | warnings |"
  )
  lines.push(
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  )
  for (const run of runs) {
    const m = analyse(run)
    const failed = Object.entries(m.failed).map(([k, v]) => `${v} ${k}`).join(", ")
    lines.push(
      `| ${run.title} | ${run.calls} | ${m.ok}${failed === "" ? "" : ` (${failed})`} | ${fmt(m.perCall)} | ` +
        `${fmt(m.timeMs, 0)} | ${
          fmt(m.ratio)
        } | ${m.early} | ${m.beforeReset} (${m.beforeResetRefused}) | ${m.refused} | ${m.firstWindow} ` +
        `(${m.firstWindowPerWorker.join(" + ")}) | ${m.maxPerWindow} | ${m.maxPerBin} | ${fmt(m.longestMs, 0)} | ` +
        `${run.fallbacks} | ${run.warnings} |`
    )
  }
  lines.push("")
  lines.push(
    `Every call has a timeout of ${TIMEOUT_S} s; a call that ended with something else than an answer or a typed error ` +
      `(\`OriginHeld\`, \`StatusError\`, an \`HttpClientError\`) would be counted here: ` +
      runs.map((run) => `${run.title}: ${analyse(run).untyped}`).join("; ") + "."
  )
  lines.push("")
  const memory = runs.find((r) => r.id === "memory")
  if (memory !== undefined) {
    const m = analyse(memory)
    const second = m.firstSecondPerWorker.reduce((a, b) => a + b, 0)
    lines.push(
      `Without Redis, each worker learns the limit alone. In the server's first window (which the first request ` +
        `meets at a random point, so it may be short) the fleet sent ${m.firstWindow} requests ` +
        `(${m.firstWindowPerWorker.join(", ")} per worker); in the ${WINDOW_MS} ms from the fleet's first request, ` +
        `${second} (${m.firstSecondPerWorker.join(", ")} per worker; ${m.firstSecondRefused} refused with 429), ` +
        `${fmt(second / LIMIT)}x the server's limit of ${LIMIT}. Not ${WORKERS}x: each worker has ` +
        `${run0Calls(memory)} calls (at most ${fmt((WORKERS * run0Calls(memory)) / LIMIT)}x the limit in all), its ` +
        "in-memory coordinator sends one request first and ramps up as answers come (cautious start), follows the " +
        "remaining quota its own answers report (which the other workers spend too), and holds its calls at its " +
        "first 429's `Retry-After`: together the workers overrun the limit, by less than their number."
    )
    lines.push("")
  }
  lines.push(
    "Where the time goes: server windows that received requests (the ideal is calls / limit), the time from the " +
      "first to the last request of each server window (summed), and how long after the earliest reset told by " +
      "the answers of the window used before it (each an upper bound of that window's end, rounded up to the " +
      "second; only answers that had left) each later window's first request came (negative: before it, by a " +
      "request decided alone, or by one whose answer had not come back yet):"
  )
  lines.push("")
  table(
    lines,
    [
      "run<",
      "windows used (ideal)",
      "first-to-last request per window, summed (ms)",
      "first request after the earliest reset told (ms)<"
    ],
    runs.map((run) => {
      const m = analyse(run)
      return [
        run.title,
        `${m.windowsUsed} (${Math.ceil(run.calls / LIMIT)})`,
        fmt(m.spreadMs, 0),
        m.lateMs.map((x) => (Number.isNaN(x) ? "–" : fmt(x, 0))).join(", ")
      ]
    })
  )
  lines.push("")
  lines.push(
    "Why a Redis call can take longer than its time-out on loopback: the longest event-loop delay of any worker " +
      "during the calls, and `PING` round trips to the same Redis from the benchmark's own process (one every 10 ms):"
  )
  lines.push("")
  lines.push("| run | worker event-loop delay, max (ms) | Redis PING p50 / p99 / max (ms) |")
  lines.push("| --- | ---: | ---: |")
  for (const run of runs) {
    lines.push(
      `| ${run.title} | ${fmt(run.stallMs, 0)} | ${
        run.ping === undefined ? "–" : `${fmt(run.ping.p50, 1)} / ${fmt(run.ping.p99, 1)} / ${fmt(run.ping.max, 1)}`
      } |`
    )
  }
  lines.push("")
  for (const run of runs.filter((r) => r.events.length > 0)) {
    lines.push(`${run.title}: ${run.events.map((e) => `${e.what} at ${fmt(e.at / 1000, 2)} s`).join(", ")}.`)
    lines.push("")
    lines.push("| from (s) | requests | 429s | early |")
    lines.push("| ---: | ---: | ---: | ---: |")
    for (const phase of analyse(run).phases) {
      lines.push(`| ${fmt(phase.from / 1000, 2)} | ${phase.requests} | ${phase.refused} | ${phase.early} |`)
    }
  }
  lines.push("")
  lines.push("![requests per 100 ms per worker](charts/fleet.svg)")
  lines.push("")
  lines.push("## Cost per admission, Redis on loopback")
  lines.push("")
  lines.push(
    "`withPermit` + `observe` of a success that leaves quota, in one process, after the window was learned. " +
      "Round trips: `EVALSHA` calls Redis counted (`INFO commandstats`) per admission. A success that leaves " +
      "quota in a known window is not sent to Redis; only an opener's answer, a 429/503 hint or a spent window is. " +
      "The admissions a process asks for at once share one script call (batched; at most one in flight per bucket " +
      "and process): one at a time, each admission costs one round trip; 100 at once, one round trip admits them " +
      "all. No permits are leased ahead: a process that held permits it did not use would starve the others in " +
      "that window."
  )
  lines.push("")
  lines.push(
    "| coordinator | admissions | per second | µs each | Redis round trips each | µs in Redis per script call |"
  )
  lines.push("| --- | ---: | ---: | ---: | ---: | ---: |")
  for (const c of costs) {
    lines.push(
      `| ${c.label} | ${c.admissions} | ${fmt(c.perSecond, 0)} | ${fmt(c.microsEach, 1)} | ${
        c.roundTrips === undefined ? "–" : fmt(c.roundTrips, 3)
      } | ${c.scriptMicros === undefined ? "–" : fmt(c.scriptMicros, 1)} |`
    )
  }
  lines.push("")
  return lines.join("\n")
}

let redisVersion = "?"

const main = async () => {
  try {
    redisVersion = /v=(\S+)/.exec(execFileSync(redisBinary, ["--version"]).toString())?.[1] ?? "?"
  } catch {
    console.error(
      "bench:fleet needs redis-server: run `node scripts/redis-server.mjs` as root (Debian's package), or install it"
    )
    process.exit(1)
  }
  const began = now()
  const port = await freePort()
  let redis = await startRedis(port)
  process.on("exit", () => redis.kill("SIGKILL"))
  const redisUrl = `redis://127.0.0.1:${port}`
  const warmUpServer = http.createServer((_, response) =>
    response.writeHead(200, {
      "x-ratelimit-limit": "1000000",
      "x-ratelimit-remaining": "999999",
      "x-ratelimit-reset": "1"
    }).end("ok")
  )
  await new Promise<void>((resolve) => warmUpServer.listen(0, "localhost", () => resolve()))
  const warmUp = `http://localhost:${(warmUpServer.address() as net.AddressInfo).port}/warm-up`
  const runs: Array<Run> = []
  const log = (run: Run) => {
    const m = analyse(run)
    if (process.env["FLEET_TRACE"]) {
      for (let w = 0; w < WORKERS; w++) {
        const mine = run.outcomes.filter((o) => o.call.startsWith(`w${w}-`))
        const first = run.arrivals.find((a) => a.worker === w)
        console.log(
          `worker ${w}: calls start ${
            (Math.min(...mine.map((o) => o.start)) - run.start).toFixed(0)
          } ms, first arrival ${first === undefined ? "-" : (first.at - run.start).toFixed(0)} ms`
        )
      }
      for (const a of run.arrivals) {
        console.log(
          `${(a.at - run.start).toFixed(0)} w${a.window} ends ${
            (a.end - run.start).toFixed(0)
          } worker ${a.worker} ${a.status}`
        )
      }
    }
    console.log(
      `${run.title}: ${m.ok}/${run.calls} ok, ${fmt(m.perCall)} req/call, ${fmt(m.ratio)} x ideal, ${m.early} early, ` +
        `${m.beforeReset} before a reset (${m.beforeResetRefused} refused), ` +
        `${m.refused} 429s, first window ${m.firstWindow} (${m.firstWindowPerWorker.join("+")}), first ` +
        `${WINDOW_MS} ms ${m.firstSecondPerWorker.join("+")} (${m.firstSecondRefused} 429s), longest ` +
        `${fmt(m.longestMs, 0)} ms, untyped ${m.untyped}, fallbacks ${run.fallbacks}, stall ${fmt(run.stallMs, 0)} ms` +
        (run.ping === undefined ? "" : `, ping p99 ${fmt(run.ping.p99, 1)} max ${fmt(run.ping.max, 1)} ms`) +
        (run.events.length === 0
          ? ""
          : `; by stretch: ${
            m.phases.map((p) =>
              `from ${fmt(p.from / 1000, 2)} s ${p.requests} req, ${p.refused} 429s, ${p.early} early`
            )
              .join("; ")
          }`)
    )
  }
  const perWorker = 120 / WORKERS
  for (
    const [id, title, coordinator, timeout, told] of [
      ["memory", "in-memory coordinator per worker", "memory", undefined, false],
      ["redis", `shared through Redis (time-out ${REDIS_TIMEOUT_MS} ms)`, "redis", undefined, false],
      ["redis-patient", "shared through Redis (time-out 1 s: no call decided alone)", "redis", 1000, false],
      [
        "redis-told",
        `shared through Redis (time-out ${REDIS_TIMEOUT_MS} ms), told the limit (${LIMIT} per ${WINDOW_MS} ms)`,
        "redis",
        undefined,
        true
      ]
    ] as const
  ) {
    if (!selected(id)) continue
    const run = await runFleet({
      id,
      title,
      coordinator,
      redisUrl,
      redisPort: port,
      warmUp,
      perWorker,
      told,
      ...(timeout === undefined ? {} : { timeout })
    })
    runs.push(run)
    log(run)
  }
  if (selected("outage")) {
    const outage = await runFleet({
      id: "outage",
      title: `shared through Redis (time-out ${REDIS_TIMEOUT_MS} ms), Redis killed at 2 s, back at 3.5 s`,
      coordinator: "redis",
      redisUrl,
      redisPort: port,
      warmUp,
      perWorker: 240 / WORKERS,
      outage: {
        stopAt: 2000,
        startAt: 3500,
        stop: () => stopRedis(redis),
        start: async () => {
          redis = await startRedis(port)
        }
      }
    })
    runs.push(outage)
    log(outage)
  }
  const costs = selected("cost") ? await measureCost(port) : []
  for (const c of costs) {
    console.log(
      `${c.label}: ${fmt(c.perSecond, 0)}/s, ${fmt(c.microsEach, 1)} µs, ${c.roundTrips ?? "–"} round trips, ` +
        `${c.scriptMicros === undefined ? "–" : fmt(c.scriptMicros, 1)} µs in Redis per script call`
    )
  }
  await stopRedis(redis)
  fs.mkdirSync(path.join(benchDir, "charts"), { recursive: true })
  fs.writeFileSync(path.join(benchDir, "charts", "fleet.svg"), await chart(runs))
  fs.writeFileSync(path.join(benchDir, "FLEET.md"), render(runs, costs, (now() - began) / 1000))
  console.log("wrote bench/FLEET.md and bench/charts/fleet.svg")
  process.exit(0)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
