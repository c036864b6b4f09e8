/**
 * `pnpm bench`: runs every workload through `withStatusRetry()` and the peers, against one local server process
 * (and a real nginx), then the overhead and micro-benchmarks, and writes bench/RESULTS.md with the tables and SVG
 * charts. Every client is made once and kept for the whole run, as a program keeps its client.
 *
 * Environment: BENCH_SEED (the seed of the flaky answers and the start offsets; random by default), BENCH_REPEATS
 * (default 1: that many programs per client, side by side), BENCH_RENDER=1 (no run: RESULTS.md and the README summary
 * written again from the last run's bench/results/results.json).
 */
import { execFile } from "node:child_process"
import { randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import { adapters, describe } from "./adapters.js"
import { attemptTimeline, statusTimeline } from "./charts.js"
import {
  type ClientRun,
  type Lane,
  type OverheadResult,
  pairedRequests,
  type PairedResult,
  runOverhead,
  runWorkload,
  startServer,
  type Targets,
  WATCHDOG_MS,
  warmUp
} from "./harness.js"
import { median } from "./metrics.js"
import { CONTROL_ID } from "./overhead.js"
import type { FailedAttempt, FailedAttemptRun, FailedScenario, Measured, Scenario } from "./failed-attempt.js"
import type { MicroMemory, MicroOrigins, MicroTime, MicroWaiting, OriginPath } from "./micro.js"
import { type Nginx, startNginx } from "./nginx.js"
import { now } from "./protocol.js"
import { PEER_WORKLOADS, render, type Results, vsBestPeer } from "./report.js"
import { deriveSeed } from "./rng.js"
import { NGINX, RATE_LIMIT, workloads } from "./workloads.js"

/** Each client of the micro-benchmark is timed this many times, each time in a fresh process. */
const TIME_PASSES = 3
/** The failed-attempt script's CPU is measured in this many fresh processes (FAILED_ATTEMPT_PROCESSES overrides it). */
const FAILED_ATTEMPT_PROCESSES = Number(process.env["FAILED_ATTEMPT_PROCESSES"] ?? 3)

const here = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.resolve(here, "..")
const began = now()
const loadAtStart = os.loadavg()[0]!
const elapsed = () => ((now() - began) / 1000).toFixed(1)
const log = (message: string) => console.log(`[${elapsed().padStart(5)} s] ${message}`)

// Bounded whatever happens: the server process is killed on exit (harness.ts), and this stops a run that hangs.
const watchdog = setTimeout(() => {
  console.error(`bench: still running after ${WATCHDOG_MS / 1000} s, stopping`)
  process.exit(2)
}, WATCHDOG_MS)
watchdog.unref()
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130))

let phase = "start"
const unhandled: Array<string> = []
process.on("unhandledRejection", (error) => {
  unhandled.push(`${phase}: unhandled rejection: ${describe(error)}`)
})
process.on("uncaughtException", (error) => {
  unhandled.push(`${phase}: uncaught exception: ${describe(error)}`)
})
/**
 * Warnings Node.js printed during the run (a `setTimeout` past its 24.8-day limit, a listener leak...), each with the
 * package whose code raised it: the first frame of its stack under `node_modules`, else "the benchmark".
 */
const warnings: Array<
  { readonly phase: string; readonly name: string; readonly message: string; readonly from: string }
> = []
/**
 * Steps of the system clock during the run (wall time moving against the monotonic clock by more than 20 ms between
 * two readings 50 ms apart): every time the server logs, and every instant a server tells, is wall time.
 */
const clockSteps: Array<{ readonly phase: string; readonly at: string; readonly ms: number }> = []
let wallLead = Date.now() - performance.now()
setInterval(() => {
  const lead = Date.now() - performance.now()
  if (Math.abs(lead - wallLead) > 20) {
    clockSteps.push({ phase, at: new Date().toISOString(), ms: Math.round(lead - wallLead) })
  }
  wallLead = lead
}, 50).unref()
/**
 * The benchmark process's own garbage collection, per workload: its pauses stop every client it measures (a paced
 * client loses the time; a timer fires late), and they grow with what the process holds.
 */
const collections: Array<NonNullable<Results["collections"]>[number]> = []
let pauses: Array<number> = []
/** How often the event loop's delay is sampled (ms): a reading includes it. */
const LOOP_RESOLUTION_MS = 10
/**
 * How late the benchmark process's timers fired, per workload: a stall of the process (its own work, or the machine
 * taking the CPU away) delays every client it measures at once, whether or not a collection caused it.
 */
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS })
loopDelay.enable()
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) pauses.push(entry.duration)
}).observe({ entryTypes: ["gc"] })
process.on("warning", (warning) => {
  const frame = (warning.stack ?? "").split("\n").find((line) => line.includes("node_modules"))
  const from = frame?.match(/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/)?.[1] ?? "the benchmark"
  warnings.push({ phase, name: warning.name, message: warning.message, from })
})

const seed = process.env["BENCH_SEED"] !== undefined ? Number(process.env["BENCH_SEED"]) >>> 0 : randomInt(2 ** 31)
// One program per client by default: repeats run side by side, and at 3 the load of 27 clients on this 2-core
// machine (over 3000 calls in the first second of a rate-limit workload) swamps the timings it measures.
const repeats = Math.max(1, Number(process.env["BENCH_REPEATS"] ?? 1))
const seeds = Array.from({ length: repeats }, (_, r) => deriveSeed(seed, r))
/**
 * A partial run while developing: `BENCH_ONLY=<workload ids>` and `BENCH_CLIENTS=<client ids>` (comma-separated) run
 * only those, print their figures and write no results, charts or README summary.
 */
const onlyWorkloads = process.env["BENCH_ONLY"]?.split(",").filter((s) => s !== "")
const onlyClients = process.env["BENCH_CLIENTS"]?.split(",").filter((s) => s !== "")
const partial = onlyWorkloads !== undefined || onlyClients !== undefined
const included = (adapter: { readonly id: string }) => onlyClients === undefined || onlyClients.includes(adapter.id)

/** Version and declared Node.js engines of an installed package, from its own package.json. */
const versionOf = (name: string): readonly [string, string, string] => {
  try {
    const json = JSON.parse(fs.readFileSync(path.join(benchDir, "node_modules", name, "package.json"), "utf8")) as {
      version?: string
      engines?: { node?: string }
    }
    return [name, json.version ?? "?", json.engines?.node ?? "–"]
  } catch {
    return [name, "not installed", "–"]
  }
}

const runMicro = (args: ReadonlyArray<string>, flags: ReadonlyArray<string>, script = "micro.js"): Promise<unknown> =>
  new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...flags, path.join(here, script), ...args],
      { timeout: 90_000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error !== null) return reject(new Error(`micro ${args.join(" ")}: ${error.message}\n${stderr}`))
        resolve(JSON.parse(stdout.trim().split("\n").pop()!))
      }
    )
  })

/** The repeat whose completion time is the median, for each client that ran: what the charts show. */
const medianRuns = (perRepeat: ReadonlyArray<ReadonlyArray<ClientRun | undefined>>): ReadonlyArray<ClientRun> =>
  adapters.flatMap((_, i) => {
    const runs = perRepeat.flatMap((repeat) => (repeat[i] === undefined ? [] : [repeat[i]!]))
      .sort((a, b) => a.metrics.timeMs - b.metrics.timeMs)
    return runs.length === 0 ? [] : [runs[Math.floor((runs.length - 1) / 2)]!]
  })

/** The figures of the `cpu` and `heap` lines, together. */
/**
 * The CPU runs of the failed-attempt script, each in a fresh process, joined: per call, the mean over the processes;
 * a ratio, what the mean failing call takes over the mean `ok` call, set against the mean `ok` call.
 */
const joinCpuRuns = (runs: ReadonlyArray<FailedAttemptRun>): FailedAttemptRun => {
  const perCall = (scenario: Scenario) =>
    Math.round(runs.reduce((sum, run) => sum + run.perCall[scenario], 0) / runs.length)
  const ok = perCall("ok")
  const ratio = (scenario: "503" | "429") => +((perCall(scenario) - ok) / ok).toFixed(2)
  return {
    ...runs[0]!,
    perCall: { ok, "503": perCall("503"), "429": perCall("429") },
    ratios: { "503": ratio("503"), "429": ratio("429") },
    samples: runs.reduce((sum, run) => sum + run.samples, 0)
  }
}

const joinFailedAttempt = (
  cpuRuns: ReadonlyArray<FailedAttemptRun>,
  heap: FailedAttemptRun
): FailedAttempt => {
  const cpu = joinCpuRuns(cpuRuns)
  const measured = (scenario: Scenario): Measured => ({
    nsPerCall: cpu.perCall[scenario],
    bytesPerCall: heap.perCall[scenario],
    heapSamples: heap.samples
  })
  const failed = (scenario: "503" | "429"): FailedScenario => ({
    ...measured(scenario),
    failedAttemptNs: Math.round(cpu.perCall[scenario] - cpu.perCall.ok),
    failedAttemptBytes: Math.round(heap.perCall[scenario] - heap.perCall.ok),
    cpuRatio: cpu.ratios[scenario],
    allocationRatio: heap.ratios[scenario]
  })
  return {
    cpuCalls: cpu.calls,
    heapCalls: heap.calls,
    concurrency: cpu.concurrency,
    cpuProcesses: cpuRuns.map((run) => run.ratios),
    rounds: cpu.rounds,
    heapRounds: heap.rounds,
    ok: measured("ok"),
    "503": failed("503"),
    "429": failed("429")
  }
}

const main = async () => {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, "Z")
  log(`seed ${seed}, ${repeats} repeats, ${adapters.length} clients, ${workloads.length} timed workloads`)
  const resultsDir = path.join(benchDir, "results")
  const chartsDir = path.join(benchDir, "charts")
  fs.mkdirSync(resultsDir, { recursive: true })
  fs.mkdirSync(chartsDir, { recursive: true })

  const server = await startServer(path.join(here, "server.js"))
  const runs = new Map<string, ReadonlyArray<ReadonlyArray<ClientRun | undefined>>>()
  const overhead: Array<OverheadResult> = []
  let control: OverheadResult | undefined
  const stragglers: Record<string, number> = {}
  const paired: Array<PairedResult> = []
  let nginx: Nginx | undefined
  let nginxNote = "not started"
  const lanes: Array<Lane> = []
  try {
    phase = "nginx"
    const started = await startNginx({ rate: NGINX.rate })
    if (typeof started === "string") {
      nginxNote = `skipped: ${started}`
      log(`nginx workloads ${nginxNote}`)
    } else {
      nginx = started
      nginxNote = `nginx ${started.version}`
      log(`${nginxNote} on ${started.base}`)
    }
    const targets: Targets = { server, nginx }
    // What the row that is told the quotas is told: the rate-limit workloads' for the server's origin (whose windows
    // follow each other back to back), nginx's rate for nginx's.
    const limits = {
      [new URL(server.base).origin]: { requests: RATE_LIMIT.limit, windowMs: RATE_LIMIT.windowMs, backToBack: true },
      ...(nginx === undefined
        ? {}
        : { [new URL(nginx.base).origin]: { requests: NGINX.rate, windowMs: 1000, burst: 1 } })
    }
    // A pass that is not measured, with client instances of its own (closed after it, never used again): the first
    // workload, every client, with two windows' worth of calls (the second window's calls come back after a 429), so
    // that the code each library runs only when it retries (429 handling, header parsing, timers) is compiled before
    // any measured run.
    phase = "warm-up"
    {
      const t = now()
      const clients = await Promise.all(
        adapters.map((adapter) => included(adapter) ? adapter.make(true, limits) : undefined)
      )
      try {
        await runWorkload(targets, workloads[0]!, adapters, [{ repeat: 0, seed: seeds[0]!, clients }], {
          prefix: "unmeasured.",
          calls: 2 * RATE_LIMIT.limit
        })
      } finally {
        await Promise.all(clients.map((client) => client?.close().catch(() => {})))
      }
      log(`warm-up pass (${workloads[0]!.id}, not measured): ${((now() - t) / 1000).toFixed(1)} s`)
    }
    // The measured clients: one instance per client and repeat, made once and kept for every workload (each
    // coordinated instance has one coordinator for the whole run), warmed up on the origins they will call.
    for (const [repeat, laneSeed] of seeds.entries()) {
      lanes.push({
        repeat,
        seed: laneSeed,
        clients: await Promise.all(
          adapters.map((adapter) => included(adapter) ? adapter.make(true, limits) : undefined)
        )
      })
    }
    const atOnce = workloads.flatMap((w) =>
      w.phases.filter((p) => p.concurrency === undefined).map((p) => p.calls().length)
    )
    await warmUp(targets, adapters, lanes, Math.max(...atOnce))
    log("warm-up of the measured clients: done")
    for (const workload of workloads) {
      if (workload.target === "nginx" && nginx === undefined) continue
      if (onlyWorkloads !== undefined && !onlyWorkloads.includes(workload.id)) continue
      phase = workload.id
      const t = now()
      pauses = []
      loopDelay.reset()
      for (const [key, value] of await runWorkload(targets, workload, adapters, lanes)) runs.set(key, value)
      const collected = {
        workload: workload.id,
        pauses: pauses.length,
        totalMs: Math.round(pauses.reduce((sum, ms) => sum + ms, 0)),
        maxMs: Math.round(Math.max(0, ...pauses)),
        heapMb: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
        lateTimerMs: Math.max(0, Math.round(loopDelay.max / 1e6 - LOOP_RESOLUTION_MS))
      }
      collections.push(collected)
      log(
        `${workload.id}: ${
          ((now() - t) / 1000).toFixed(1)
        } s (garbage collection: ${collected.pauses} pauses, ${collected.totalMs} ms, the longest ${collected.maxMs} ms; heap ${collected.heapMb} MB; a timer up to ${collected.lateTimerMs} ms late)`
      )
      if (workload.id === "sequence") {
        // Its phases 2 and 3 again, request by request, on the first program's clients.
        phase = "sequence.paired"
        for (const p of await pairedRequests(server, adapters, lanes[0]!)) paired.push(p)
        for (const p of paired) {
          log(
            `sequence.paired.${p.kind} ${p.adapter} over ${p.alone}: ${p.ratio.toFixed(3)} (${
              p.coordinatedUs.toFixed(0)
            } vs ${p.aloneUs.toFixed(0)} µs, ${p.pairs} pairs)`
          )
        }
      }
    }
    if (partial) {
      for (const [key, perRepeat] of runs) {
        for (const run of perRepeat.flat()) {
          if (run === undefined) continue
          const m = run.metrics
          const turns = run.turns === undefined
            ? ""
            : ` turns ${run.turns.map((turn) => (turn.metrics.timeMs / 1000).toFixed(3)).join(" ")} s`
          log(
            `${key} ${run.adapter.id}: req/N ${m.amplification.toFixed(2)} time/ideal ${
              m.timeRatio?.toFixed(2) ?? "-"
            } (${(m.timeMs / 1000).toFixed(2)} s) early ${m.early} ok ${m.ok}/${m.calls}${turns}`
          )
        }
      }
      // Each toolkit row's time over the best peer's in the same run (the summary's table).
      for (const key of PEER_WORKLOADS) {
        for (const repeat of runs.get(key) ?? []) {
          const best = vsBestPeer(adapters, repeat)
          if (best === undefined) continue
          const ratios = [...best.ratio].map(([i, r]) => `${adapters[i]!.id} ${r.toFixed(2)}`).join(", ")
          log(
            `${key} vs best peer (${best.peer.adapter.id}, ${
              (best.peer.metrics.timeMs / 1000).toFixed(2)
            } s): ${ratios}`
          )
        }
      }
      const lines = [...runs.values()].flatMap((perRepeat) =>
        perRepeat.flat().flatMap((run) =>
          run === undefined
            ? []
            : run.arrivals.map((a) => JSON.stringify({ tenant: run.tenant, client: run.adapter.id, ...a }))
        )
      )
      fs.writeFileSync(path.join(resultsDir, "arrivals.partial.jsonl"), lines.join("\n") + "\n")
      for (const w of warnings) log(`warning in ${w.phase}: ${w.name} from ${w.from}: ${w.message}`)
      for (const step of clockSteps) log(`the system clock stepped ${step.ms} ms at ${step.at} (${step.phase})`)
      return
    }
    // A call that is over must not keep sending: compare the server's counts now with the logs read earlier.
    phase = "stragglers"
    const counts = await server.counts()
    const nginxCounts = nginx?.arrivals() ?? {}
    for (const perRepeat of runs.values()) {
      for (const run of perRepeat.flat()) {
        if (run === undefined) continue
        const late = (counts[run.tenant] ?? nginxCounts[run.tenant]?.length ?? 0) - run.arrivals.length
        if (late > 0) stragglers[run.adapter.label] = (stragglers[run.adapter.label] ?? 0) + late
      }
    }
    await Promise.all(lanes.flatMap((lane) => lane.clients.map((client) => client?.close().catch(() => {}))))
    lanes.length = 0
    nginx?.stop()
    phase = "overhead"
    // The last row is the noise floor: one client measured against an identical instance of itself.
    const undici = adapters.find((a) => a.id === "undici")!
    const measured = await runOverhead(server, [
      ...adapters.map((adapter) => ({ adapter, id: adapter.id })),
      { adapter: { ...undici, label: "control: undici `Agent` against itself" }, id: CONTROL_ID }
    ])
    for (const m of measured.slice(0, -1)) overhead.push(m)
    control = measured[measured.length - 1]
    log("overhead: done")
  } finally {
    await Promise.all(lanes.flatMap((lane) => lane.clients.map((client) => client?.close().catch(() => {}))))
    nginx?.stop()
    server.kill()
  }

  // The raw server log of this run (one line per request).
  const lines: Array<string> = []
  for (const perRepeat of runs.values()) {
    for (const run of perRepeat.flat()) {
      if (run === undefined) continue
      for (const a of run.arrivals) lines.push(JSON.stringify({ tenant: run.tenant, client: run.adapter.id, ...a }))
    }
  }
  fs.writeFileSync(path.join(resultsDir, "arrivals.jsonl"), lines.join("\n") + "\n")

  phase = "micro"
  // Each client of the micro-benchmark in a fresh process, TIME_PASSES times in rotating order; median pass.
  const { count } = (await runMicro(["count"], [])) as { count: number }
  const passes: Array<Array<MicroTime>> = Array.from({ length: count }, () => [])
  let microBatch = 0
  for (let pass = 0; pass < TIME_PASSES; pass++) {
    for (let k = 0; k < count; k++) {
      const index = (k + pass) % count
      const { batch, row } = (await runMicro(["time", String(index)], [])) as { batch: number; row: MicroTime }
      microBatch = batch
      passes[index]!.push(row)
    }
  }
  const microTime = {
    batch: microBatch,
    passes: TIME_PASSES,
    rows: passes.map((rows) => ({
      ...[...rows].sort((a, b) => a.nsPerRequest - b.nsPerRequest)[Math.floor(rows.length / 2)]!,
      // What it adds to the bare client: the median of the differences within each pass (a pass times every client
      // in a row), which cancels the machine's slow drifts.
      addedNs: median(rows.map((row, pass) => row.nsPerRequest - passes[0]![pass]!.nsPerRequest))
    }))
  }
  const microMemory = (await runMicro(["memory"], [
    "--expose-gc",
    "--min-semi-space-size=64",
    "--max-semi-space-size=64"
  ])) as { batch: number; rows: ReadonlyArray<MicroMemory> }
  log("micro-benchmark: done")
  phase = "micro origins"
  // 10^3, 10^4 and 10^5 distinct origins, each in a fresh process, through the coordinator's own path and as whole
  // requests; the three counts in turn, TIME_PASSES times, starting one further along from one pass to the next, so
  // that each pass compares the counts at about the same instant of the machine.
  const ORIGIN_COUNTS = [1_000, 10_000, 100_000] as const
  const originsThrough = async (path: OriginPath) => {
    const originPasses: Array<Array<MicroOrigins>> = []
    for (let pass = 0; pass < TIME_PASSES; pass++) {
      const row: Array<MicroOrigins> = []
      for (let k = 0; k < ORIGIN_COUNTS.length; k++) {
        const index = (k + pass) % ORIGIN_COUNTS.length
        row[index] = (await runMicro(["origins", String(ORIGIN_COUNTS[index]), path], ["--expose-gc"])) as MicroOrigins
      }
      originPasses.push(row)
    }
    return {
      passes: TIME_PASSES,
      // Each count's median pass, and its time over the pass's fastest count, median over the passes.
      rows: ORIGIN_COUNTS.map((_, i) => {
        const runs = originPasses.map((pass) => pass[i]!)
        return {
          ...[...runs].sort((a, b) => a.nsPerRequest - b.nsPerRequest)[Math.floor(runs.length / 2)]!,
          overFastest: median(
            originPasses.map((pass) => pass[i]!.nsPerRequest / Math.min(...pass.map((o) => o.nsPerRequest)))
          )
        }
      }),
      // Slowest over fastest within each pass.
      spreads: originPasses.map((pass) =>
        Math.max(...pass.map((o) => o.nsPerRequest)) / Math.min(...pass.map((o) => o.nsPerRequest))
      ),
      times: originPasses.map((pass) => pass.map((o) => o.nsPerRequest))
    }
  }
  const originsRequest = await originsThrough("request")
  const origins = await originsThrough("coordinator")
  log("micro-benchmark, distinct origins: done")
  phase = "micro waiting"
  const waiting: Array<MicroWaiting> = []
  for (const mode of ["sleep", "alone", "coordinated", "effect4-sleep", "effect4-alone", "effect4-coordinated"]) {
    waiting.push((await runMicro(["waiting", mode], ["--expose-gc"])) as MicroWaiting)
  }
  log("micro-benchmark, memory per waiting call: done")
  phase = "micro failed attempt"
  // What a failed attempt costs withStatusRetry() against a successful one, and the reference's, in fresh processes
  // (see failed-attempt.ts). One process's CPU ratio moves by about 0.2 from one process to the next (its JIT, its
  // heap), more than a change of the code may: so the CPU is measured in FAILED_ATTEMPT_PROCESSES processes, ours and
  // the reference's in turn, and joined. The same for the Effect 4 line and its own `retryTransient`.
  const MEASURED = ["ours", "retry-transient", "effect4", "effect4-retry-transient"] as const
  const cpuRuns = new Map<string, Array<FailedAttemptRun>>(MEASURED.map((measured) => [measured, []]))
  for (let i = 0; i < FAILED_ATTEMPT_PROCESSES; i++) {
    for (const measured of MEASURED) {
      cpuRuns.get(measured)!.push((await runMicro(["cpu", measured], [], "failed-attempt.js")) as FailedAttemptRun)
    }
  }
  const failedAttemptOf = async (measured: typeof MEASURED[number]) =>
    joinFailedAttempt(
      cpuRuns.get(measured)!,
      (await runMicro(
        ["heap", measured],
        ["--expose-gc", "--max-semi-space-size=256"],
        "failed-attempt.js"
      )) as FailedAttemptRun
    )
  const failedAttempt = await failedAttemptOf("ours")
  const failedAttemptReference = await failedAttemptOf("retry-transient")
  const failedAttempt4 = await failedAttemptOf("effect4")
  const failedAttemptReference4 = await failedAttemptOf("effect4-retry-transient")
  log("micro-benchmark, failed attempt: done")

  phase = "charts"
  const charts: Array<{ file: string; title: string }> = []
  const maxSeconds = (perRepeat: ReadonlyArray<ClientRun>) =>
    Math.ceil(Math.max(...perRepeat.flatMap((run) => run.arrivals.map((a) => (a.at - run.start) / 1000))) + 0.2)
  for (const id of ["rate-limit", "rate-limit-store", "nginx-429"] as const) {
    const workload = workloads.find((w) => w.id === id)!
    if (!runs.has(id)) continue
    const chosen = medianRuns(runs.get(id)!)
    const title = `${workload.title}: requests per 100 ms`
    const svg = await statusTimeline(
      title,
      "One row per client (its median run); colour = the status the server returned. A tall bar right after a window opens is a herd.",
      chosen,
      maxSeconds(chosen)
    )
    fs.writeFileSync(path.join(chartsDir, `${id}.svg`), svg)
    charts.push({ file: `charts/${id}.svg`, title })
  }
  {
    const chosen = medianRuns(runs.get("dead") ?? [])
    const title = "Dead origin: requests per 100 ms"
    const svg = await attemptTimeline(
      title,
      "One row per client (its median run); colour = which attempt of its call the request was.",
      chosen,
      maxSeconds(chosen)
    )
    fs.writeFileSync(path.join(chartsDir, "dead.svg"), svg)
    charts.push({ file: "charts/dead.svg", title })
  }
  log("charts: done")

  const cpus = os.cpus()
  const packages = [
    "@effect-retry/core",
    "@effect-retry/platform",
    ...new Set(adapters.flatMap((a) => a.packages)),
    "tinybench",
    "vega",
    "vega-lite"
  ]
  const results: Results = {
    startedAt,
    seconds: (now() - began) / 1000,
    seed,
    repeats,
    machine: {
      cpu: cpus[0]?.model.trim() ?? "unknown",
      cores: cpus.length,
      memoryGiB: os.totalmem() / 2 ** 30,
      os: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      load: [loadAtStart, os.loadavg()[0]!]
    },
    versions: packages.map(versionOf),
    adapters,
    workloads,
    runs,
    overhead,
    control,
    micro: {
      time: microTime,
      memory: microMemory,
      origins,
      originsRequest,
      waiting,
      failedAttempt,
      failedAttemptReference,
      failedAttempt4,
      failedAttemptReference4
    },
    nginx: nginxNote,
    stragglers,
    paired,
    unhandled,
    warnings,
    clockSteps,
    collections,
    charts
  }
  fs.writeFileSync(path.join(resultsDir, "results.json"), JSON.stringify(results, keepMaps))
  write(results)
}

/** A `Map` (the runs by workload) as its entries in JSON, and back: `JSON.stringify` alone writes `{}` for one. */
const keepMaps = (_key: string, value: unknown): unknown => value instanceof Map ? { "@map": [...value] } : value
const readMaps = (_key: string, value: unknown): unknown =>
  typeof value === "object" && value !== null && "@map" in value
    ? new Map((value as { readonly "@map": ReadonlyArray<readonly [unknown, unknown]> })["@map"])
    : value

/** Writes bench/RESULTS.md and the README summary from a run's results. */
const write = (results: Results) => {
  const markdown = render(results)
  fs.writeFileSync(path.join(benchDir, "RESULTS.md"), markdown)
  log(`wrote bench/RESULTS.md (${results.unhandled.length} unhandled errors)`)
  updateReadme(markdown, results.seconds)
}

const README_START = "<!-- bench:summary:start -->"
const README_END = "<!-- bench:summary:end -->"

/**
 * Copies this run's summary table into the top-level README, between its two markers, with the rate-limit chart:
 * the README shows the numbers of the last run, never numbers typed in.
 */
const updateReadme = (markdown: string, seconds: number) => {
  const readme = path.join(benchDir, "..", "README.md")
  const text = fs.readFileSync(readme, "utf8")
  const start = text.indexOf(README_START)
  const end = text.indexOf(README_END)
  if (start < 0 || end < start) {
    log("README.md has no bench summary markers: not updated")
    return
  }
  const from = markdown.indexOf("## Summary\n")
  const to = markdown.indexOf("\n## ", from + 1)
  const summary = markdown.slice(from + "## Summary\n".length, to).trim()
  const block = [
    README_START,
    `<!-- written by \`pnpm bench\` (bench/src/main.ts) from its last run (${Math.round(seconds)} s); do not edit -->`,
    "",
    summary,
    "",
    "![Rate limit: requests per 100 ms, per client, coloured by status](bench/charts/rate-limit.svg)",
    "",
    README_END
  ].join("\n")
  fs.writeFileSync(readme, text.slice(0, start) + block + text.slice(end + README_END.length))
  log("updated the summary in README.md")
}

try {
  // `BENCH_RENDER=1`: RESULTS.md and the README summary written again from the last full run's results (kept in
  // bench/results/results.json), after a change to how they are written, with no new measurement.
  if (process.env["BENCH_RENDER"] === "1") {
    const results = JSON.parse(
      fs.readFileSync(path.join(benchDir, "results", "results.json"), "utf8"),
      readMaps
    ) as Results
    // A client that did not run a workload is `undefined` in its runs, written `null` in JSON.
    for (const perRepeat of results.runs.values()) {
      for (const repeat of perRepeat) {
        for (const [i, run] of repeat.entries()) {
          if (run === null) (repeat as Array<ClientRun | undefined>)[i] = undefined
        }
      }
    }
    write(results)
  } else await main()
  process.exit(0)
} catch (error) {
  console.error("bench failed:", error)
  process.exit(1)
}
