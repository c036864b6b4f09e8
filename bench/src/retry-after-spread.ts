/**
 * `pnpm bench:spread`: does the default `retryAfterSpread` (`RetryPolicy.defaults`) earn its cost? Two workloads, each run with the
 * spread at its default and at 0, in alternation, `SPREAD_ROUNDS` times (5 by default). The server runs in this
 * process, on 127.0.0.1; every client is `withStatusRetry()` over `NodeHttpClient` in a worker process of its own
 * (`child_process.fork`), so the server's work does not delay the clients' timers.
 *
 * - **cost**: one program, 120 calls at once, against 40 requests per fixed one-second window that starts on a whole
 *   second, the rest answered 429 with `Retry-After` in whole seconds to the window's end. The retries come back
 *   together, a second after their answers, so the spread can only add to the wait. Figures: the time until every
 *   call has succeeded over the ideal (the start of the window in which the last call can be accepted), the
 *   requests, and how long after the instant told the retries arrived.
 * - **herd**: a fleet of programs started together against a server in maintenance, which holds every call's first
 *   request until the whole fleet's have come, then answers them all at once: 503 with `Retry-After: 3`, so every
 *   client is told the same instant. From then on it serves, but sheds load: past a capacity of requests in flight
 *   (each takes `HERD_WORK_MS`), a request is answered 503 with `Retry-After: 1`. That is the herd the spread is for:
 *   clients told one instant by a server that is just coming back. Two fleets (`HERDS`): many programs of one call
 *   each, and a few busy ones. Figures: calls that succeeded, requests per call, the instants the retries were
 *   planned for (as `onRetry` was told them: what a fleet of machines with time to spare would send), requests
 *   shed, when the first request came after the instant told, how many came in the 100 ms from it, the most in any
 *   10 ms, and when the last call succeeded.
 *
 * Writes bench/SPREAD.md and prints one JSON line. `node bench/build/retry-after-spread.js worker` is a worker.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { RetryPolicy } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { type ChildProcess, fork } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { now } from "./protocol.js"

const ROUNDS = Math.max(1, Number(process.env["SPREAD_ROUNDS"] ?? 5))
/** The default spread (`RetryPolicy.defaults`), and none. */
const SPREADS = [RetryPolicy.defaults.retryAfterSpread, 0] as const
const COST = { calls: 120, limit: 40 } as const
/** The fleets of the herd workload: many programs of one call each, and a few busy ones. */
const HERDS = [
  { workers: 20, calls: 1, capacity: 2 },
  { workers: 10, calls: 20, capacity: 10 }
] as const
type Herd = (typeof HERDS)[number]
/** What the maintenance answers tell (seconds), and how long each request takes once the server serves again. */
const HERD_RETRY_AFTER_SECONDS = 3
const HERD_WORK_MS = 5

/** What the parent tells a worker: where to send its calls, how many, with which spread. */
interface Setup {
  readonly url: string
  readonly calls: number
  readonly spread: number
}

/** What a worker answers once all its calls have ended. */
interface Report {
  readonly ok: number
  readonly failed: number
  /** When each successful call ended (epoch ms). */
  readonly ends: ReadonlyArray<number>
  /** The instant each call's first retry was planned for, as `onRetry` was told it (epoch ms). */
  readonly planned: ReadonlyArray<number>
}

/** The path prefix of the workers' warm-up calls: answered 200 at once, and not counted. */
const WARM = "/warm"

const worker = () => {
  // One HTTP client for the worker's life (one connection pool), as a program keeps one.
  const runtime = ManagedRuntime.make(NodeHttpClient.layer)
  /** The instant each call's first retry is planned for. */
  const planned: Array<number> = []
  const onRetry = (info: RetryPolicy.RetryInfo) =>
    Effect.sync(() => {
      if (info.attempt === 1) planned.push(now() + Duration.toMillis(info.delay))
    })
  /** `count` calls at once to `path`/i, each through `withStatusRetry()`: when each succeeded, or None. */
  const calls = (setup: Setup, path: string, count: number) =>
    runtime.runPromise(Effect.flatMap(HttpClient.HttpClient, (http) => {
      const client = http.pipe(withStatusRetry({ retryAfterSpread: setup.spread, onRetry }))
      return Effect.forEach(
        Array.from({ length: count }, (_, i) => i),
        (i) =>
          Effect.flatMap(client.get(`${setup.url}${path}/${i}`), (response) => response.text).pipe(
            Effect.map(() => now()),
            Effect.option
          ),
        { concurrency: "unbounded" }
      )
    }))
  let setup: Setup | undefined
  process.on("message", (message: { readonly op: "setup"; readonly setup: Setup } | { readonly op: "go" }) => {
    if (message.op === "setup") {
      setup = message.setup
      // Warm: as many calls at once, answered 200 at once and not counted, so that the measured calls meet a
      // process whose code is compiled and whose connections are open, as a program's are.
      void calls(setup, WARM, setup.calls).then(() => process.send!({ op: "ready" }))
      return
    }
    void calls(setup!, "/items", setup!.calls).then((results) => {
      const ends = results.flatMap((end) => (end._tag === "Some" ? [end.value] : []))
      const report: Report = { ok: ends.length, failed: results.length - ends.length, ends, planned }
      process.send!({ op: "report", report }, () => process.exit(0))
    })
  })
  process.on("disconnect", () => process.exit(0))
}

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!
}

/**
 * Forks `count` workers, each set up with `setup(i)`; once all are ready, waits for `start` (which says when to go,
 * epoch ms), starts them together and collects their reports. Answers the reports and when they were started.
 */
const fleet = async (
  count: number,
  setup: (i: number) => Setup,
  start: () => number = now
): Promise<{ readonly reports: ReadonlyArray<Report>; readonly startedAt: number }> => {
  const script = fileURLToPath(import.meta.url)
  const children: Array<ChildProcess> = []
  const reports: Array<Promise<Report>> = []
  const ready: Array<Promise<void>> = []
  for (let i = 0; i < count; i++) {
    const child = fork(script, ["worker"], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    children.push(child)
    ready.push(
      new Promise((resolve, reject) => {
        child.once("message", () => resolve())
        child.once("exit", (code) => reject(new Error(`spread worker ${i} exited (${code}) before it was ready`)))
      })
    )
    reports.push(
      new Promise((resolve, reject) => {
        child.on("message", (message: { readonly op: string; readonly report?: Report }) => {
          if (message.op === "report") resolve(message.report!)
        })
        child.once("exit", (code) => reject(new Error(`spread worker ${i} exited (${code}) before its report`)))
      })
    )
    child.send({ op: "setup", setup: setup(i) })
  }
  await Promise.all(ready)
  const at = start()
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())))
  const startedAt = now()
  for (const child of children) child.send({ op: "go" })
  return { reports: await Promise.all(reports), startedAt }
}

const listen = async (handler: http.RequestListener): Promise<{ server: http.Server; base: string }> => {
  const server = http.createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

/** Answers a warm-up call (200 at once), if this is one. */
const warm = (request: http.IncomingMessage, response: http.ServerResponse): boolean => {
  if (request.url?.startsWith(`${WARM}/`) !== true) return false
  response.writeHead(200, { "content-length": "2" })
  response.end("ok")
  return true
}

const close = (server: http.Server) =>
  new Promise<void>((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })

interface CostRound {
  readonly spread: number
  readonly ratio: number
  readonly requests: number
  readonly lateMedianMs: number
  readonly lateMaxMs: number
}

const costRound = async (spread: number): Promise<CostRound> => {
  // Fixed windows from a whole second; a refused call is told the whole seconds left to the window's end.
  let windowStart = 0
  let used = 0
  let requests = 0
  const late: Array<number> = []
  const told = new Map<string, number>()
  const { base, server } = await listen((request, response) => {
    if (warm(request, response)) return
    const at = now()
    requests++
    const current = Math.floor(at / 1000) * 1000
    if (current !== windowStart) {
      windowStart = current
      used = 0
    }
    const key = request.url ?? ""
    const instant = told.get(key)
    if (instant !== undefined) late.push(at - instant)
    if (used < COST.limit) {
      used++
      response.writeHead(200, { "content-length": "2" })
      return response.end("ok")
    }
    const seconds = Math.max(1, Math.ceil((windowStart + 1000 - at) / 1000))
    // The instant a whole-second Retry-After names, from when the answer leaves.
    told.set(key, at + seconds * 1000)
    response.writeHead(429, { "retry-after": String(seconds), "content-length": "4" })
    return response.end("slow")
  })
  // Started just after a window opens, as the peers of the rate-limit workload do.
  const { reports, startedAt } = await fleet(
    1,
    () => ({ url: base, calls: COST.calls, spread }),
    () => Math.ceil(now() / 1000) * 1000 + 5
  )
  await close(server)
  const report = reports[0]
  if (report === undefined || report.failed > 0) throw new Error(`spread cost round: ${report?.failed} calls failed`)
  const took = Math.max(...report.ends) - startedAt
  // The last call can be accepted at the start of window ceil(CALLS / LIMIT) - 1 after the first one used.
  const firstWindow = Math.floor(startedAt / 1000) * 1000
  const ideal = firstWindow + (Math.ceil(COST.calls / COST.limit) - 1) * 1000 - startedAt
  return {
    spread,
    ratio: took / ideal,
    requests,
    lateMedianMs: median(late),
    lateMaxMs: Math.max(...late)
  }
}

interface HerdRound {
  readonly herd: Herd
  readonly spread: number
  readonly calls: number
  readonly ok: number
  readonly requests: number
  readonly shed: number
  /** The most requests that arrived in any 10 ms from the instant told on. */
  readonly peak10Ms: number
  /** From the instant told until the last call succeeded. */
  readonly lastMs: number
  /** When the first request after the instant told arrived, after it. */
  readonly firstMs: number
  /** Requests that arrived in the 100 ms from the first one after the instant told. */
  readonly first100Ms: number
  /** Over the fleet, from the earliest to the latest instant a call's retry was planned for. */
  readonly plannedRangeMs: number
  /** The most retries planned for any 10 ms. */
  readonly plannedPeak10Ms: number
}

/** The most of these instants (in ascending order) in any 10 ms. */
const peak10Ms = (instants: ReadonlyArray<number>): number => {
  let peak = 0
  for (let i = 0, j = 0; i < instants.length; i++) {
    while (instants[i]! - instants[j]! >= 10) j++
    peak = Math.max(peak, i - j + 1)
  }
  return peak
}

const herdRound = async (herd: Herd, spread: number): Promise<HerdRound> => {
  const total = herd.workers * herd.calls
  /** The instant told, once the maintenance answers have left. */
  let until = Infinity
  let inFlight = 0
  let requests = 0
  let shed = 0
  const parked: Array<http.ServerResponse> = []
  const arrivals: Array<number> = []
  // Every call's first request is held until the whole fleet's have come (or five seconds after the fleet started),
  // then all are answered at once: 503, `Retry-After` in seconds, every client told the same instant.
  const release = () => {
    if (parked.length === 0) return
    until = now() + HERD_RETRY_AFTER_SECONDS * 1000
    for (const response of parked.splice(0)) {
      response.writeHead(503, { "retry-after": String(HERD_RETRY_AFTER_SECONDS), "content-length": "11" })
      response.end("maintenance")
    }
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const { base, server } = await listen((request, response) => {
    if (warm(request, response)) return
    const at = now()
    requests++
    request.resume()
    if (until === Infinity) {
      parked.push(response)
      if (parked.length === total) release()
      return
    }
    arrivals.push(at)
    if (inFlight >= herd.capacity) {
      shed++
      response.writeHead(503, { "retry-after": "1", "content-length": "4" })
      response.end("busy")
      return
    }
    inFlight++
    setTimeout(() => {
      inFlight--
      response.writeHead(200, { "content-length": "2" })
      response.end("ok")
    }, HERD_WORK_MS)
  })
  const { reports } = await fleet(herd.workers, () => ({ url: base, calls: herd.calls, spread }), () => {
    // (From the fleet's start: the workers' start-up does not count.)
    timer = setTimeout(release, 5000)
    return now()
  })
  clearTimeout(timer)
  await close(server)
  const ok = reports.reduce((sum, r) => sum + r.ok, 0)
  const ends = reports.flatMap((r) => r.ends)
  const planned = reports.flatMap((r) => r.planned).sort((a, b) => a - b)
  return {
    herd,
    spread,
    calls: total,
    ok,
    requests,
    shed,
    peak10Ms: peak10Ms(arrivals),
    lastMs: ends.length === 0 ? NaN : Math.max(...ends) - until,
    firstMs: arrivals.length === 0 ? NaN : arrivals[0]! - until,
    first100Ms: arrivals.filter((at) => at < arrivals[0]! + 100).length,
    plannedRangeMs: planned.length === 0 ? NaN : planned.at(-1)! - planned[0]!,
    plannedPeak10Ms: peak10Ms(planned)
  }
}

const fixed = (x: number, digits: number) => (Number.isFinite(x) ? x.toFixed(digits) : "–")

const report = (costs: ReadonlyArray<CostRound>, herds: ReadonlyArray<HerdRound>, seconds: number): string => {
  const by = <A extends { readonly spread: number }>(rows: ReadonlyArray<A>, spread: number) =>
    rows.filter((row) => row.spread === spread)
  const list = (xs: ReadonlyArray<number>, digits: number) => xs.map((x) => fixed(x, digits)).join(", ")
  const costRows = SPREADS.map((spread) => {
    const rows = by(costs, spread)
    return `| ${spread} | ${list(rows.map((r) => r.ratio), 3)} | ${list(rows.map((r) => r.requests), 0)} | ${
      list(rows.map((r) => r.lateMedianMs), 0)
    } | ${list(rows.map((r) => r.lateMaxMs), 0)} |`
  })
  const herdRows = HERDS.flatMap((herd) =>
    SPREADS.map((spread) => {
      const rows = by(herds, spread).filter((row) => row.herd === herd)
      return `| ${herd.workers} × ${herd.calls} | ${herd.capacity} | ${spread} | ${
        rows.map((r) => `${r.ok}/${r.calls}`).join(", ")
      } | ${list(rows.map((r) => r.requests / r.calls), 2)} | ${list(rows.map((r) => r.plannedRangeMs), 0)} | ${
        list(rows.map((r) => r.plannedPeak10Ms), 0)
      } | ${list(rows.map((r) => r.shed), 0)} | ${list(rows.map((r) => r.firstMs), 0)} | ${
        list(rows.map((r) => r.first100Ms), 0)
      } | ${list(rows.map((r) => r.peak10Ms), 0)} | ${list(rows.map((r) => r.lastMs), 0)} |`
    })
  )
  const medianOf = <A extends { readonly spread: number }>(
    rows: ReadonlyArray<A>,
    spread: number,
    value: (row: A) => number
  ) => median(by(rows, spread).map(value))
  const [on, off] = SPREADS
  const summary = [
    `- cost: time/ideal ${fixed(medianOf(costs, on, (r) => r.ratio), 3)} with the spread, ${
      fixed(medianOf(costs, off, (r) => r.ratio), 3)
    } without (medians of the rounds);`,
    ...HERDS.map((herd) => {
      const of = herds.filter((row) => row.herd === herd)
      return `- fleet ${herd.workers} × ${herd.calls}: ${
        fixed(medianOf(of, on, (r) => r.shed), 0)
      } requests shed with the spread, ${fixed(medianOf(of, off, (r) => r.shed), 0)} without; retries planned over ${
        fixed(medianOf(of, on, (r) => r.plannedRangeMs), 0)
      } ms with it, ${fixed(medianOf(of, off, (r) => r.plannedRangeMs), 0)} ms without; last call ${
        fixed(medianOf(of, on, (r) => r.lastMs), 0)
      } ms after the instant with it, ${fixed(medianOf(of, off, (r) => r.lastMs), 0)} ms without.`
    })
  ]
  return [
    "# Does the Retry-After spread earn its cost?",
    "",
    "Generated by `pnpm bench:spread` (bench/src/retry-after-spread.ts). Every number below was measured by the run",
    "that wrote this file.",
    "",
    `Run: ${
      new Date().toISOString().replace(/\.\d+Z$/, "Z")
    }, ${seconds} s; Node.js ${process.version}, ${os.cpus().length} cores, load ${
      fixed(os.loadavg()[0]!, 2)
    }. Each workload ran ${ROUNDS} times with \`retryAfterSpread\` at its`,
    `default (${on}: up to ${on * 100} % of the wait added, drawn per retry) and at 0, in alternation; one value per`,
    "round, in the order they ran. Every client is `withStatusRetry({ retryAfterSpread })` over `NodeHttpClient`, in",
    "a worker process of its own; the server runs in the benchmark's process, on 127.0.0.1.",
    "",
    ...summary,
    "",
    "## Cost: one program, a rate limit",
    "",
    `${COST.calls} calls at once against ${COST.limit} requests per fixed one-second window that starts on a whole`,
    "second; the rest are answered 429 with `Retry-After` in whole seconds to the window's end (1 here), so the",
    "retries come back together, a second after their answers. The spread can only add to each wait here.",
    "time/ideal: until every call succeeded, over the time until the window in which the last call can be accepted",
    "opens; late: how long after the instant told each retry arrived.",
    "",
    "| spread | time/ideal | requests | late, median (ms) | late, max (ms) |",
    "| ---: | --- | --- | --- | --- |",
    ...costRows,
    "",
    "## Earning: a fleet told one instant by a server coming back",
    "",
    "Programs (worker processes) started together against a server in maintenance, which holds every call's first",
    `request until the whole fleet's have come, then answers them all at once: 503 with \`Retry-After: ${HERD_RETRY_AFTER_SECONDS}\`,`,
    "so every client is told the same instant. From then on the server serves, but sheds load: past its capacity of",
    `requests in flight (each takes ${HERD_WORK_MS} ms), a request is answered 503 with \`Retry-After: 1\`. fleet:`,
    "programs × calls each; ok: calls that succeeded (the defaults allow 4 attempts while transient); planned: the",
    "instants the calls' retries were planned for (when `onRetry` ran, plus the delay it was told), over the whole",
    "fleet: from the earliest to the latest, and the most in any 10 ms (what a fleet of machines with time to spare",
    "would send; on this machine, the arrivals below are spread further by the fleet's own CPU); shed: requests",
    "answered `busy`; first: when the first request after the instant told arrived, after it; first 100 ms: requests",
    "that arrived in the 100 ms from that one; peak: the most requests that arrived in any 10 ms; last: from the",
    "instant told until the last call succeeded.",
    "",
    "| fleet | capacity | spread | ok | requests per call | planned over (ms) | planned, peak per 10 ms | shed | " +
    "first (ms) | first 100 ms | peak per 10 ms | last (ms) |",
    "| --- | ---: | ---: | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ...herdRows,
    ""
  ].join("\n")
}

const main = async () => {
  const started = now()
  const costs: Array<CostRound> = []
  const herds: Array<HerdRound> = []
  for (let r = 0; r < ROUNDS; r++) {
    for (const spread of SPREADS) costs.push(await costRound(spread))
    for (const herd of HERDS) for (const spread of SPREADS) herds.push(await herdRound(herd, spread))
  }
  const seconds = Math.round((now() - started) / 1000)
  const here = path.dirname(fileURLToPath(import.meta.url))
  fs.writeFileSync(path.join(here, "..", "SPREAD.md"), report(costs, herds, seconds))
  console.log(JSON.stringify({ rounds: ROUNDS, costs, herds }))
}

if (process.argv[2] === "worker") worker()
else await main()
