/**
 * Writes RESULTS.md from the numbers measured in this run. Nothing here is typed in: every figure comes from the
 * results passed in (the ideals are computed from the workloads' parameters); the targets are the figures the
 * coordinated rows are meant to reach, shown beside what they measured.
 */
import type { Adapter } from "./adapters.js"
import { aloneOf } from "./client.js"
import type { ClientRun, OverheadResult, PairedResult } from "./harness.js"
import { CALL_TIMEOUT_MS, WATCHDOG_MS } from "./harness.js"
import { OVERHEAD } from "./overhead.js"
import { BURST_WINDOW_MS, EARLY_TOLERANCE_MS, median, REACTION_MS, type RunMetrics } from "./metrics.js"
import type { FailedAttempt } from "./failed-attempt.js"
import type { MicroMemory, MicroOrigins, MicroTime, MicroWaiting } from "./micro.js"
import { DEAD_CALLS, FLAKY, NGINX, RATE_LIMIT, SEQUENCE, STORE, type Workload } from "./workloads.js"

/**
 * How far a request's time moves with the number of origins: each count's typical time (the median over passes of its
 * time over its pass's median count, so that the machine's load drifting from pass to pass cancels out), the slowest
 * count's over the fastest's. (A run from before `times` was kept: its counts' `overFastest`, slowest over fastest.)
 */
const overOrigins = (result: OriginsResult): number => Math.max(...overTypicalFastest(result))

/** Each count's typical time over the fastest count's (see `overOrigins`). */
const overTypicalFastest = (result: OriginsResult): ReadonlyArray<number> => {
  const typical = result.times === undefined
    ? result.rows.map((row) => row.overFastest)
    : result.rows.map((_, i) => median(result.times!.map((pass) => pass[i]! / median(pass))))
  const fastest = Math.min(...typical)
  return typical.map((t) => t / fastest)
}

/** Slowest over fastest of the counts within each pass: the median over passes (noise in any count moves it up). */
const withinPasses = (result: OriginsResult): number => median(result.spreads)

/** Time per request at 10^3, 10^4 and 10^5 distinct origins. */
export interface OriginsResult {
  readonly passes: number
  readonly rows: ReadonlyArray<MicroOrigins & { readonly overFastest: number }>
  readonly spreads: ReadonlyArray<number>
  /** ns per request of each count (in the order of `rows`), pass by pass. */
  readonly times?: ReadonlyArray<ReadonlyArray<number>>
}

export interface Machine {
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly os: string
  readonly node: string
  /** 1-minute load averages when the run started and when it ended. */
  readonly load: readonly [number, number]
}

export interface Results {
  readonly startedAt: string
  readonly seconds: number
  readonly seed: number
  readonly repeats: number
  readonly machine: Machine
  readonly versions: ReadonlyArray<readonly [string, string, string]>
  readonly adapters: ReadonlyArray<Adapter>
  readonly workloads: ReadonlyArray<Workload>
  /** Per phase key (`phaseKey`): [repeat][adapter], `undefined` where the client did not run it. */
  readonly runs: ReadonlyMap<string, ReadonlyArray<ReadonlyArray<ClientRun | undefined>>>
  readonly overhead: ReadonlyArray<OverheadResult>
  /** The same measurement with two identical clients: the noise floor of the ratio. */
  readonly control: OverheadResult | undefined
  readonly micro: {
    readonly time: { readonly batch: number; readonly passes: number; readonly rows: ReadonlyArray<MicroTime> }
    readonly memory: { readonly batch: number; readonly rows: ReadonlyArray<MicroMemory> }
    /** The coordinator's own path, and whole requests through `withStatusRetry()` under it. */
    readonly origins: OriginsResult
    readonly originsRequest: OriginsResult
    readonly waiting: ReadonlyArray<MicroWaiting>
    readonly failedAttempt: FailedAttempt
    /** The same measurement of @effect/platform's `retryTransient` (after `filterStatusOk`), for reference. */
    readonly failedAttemptReference: FailedAttempt
    /** The same two on the Effect 4 line: `withStatusRetry()` and Effect 4's `retryTransient` (absent in older results). */
    readonly failedAttempt4?: FailedAttempt
    readonly failedAttemptReference4?: FailedAttempt
  }
  /** nginx's version, or why its workloads were skipped. */
  readonly nginx: string
  /** Requests that reached the server after their workload's log was read (a call still retrying after it ended). */
  readonly stragglers: Readonly<Record<string, number>>
  /** Phases 2 and 3 of the sequence, request by request (absent from runs before it was measured). */
  readonly paired?: ReadonlyArray<PairedResult>
  readonly unhandled: ReadonlyArray<string>
  /** Warnings Node.js emitted in the benchmark's process, with the phase and the package that raised each. */
  readonly warnings: ReadonlyArray<{
    readonly phase: string
    readonly name: string
    readonly message: string
    readonly from: string
  }>
  /** Steps of the system clock seen during the run: when, in which workload, and by how much (ms, + forward). */
  readonly clockSteps: ReadonlyArray<{ readonly phase: string; readonly at: string; readonly ms: number }>
  /**
   * The benchmark process's garbage collection during each workload: pauses, their total and longest (ms), and the
   * heap in use after it (MB); how late its timers fired at most (ms). Absent from runs made before it was measured.
   */
  readonly collections?: ReadonlyArray<
    {
      readonly workload: string
      readonly pauses: number
      readonly totalMs: number
      readonly maxMs: number
      readonly heapMb: number
      /** Absent from runs made before it was measured. */
      readonly lateTimerMs?: number
    }
  >
  readonly charts: ReadonlyArray<{ readonly file: string; readonly title: string }>
}

const f2 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(2))

/** The failed-attempt ratios of each process the CPU was measured in (one, in results from before there were more). */
const cpuProcesses = (measured: FailedAttempt): ReadonlyArray<Readonly<Record<"503" | "429", number>>> =>
  (measured as Partial<FailedAttempt>).cpuProcesses ??
    [{ "503": measured["503"].cpuRatio, "429": measured["429"].cpuRatio }]
const f1 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(1))
const f0 = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : String(Math.round(n)))
const s2 = (ms: number) => f2(ms / 1000)

/** A Markdown table; a column of numbers is right-aligned, any other left-aligned. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const numeric = header.map((_, i) => i > 0 && rows.every((row) => /^[-–0-9.·/ ×%≤≥<>]*$/.test(row[i] ?? "")))
  return [
    `| ${header.join(" | ")} |`,
    `| ${header.map((_, i) => (numeric[i] ? "---:" : "---")).join(" | ")} |`,
    ...rows.map((row) => `| ${row.join(" | ")} |`)
  ].join("\n")
}

/** The runs of one client in one phase, one per repeat (none if it did not run it). */
const runsOf = (results: Results, key: string, adapter: number): ReadonlyArray<ClientRun> =>
  (results.runs.get(key) ?? []).flatMap((repeat) => (repeat[adapter] === undefined ? [] : [repeat[adapter]!]))

const med = (runs: ReadonlyArray<ClientRun>, f: (m: RunMetrics) => number | undefined): number =>
  median(runs.map((run) => f(run.metrics) ?? NaN))

/** Calls that ended in an exception: in a phase run in turns, over every turn. */
const thrown = (runs: ReadonlyArray<ClientRun>): number =>
  runs.flatMap((run) => run.turns ?? [run]).reduce((sum, run) => sum + run.metrics.exceptions.length, 0)

const perGroup = (
  runs: ReadonlyArray<ClientRun>,
  group: string,
  f: (g: { calls: number; requests: number; ok: number; maxDelay: number }) => number
) =>
  median(runs.map((run) => {
    const g = run.metrics.groups[group]
    return g === undefined ? NaN : f(g)
  }))

const succeeded = (runs: ReadonlyArray<ClientRun>) =>
  runs.length === 0 ? "–" : `${f0(med(runs, (m) => m.ok))}/${runs[0]?.metrics.calls ?? 0}`

/** `a · b · c`, or "not run" when the client did not run it. */
const dots = (runs: ReadonlyArray<ClientRun>, ...parts: ReadonlyArray<string>) =>
  runs.length === 0 ? "not run" : parts.join(" · ")

/** The workloads whose time each toolkit row is compared with the best peer's, in the same run. */
export const PEER_WORKLOADS = [
  "rate-limit",
  "rate-limit-xrl",
  "rate-limit-ietf",
  "rate-limit-counter",
  "rate-limit-store"
] as const

/**
 * In one repeat of one workload: the best peer (the fastest row that is not the toolkit's, was told no limit, and
 * whose calls all succeeded), and each toolkit row's time over that peer's; `undefined` where there is no such peer.
 */
export const vsBestPeer = (
  adapters: ReadonlyArray<Adapter>,
  repeat: ReadonlyArray<ClientRun | undefined>
): { readonly peer: ClientRun; readonly ratio: ReadonlyMap<number, number> } | undefined => {
  const peers = repeat.flatMap((run, i) =>
    run === undefined || adapters[i]!.toolkit !== undefined || adapters[i]!.told === true ||
      run.metrics.ok < run.metrics.calls
      ? []
      : [run]
  )
  if (peers.length === 0) return undefined
  const peer = peers.reduce((best, run) => (run.metrics.timeMs < best.metrics.timeMs ? run : best))
  const ratio = new Map(
    repeat.flatMap((run, i) =>
      run === undefined || adapters[i]!.toolkit === undefined
        ? []
        : [[i, run.metrics.timeMs / peer.metrics.timeMs]]
    )
  )
  return { peer, ratio }
}

export const render = (results: Results): string => {
  const { adapters } = results
  const label = (i: number) => adapters[i]!.label
  const rows = <A>(f: (i: number) => A) => adapters.map((_, i) => f(i))
  const out: Array<string> = []
  const add = (...lines: ReadonlyArray<string>) => {
    for (const line of lines) out.push(line)
  }
  const overheadOf = (id: string) => results.overhead.find((o) => o.adapter.id === id)
  const ran = (key: string) => results.runs.has(key)

  /**
   * Per repeat, this client's phase time over its `withStatusRetry()` row's (`aloneOf`) in the same repeat (in a phase
   * run in turns, the median over turns of the ratio in the same turn, the first turn included); the median.
   */
  const vsAlone = (key: string, i: number): number =>
    median((results.runs.get(key) ?? []).map((repeat) => {
      const mine = repeat[i]
      const theirs = repeat[aloneOf(adapters, i)]
      if (mine === undefined || theirs === undefined) return NaN
      if (mine.turns === undefined || theirs.turns?.length !== mine.turns.length) {
        return mine.metrics.timeMs / theirs.metrics.timeMs
      }
      return median(mine.turns.map((turn, t) => turn.metrics.timeMs / theirs.turns![t]!.metrics.timeMs))
    }))

  /** A coordinated row's requests over its row alone's, sent in pairs after the sequence (`pairedRequests`). */
  const pairedOf = (kind: PairedResult["kind"], i: number): PairedResult | undefined =>
    results.paired?.find((p) => p.adapter === adapters[i]!.id && p.kind === kind)
  /** × alone of a solo phase: request by request where measured so, with the phase's turns after it. */
  const aloneCell = (kind: PairedResult["kind"], i: number): string => {
    const turns = f2(vsAlone(`sequence.${kind}`, i))
    const paired = pairedOf(kind, i)
    return paired === undefined ? turns : `${f2(paired.ratio)} (turns ${turns})`
  }

  const rlIdealS = Math.ceil(RATE_LIMIT.calls / RATE_LIMIT.limit) - 1
  const storeIdealS = ((Math.ceil(STORE.calls / STORE.limit) - 1) * STORE.windowMs) / 1000
  const nginxIdealS = (NGINX.calls - 1) / NGINX.rate
  const rateLimitCell = (key: string, i: number) => {
    const runs = runsOf(results, key, i)
    return dots(
      runs,
      f2(med(runs, (m) => m.amplification)),
      f2(med(runs, (m) => m.timeRatio)),
      f0(med(runs, (m) => m.early)),
      succeeded(runs)
    )
  }
  const nginxCell = (key: string, i: number) => {
    if (!ran(key)) return "skipped"
    const runs = runsOf(results, key, i)
    return dots(runs, succeeded(runs), f2(med(runs, (m) => m.amplification)), f2(med(runs, (m) => m.timeRatio)))
  }
  const heldDelay = (i: number) => {
    const runs = runsOf(results, "sequence.held", i)
    if (runs.length === 0) return "not run"
    const delays = runs.map((run) => run.metrics.groups["other"]?.maxDelay ?? NaN)
    const sent = delays.filter((d) => Number.isFinite(d))
    if (sent.length === 0) return "never sent"
    return `${f0(median(sent))} ms${
      sent.length < delays.length ? ` (not sent in ${delays.length - sent.length} of ${delays.length})` : ""
    }`
  }

  const peerHeaders = [
    "429 + Retry-After",
    "X-RateLimit only",
    "RateLimit fields",
    "429 + Retry-After, windows opened by a request",
    "express / fastify store"
  ]
  const toolkitRows = adapters.flatMap((a, i) => (a.toolkit === undefined ? [] : [i]))
  const bestPeers = (key: string) => (results.runs.get(key) ?? []).map((repeat) => vsBestPeer(adapters, repeat))
  const ratioOf = (bests: ReadonlyArray<ReturnType<typeof vsBestPeer>>, i: number) =>
    f2(median(bests.map((b) => b?.ratio.get(i) ?? NaN).filter((r) => Number.isFinite(r))))
  const peerCell = (key: string, i: number) => {
    if (runsOf(results, key, i).length === 0) return "not run"
    return ratioOf(bestPeers(key), i)
  }
  const named = (bests: ReadonlyArray<ReturnType<typeof vsBestPeer>>) => {
    const peers = bests.flatMap((b) => (b === undefined ? [] : [b.peer]))
    return peers.length === 0
      ? "–"
      : peers.map((p) => `${p.adapter.label}: ${s2(p.metrics.timeMs)} s`).join("; ")
  }
  const bestPeerCell = (key: string) => named(bestPeers(key))

  add(
    "# Benchmark: effect-retry against the retry clients people pick instead",
    "",
    "Generated by `pnpm bench` (bench/src/main.ts). Every number below was measured by the run that wrote this file;",
    "nothing is typed in. Reproduce with `pnpm install && pnpm bench` (the seed can be fixed with",
    "`BENCH_SEED=<n> pnpm bench`, the number of repeats with `BENCH_REPEATS=<n>`).",
    "",
    `Run: ${results.startedAt}, ${
      f0(results.seconds)
    } s in all; seed ${results.seed}; ${results.repeats} repeats of every timed workload, medians shown.`,
    "",
    "## Machine and versions",
    "",
    table(["", ""], [
      ["CPU", `${results.machine.cpu}, ${results.machine.cores} cores`],
      ["memory", `${f0(results.machine.memoryGiB)} GiB`],
      ["OS", results.machine.os],
      ["Node.js", results.machine.node],
      ["nginx", results.nginx],
      [
        "load average (1 min)",
        `${f2(results.machine.load[0])} at the start, ${f2(results.machine.load[1])} at the end of the run`
      ]
    ]),
    "",
    "Library versions, read from the installed package.json files:",
    "",
    table(
      ["package", "version", "engines.node"],
      results.versions.map(([name, version, engines]) => [`\`${name}\``, version, engines])
    ),
    "",
    "undici 8 requires Node.js >= 22.19 and does not load on Node.js 20 (`Cannot read properties of undefined (reading",
    "'bind')` at import), so the undici row uses the latest 7.x. Packages whose `engines.node` excludes Node.js 20 above",
    "load and run on it all the same; the checks at the end show each client was exercised.",
    "",
    "## Summary",
    "",
    `Medians of ${results.repeats} run${
      results.repeats === 1 ? "" : "s"
    }. Every client is one long-lived instance (one coordinator for the coordinated rows) that runs`,
    "every workload below in turn against one origin, as a program does. The rate-limit and nginx workloads run one",
    "client at a time, so that a client's timers are not late by the other clients' work in the benchmark's process",
    "(a herd of 80 retries holds its event loop). req/N:",
    "requests the server received over the calls' need; time/ideal: completion time over the ideal; early: requests",
    "that reached the server before the instant it had last told that client; ok: calls that succeeded. The *target*",
    "rows are what the coordinated rows are meant to reach.",
    "",
    "Rate limits (req/N · time/ideal · early · ok) and nginx `limit_req` (ok · req/call · time/ideal):",
    "",
    table(
      [
        "client",
        "429 + Retry-After, X-RateLimit (epoch)",
        "X-RateLimit only (epoch)",
        "RateLimit fields (t=)",
        "429 + Retry-After, windows opened by a request",
        "express / fastify store, draft-6",
        "nginx 503",
        "nginx 429"
      ],
      [
        [
          "*target, learned (`Coordinator.layer()`)*",
          "≤ 1.10 · ≤ 1.10 · 0 · 120/120",
          "≤ 1.10 · ≤ 1.10 · 0 · 120/120",
          "≤ 1.10 · ≤ 1.10 · 0 · 120/120",
          "≤ 1.10 · ≤ 1.10 · 0 · 120/120",
          `≤ 1.10 · ≤ 1.10 · 0 · ${STORE.calls}/${STORE.calls}`,
          "≥ 58/60 · ≤ 1.30 · ≤ 1.30",
          "≥ 58/60 · ≤ 1.30 · ≤ 1.30"
        ],
        [
          "*target, told (`{ limits }`)*",
          "≤ 1.02 · ≤ 1.05 · 0",
          "≤ 1.02 · ≤ 1.05 · 0",
          "≤ 1.02 · ≤ 1.05 · 0",
          "none: told back to back, which they are not",
          "not run",
          "≥ 58/60 · ≤ 1.30 · ≤ 1.30",
          "≥ 58/60 · ≤ 1.30 · ≤ 1.30"
        ],
        ...rows((i) => [
          label(i),
          rateLimitCell("rate-limit", i),
          rateLimitCell("rate-limit-xrl", i),
          rateLimitCell("rate-limit-ietf", i),
          rateLimitCell("rate-limit-counter", i),
          rateLimitCell("rate-limit-store", i),
          nginxCell("nginx-503", i),
          nginxCell("nginx-429", i)
        ])
      ]
    ),
    "",
    "Time against the best peer in the same run: each toolkit row's completion time over the fastest peer's (a row",
    "of another library, told no limit, whose calls all succeeded; its name and time on the *best peer* line), per",
    "repeat, median. On both HTTP clients, `withStatusRetry()` alone is meant to be within 5 % of the best peer of the",
    "run.",
    "",
    "In the *X-RateLimit only* column, a client without shared state waits for each whole-second epoch reset, so its",
    "time depends on where in the second its windows start (a random point per row): by up to a second per wait.",
    "`withStatusRetry()` alone reads that reset against the server's `Date`, not its own clock, so that no clock skew",
    "can make a retry early; until its answers have told the server's clock to better than a second (a burst's answers",
    "all carry one `Date`), that wait runs up to another second past the reset. The coordinator learns the windows.",
    "",
    "In the first three rate-limit columns the server's windows start at the client's start, before any of its",
    "requests can arrive, so the clock of a limiter told the quota, which starts at its first call, is in phase with",
    "them. The coordinator is told nothing: it learns that a window has surely ended one window after the answer to",
    "the window's first request, never sooner, so it trails such a limiter by the time that answer took to come",
    "(including the time the process took to start the herd's other calls before the first request could leave).",
    "Where each window is opened by a request (the fourth column, as a Redis `INCR` + `EXPIRE` counter keeps them), the",
    "told limiter's clock runs ahead of the server's windows, and its requests that arrive before a window expires are",
    "refused. This toolkit's told row is told that the server's windows follow each other back to back (`backToBack`),",
    "true of the first three columns and not of the fourth, where its quota that goes at a window's expected end, before",
    "the window the server opened with its first request has expired, is refused once; after that each window opens",
    "with one request.",
    "",
    table(
      ["client", "HTTP client", ...peerHeaders],
      [
        ["*target, `withStatusRetry()` alone*", "both", ...PEER_WORKLOADS.map(() => "≤ 1.05")],
        ...toolkitRows.map((i) => [
          label(i),
          `\`${adapters[i]!.toolkit!.transport}\``,
          ...PEER_WORKLOADS.map((key) => peerCell(key, i))
        ]),
        ["*best peer: time*", "", ...PEER_WORKLOADS.map(bestPeerCell)]
      ]
    ),
    "",
    "Failures, and the sequence of paths on one origin (after all the workloads above but nginx's): flaky ok; dead",
    "origin requests per call; plain GETs and 4xx calls: time over `withStatusRetry()` alone's on the same HTTP client and",
    "Effect line (a peer's: over the `NodeHttpClient` one), for a coordinated row request by request, with the median of",
    "the phase's turns in brackets (see the sequence below); held: how long a call to another path waited after a 429",
    "with a 34-day Retry-After; maintenance: time/ideal · ok; keyed POSTs: ok · time.",
    "",
    table(
      [
        "client",
        "flaky ok",
        "dead req/call",
        "plain × alone",
        "4xx × alone",
        "held: other path",
        "maintenance",
        "keyed POST",
        "overhead ×",
        "thrown"
      ],
      [
        [
          "*target (coordinated rows)*",
          `${FLAKY.calls}/${FLAKY.calls}`,
          "≤ 1.20",
          "≤ 1.05",
          "≤ 1.05",
          "at once",
          `≤ 1.05 · ${SEQUENCE.maintenanceCalls}/${SEQUENCE.maintenanceCalls}`,
          `${SEQUENCE.postCalls}/${SEQUENCE.postCalls}`,
          "",
          "0"
        ],
        ...rows((i) => {
          const mt = runsOf(results, "sequence.maintenance", i)
          const post = runsOf(results, "sequence.keyed-post", i)
          const allThrown = [...results.runs.keys()].reduce((sum, key) => sum + thrown(runsOf(results, key, i)), 0)
          const seq = runsOf(results, "sequence.plain", i).length > 0
          return [
            label(i),
            succeeded(runsOf(results, "flaky", i)),
            f2(med(runsOf(results, "dead", i), (m) => m.requests / m.calls)),
            seq ? aloneCell("plain", i) : "not run",
            seq ? aloneCell("client-errors", i) : "not run",
            heldDelay(i),
            dots(mt, f2(med(mt, (m) => m.timeRatio)), succeeded(mt)),
            dots(post, succeeded(post), `${s2(med(post, (m) => m.timeMs))} s`),
            f2(overheadOf(adapters[i]!.id)?.ratio),
            f0(allThrown)
          ]
        })
      ]
    ),
    "",
    `Ideals: rate limits ${RATE_LIMIT.calls} requests for ${RATE_LIMIT.calls} calls (req/N 1.00) and ${
      f2(rlIdealS)
    } s (${STORE.calls} and ${f2(storeIdealS)} s for the store);`,
    `nginx ${NGINX.calls} requests and ${
      f2(nginxIdealS)
    } s; maintenance 2 requests per call and the time to the instant told; dead origin`,
    "1 request per call. Details, and what each ideal means, below.",
    "",
    `In process, without I/O: a request's time from 10^3 to 10^5 distinct origins (one coordinator, 10^4 held), the`,
    `slowest count over the fastest: ${
      f2(overOrigins(results.micro.originsRequest))
    } (target ≤ 1.20; the coordinator's own path: ${
      f2(overOrigins(results.micro.origins))
    }). A failed attempt's CPU over a successful call's: ${f2(results.micro.failedAttempt["503"].cpuRatio)} (503), ${
      f2(results.micro.failedAttempt["429"].cpuRatio)
    } (429); target ≤ 2 (@effect/platform's`,
    `\`retryTransient\`, for reference: ${f2(results.micro.failedAttemptReference["503"].cpuRatio)} and ${
      f2(results.micro.failedAttemptReference["429"].cpuRatio)
    }).${
      results.micro.failedAttempt4 === undefined || results.micro.failedAttemptReference4 === undefined
        ? ""
        : ` On the Effect 4 line: ${f2(results.micro.failedAttempt4["503"].cpuRatio)} and ${
          f2(results.micro.failedAttempt4["429"].cpuRatio)
        } (Effect 4's \`retryTransient\`: ${f2(results.micro.failedAttemptReference4["503"].cpuRatio)} and ${
          f2(results.micro.failedAttemptReference4["429"].cpuRatio)
        }).`
    }`,
    ""
  )

  add(
    "## How it runs",
    "",
    "- **Server**: a separate Node.js process (`child_process.fork`, bench/src/server.ts) on 127.0.0.1. For every",
    "  request it logs the arrival time, the call's `x-call-id` (the same on every attempt of a call), the attempt",
    "  number, the status it answered, when it answered, and the instant it told the client to come back, if it told",
    "  one. The raw log of this run is in bench/results/arrivals.jsonl (not committed).",
    "- **One program per client and repeat**: each client is one instance, made once and kept for the whole run",
    "  (the coordinated rows: one `Coordinator.layer()` in one runtime); it runs every workload, one after another,",
    "  against the same origin (the server's host and port), each workload (and each phase of the sequence) on paths",
    "  of its own: `/t/<tenant>/...`. The server keeps each tenant's state apart (rate-limit window, seeded generator,",
    "  attempt counts), so clients never share a quota; the coordinator sees one origin throughout, and nothing it",
    "  learned is reset between workloads. nginx is a second origin, the same for both nginx workloads.",
    `- **Repeats**: ${results.repeats} programs per client, side by side; within a workload the clients of all repeats run at the same`,
    "  time in two groups, one after the other (the `NodeHttpClient` rows with the peers of their ecosystem, then the",
    "  `fetch`-based and Effect 4 rows), each against its own tenant, their starts spread over the first second and",
    "  never on a whole second (a random point of a slot of their own), so that no rate-limit window opens on a whole",
    "  second and no two herds reach the server in the same instant; but the rate-limit and nginx workloads and the",
    "  sequence's phases 2 and 3 run one client at a time, each start at least 100 ms from a whole second.",
    "  Before the first workload every client instance is warmed up (concurrent requests to an always-200 path of each",
    "  origin, not counted), and a short unmeasured pass of the first workload runs with client instances of its own",
    "  (closed after it), so that the code a library runs only when it retries is compiled before any measured call.",
    `- **Bounded**: every call has a ${
      CALL_TIMEOUT_MS / 1000
    } s timeout (the library's abort signal; a call that ignores it is cut 2 s`,
    "  later and counted as thrown); the server process and nginx are killed when the benchmark ends, however it ends;",
    `  a watchdog stops the whole run after ${WATCHDOG_MS / 1000} s.`,
    `- **Early**: a request that arrived more than ${EARLY_TOLERANCE_MS} ms before the instant the server had last told that client on that`,
    `  path (Retry-After seconds or HTTP-date, X-RateLimit-Reset, RateLimit t=), counting only answers that left the server at least`,
    `  ${REACTION_MS} ms before the request arrived (a request already on its way could not know). When an answer carries several`,
    "  instants, the earliest counts. *Early (own call)*: the same against what that call itself was told.",
    `- **Burst**: the largest number of retries (second and later attempts of calls) arriving within any ${BURST_WINDOW_MS} ms.`,
    "- **Thrown**: a call that ended in an exception other than the expected failure (the library's HTTP/status",
    "  error carrying the server's final status, or the final response itself): timeouts, lost statuses, aborts.",
    ""
  )

  const detail = (
    key: string,
    header: ReadonlyArray<string>,
    cells: (runs: ReadonlyArray<ClientRun>) => ReadonlyArray<string>
  ) =>
    table(
      ["client", ...header],
      rows((i) => {
        const runs = runsOf(results, key, i)
        return runs.length === 0
          ? [label(i), ...header.map(() => "not run")]
          : [label(i), ...cells(runs)]
      })
    )
  const rateLimitTable = (key: string) =>
    detail(
      key,
      ["requests", "req/N", "time s", "time/ideal", "early", "early (own call)", "burst", "succeeded", "thrown"],
      (runs) => [
        f0(med(runs, (m) => m.requests)),
        f2(med(runs, (m) => m.amplification)),
        s2(med(runs, (m) => m.timeMs)),
        f2(med(runs, (m) => m.timeRatio)),
        f0(med(runs, (m) => m.early)),
        f0(med(runs, (m) => m.earlyCall)),
        f0(med(runs, (m) => m.burst)),
        succeeded(runs),
        f0(thrown(runs))
      ]
    )
  const chartsOf = (id: string) => {
    for (const chart of results.charts.filter((c) => c.file.includes(`/${id}.`))) {
      add(`![${chart.title}](${chart.file})`, "")
    }
  }

  // -- rate limits -----------------------------------------------------------------------------------------------
  const headerText: Record<string, string> = {
    "rate-limit":
      "429 with `Retry-After: <seconds>` (rounded up), and on every answer `X-RateLimit-Limit/Remaining` and `X-RateLimit-Reset: <epoch seconds>` (rounded up).",
    "rate-limit-xrl":
      "429 with only `X-RateLimit-Limit/Remaining/Reset`, the reset in epoch seconds (rounded up); no `Retry-After`.",
    "rate-limit-ietf":
      "429 with only the structured fields `RateLimit: \"default\";r=<remaining>;t=<seconds>` (rounded up) and `RateLimit-Policy: \"default\";q=40;w=1`.",
    "rate-limit-counter":
      "The headers of the first rate-limit workload: 429 with `Retry-After: <seconds>` (rounded up), and on every answer `X-RateLimit-Limit/Remaining` and `X-RateLimit-Reset: <epoch seconds>` (rounded up)."
  }
  /** How each workload's windows follow each other. */
  const windowsText = (id: string) =>
    id === "rate-limit-counter"
      ? [
        `W = ${RATE_LIMIT.limit} requests per window of ${
          RATE_LIMIT.windowMs / 1000
        } s, each window opened by the first request after the last one expired`,
        "(a Redis `INCR` + `EXPIRE` counter; a server without windows on its clock can only start one when a request",
        `arrives), so none starts before the client's first request reaches the server; N = ${RATE_LIMIT.calls} calls at once,`
      ]
      : [
        `W = ${RATE_LIMIT.limit} requests per fixed window of ${
          RATE_LIMIT.windowMs / 1000
        } s, the windows back to back from the client's start, which`,
        `is at least 100 ms from a whole second (so whole-second resets are up to 1 s late); N = ${RATE_LIMIT.calls} calls at once,`
      ]
  for (const id of ["rate-limit", "rate-limit-xrl", "rate-limit-ietf", "rate-limit-counter"] as const) {
    const workload = results.workloads.find((w) => w.id === id)
    // (Results of a run before the workload existed.)
    if (workload === undefined) continue
    add(
      `## ${workload.title}`,
      "",
      ...windowsText(id),
      `one client at a time. ${headerText[id]}`,
      "The row told the limit is told 40 per second for the origin.",
      "",
      `**Ideal**: time = (ceil(N/W) − 1) s = ${
        f2(rlIdealS)
      } s; requests = N; early = 0. **Target**: learned ≤ 1.10 req/N and ≤ 1.10 × ideal,`,
      "0 early; told ≤ 1.02 and ≤ 1.05 ×.",
      "",
      rateLimitTable(id),
      ""
    )
    chartsOf(id)
  }
  add(
    `## ${results.workloads.find((w) => w.id === "rate-limit-store")!.title}`,
    "",
    `W = ${STORE.limit} requests per ${
      STORE.windowMs / 1000
    } s, a window starting at the first request after the previous one expired (the`,
    "memory stores of express-rate-limit and @fastify/rate-limit), so no two windows are back to back; the headers of",
    `their draft-6 mode: \`RateLimit-Limit/Remaining/Reset\` (seconds, rounded up), \`RateLimit-Policy: ${STORE.limit};w=${
      STORE.windowMs / 1000
    }\`, and \`Retry-After\``,
    `on a 429. N = ${STORE.calls} calls at once, one client at a time. The told row does not run it (its told limit is`,
    "another quota).",
    "",
    `**Ideal**: each window opened the instant the previous one expires: time = (ceil(N/W) − 1) × ${
      STORE.windowMs / 1000
    } s = ${f2(storeIdealS)} s; requests = N.`,
    "**Target**: ≤ 1.10 req/N, ≤ 1.10 × ideal, 0 early.",
    "",
    rateLimitTable("rate-limit-store"),
    ""
  )
  chartsOf("rate-limit-store")

  // -- nginx -----------------------------------------------------------------------------------------------------
  for (const id of ["nginx-503", "nginx-429"] as const) {
    const workload = results.workloads.find((w) => w.id === id)!
    add(`## ${workload.title}`, "")
    if (!ran(id)) {
      add(`Not run: ${results.nginx}.`, "")
      continue
    }
    add(
      `A real nginx (${results.nginx}, Debian's package) started by the benchmark with a generated config: \`limit_req\` at`,
      `${NGINX.rate} r/s per tenant, no burst, ${
        id === "nginx-503" ? "the default `limit_req_status` (503)" : "`limit_req_status 429`"
      }, no hint header of any kind; what it lets through`,
      `gets \`return 200\`. ${NGINX.calls} calls at once. The clients run one at a time (as in the rate-limit`,
      "workloads), so that a paced client's timers are not late by the others' work. Arrivals are read from its",
      "access log.",
      "",
      `**Ideal**: one request every ${1000 / NGINX.rate} ms: ${NGINX.calls} requests in ${
        f2(nginxIdealS)
      } s. **Target**: ≥ 58/60 succeed, ≤ 1.30 requests per call,`,
      "≤ 1.30 × ideal.",
      "",
      detail(id, ["succeeded", "requests/call", "time s", "time/ideal", "burst", "thrown"], (runs) => [
        succeeded(runs),
        f2(med(runs, (m) => m.amplification)),
        s2(med(runs, (m) => m.timeMs)),
        f2(med(runs, (m) => m.timeRatio)),
        f0(med(runs, (m) => m.burst)),
        f0(thrown(runs))
      ]),
      ""
    )
    chartsOf(id)
  }

  // -- flaky -----------------------------------------------------------------------------------------------------
  add(
    "## Flaky: 30 % random 5xx",
    "",
    `Each request fails with 500, 502, 503 or 504 with probability p = ${FLAKY.p}, drawn from a generator seeded per repeat (every`,
    `client of a repeat meets the same sequence of answers); ${FLAKY.calls} calls at once.`,
    "",
    `**Ideal**: all calls succeed with 1/(1 − p) = ${
      f2(1 / (1 - FLAKY.p))
    } requests per call on average. A call fails only if all 4 of its`,
    `attempts fail: p⁴ = ${f2(FLAKY.p ** 4 * 100)} %, ${
      f1(FLAKY.calls * FLAKY.p ** 4)
    } calls of ${FLAKY.calls} on average, whatever the policy. **Target**: every call succeeds.`,
    "",
    detail("flaky", ["requests/call", "succeeded", "time s", "burst", "thrown"], (runs) => [
      f2(med(runs, (m) => m.requests / m.calls)),
      succeeded(runs),
      s2(med(runs, (m) => m.timeMs)),
      f0(med(runs, (m) => m.burst)),
      f0(thrown(runs))
    ]),
    ""
  )

  // -- dead origin -----------------------------------------------------------------------------------------------
  add(
    "## Dead origin (503 to everything, no hint)",
    "",
    `${DEAD_CALLS} calls at once; every request gets 503 without any hint.`,
    "",
    "**Ideal**: 1 request per call (nothing a retry sends can succeed). **Target**: ≤ 1.20 requests per call.",
    "",
    detail("dead", ["requests/call", "time to give up s", "burst", "thrown"], (runs) => [
      f2(med(runs, (m) => m.requests / m.calls)),
      s2(med(runs, (m) => m.timeMs)),
      f0(med(runs, (m) => m.burst)),
      f0(thrown(runs))
    ]),
    ""
  )
  chartsOf("dead")

  // -- sequence --------------------------------------------------------------------------------------------------
  add(
    "## One origin, one program: a sequence of paths",
    "",
    "Each client (after every workload above on the same origin) runs these phases one after another, each on",
    "paths of its own. The told row does not run it (its told limit would pace every path of the origin).",
    "",
    `1. **Rate-limited path**: ${SEQUENCE.rateLimitCalls} calls at once, 40 per second, headers as in the first rate-limit workload.`,
    `2. **No rate-limit headers**: ${SEQUENCE.plainCalls} plain GETs answered 200 without any rate-limit header, through ${SEQUENCE.plainConcurrency} workers; calls not`,
    `   started ${
      SEQUENCE.plainDeadlineMs / 1000
    } s after the phase began are not sent (the column says how many). They must not be paced: **target**`,
    "   within 5 % of `withStatusRetry()` alone's time on the same HTTP client and Effect line (for a peer, × alone is",
    "   over the `NodeHttpClient` row's).",
    `3. **4xx**: ${
      SEQUENCE.clientErrorStatuses.length * SEQUENCE.clientErrorsPerStatus
    } calls at once, ${SEQUENCE.clientErrorsPerStatus} each answered ${
      SEQUENCE.clientErrorStatuses.join(", ")
    }. **Target**: 1 request per call, as fast as alone.`,
    "",
    "   Phases 2 and 3 run one client at a time (over all repeats), so that their times compare without the other",
    `   clients' load, in ${SEQUENCE.soloTurns} turns (each client once per turn, in the opposite order every other turn, each turn on`,
    "   paths of its own; a coordinated row runs right next to its row alone); a client's figures are those of its",
    "   median turn by time, and its × alone the median over turns of its time over the alone row's in the same turn",
    "   (the first turn included). The other phases run every client side by side. A phase starts when every client",
    "   has finished the one before. The targets of phases 2 and 3 are judged request by request (the second table).",
    "",
    `4. **Held path**: a call to \`/held\` gets 429 + \`Retry-After: ${SEQUENCE.heldSeconds}\` (34 days); ${SEQUENCE.heldGapMs} ms later a call to another path`,
    "   starts. **Target**: it is sent at once; the delay is from its start to its arrival at the server. The held",
    "   call runs on in the background (bounded by the call timeout).",
    `5. **Maintenance**: ${SEQUENCE.maintenanceCalls} calls at once, 503 with an HTTP-date Retry-After on the first whole second at least ${SEQUENCE.maintenanceSeconds} s away.`,
    "   **Ideal**: the time to that instant, 2 requests per call. **Target**: ≤ 1.05 × ideal, all succeed.",
    `6. **Keyed POSTs**: ${SEQUENCE.postCalls} POSTs with an \`Idempotency-Key\`, each answered 503 (no hint) once, then 201. **Target**: all`,
    "   succeed, 2 requests per call.",
    "",
    table(
      [
        "client",
        "1 req/N · time/ideal · early",
        "2 time s · × alone · req/call",
        "3 time ms · × alone · req/call",
        "4 other path delay · held call requests",
        "5 time/ideal · req/call · ok",
        "6 ok · time s · req/call",
        "thrown"
      ],
      rows((i) => {
        const phase = (id: string) => runsOf(results, `sequence.${id}`, i)
        if (phase("rate-limit").length === 0) return [label(i), "not run", "", "", "", "", "", ""]
        const rl = phase("rate-limit")
        const plain = phase("plain")
        const errors = phase("client-errors")
        const held = phase("held")
        const mt = phase("maintenance")
        const post = phase("keyed-post")
        const all = [rl, plain, errors, held, mt, post]
        return [
          label(i),
          `${f2(med(rl, (m) => m.amplification))} · ${f2(med(rl, (m) => m.timeRatio))} · ${
            f0(med(rl, (m) => m.early))
          }`,
          `${s2(med(plain, (m) => m.timeMs))} · ${f2(vsAlone("sequence.plain", i))} · ${
            f2(med(plain, (m) => m.requests / (m.calls - m.notStarted)))
          }${med(plain, (m) => m.notStarted) > 0 ? ` · ${f0(med(plain, (m) => m.notStarted))} not started` : ""}`,
          `${f0(med(errors, (m) => m.timeMs))} · ${f2(vsAlone("sequence.client-errors", i))} · ${
            f2(med(errors, (m) => m.requests / m.calls))
          }`,
          `${heldDelay(i)} · ${f0(perGroup(held, "held", (g) => g.requests))}`,
          `${f2(med(mt, (m) => m.timeRatio))} · ${f2(med(mt, (m) => m.requests / m.calls))} · ${succeeded(mt)}`,
          `${succeeded(post)} · ${s2(med(post, (m) => m.timeMs))} · ${f2(med(post, (m) => m.requests / m.calls))}`,
          f0(all.reduce((sum, runs) => sum + thrown(runs), 0))
        ]
      })
    ),
    ""
  )

  if (results.paired !== undefined && results.paired.length > 0) {
    add(
      "### Phases 2 and 3, request by request",
      "",
      "A phase of a few hundred milliseconds is a poor scale for 5 %: on this shared machine one turn's ratio to the row",
      "alone's swings by up to a third from one turn to the next (the table above gives the median of its turns). So",
      `right after the sequence, on the same long-lived clients (the first program's; no warm-up of their own), each`,
      `coordinated row and its row alone send ${SEQUENCE.pairedRequests} requests of each kind one at a time, in pairs (one each, back`,
      "to back, which goes first alternating), each kind on paths of its own: 200 without rate-limit headers (phase 2's),",
      "and 4xx (phase 3's statuses in turn). A ratio is the median of the pairs' ratios, as in the overhead table below.",
      "**Target**: ≤ 1.05 for both (phase 2's 5 %, and phase 3's \"as fast as alone\" read with the same margin).",
      "",
      table(
        ["client", "over", "200: ratio · µs alone · µs coordinated", "4xx: ratio · µs alone · µs coordinated"],
        adapters.flatMap((_, i) => {
          const plain = pairedOf("plain", i)
          const errors = pairedOf("client-errors", i)
          if (plain === undefined || errors === undefined) return []
          const cell = (p: PairedResult) => `${f2(p.ratio)} · ${f0(p.aloneUs)} · ${f0(p.coordinatedUs)}`
          return [[
            label(i),
            adapters.find((a) => a.id === plain.alone)?.label ?? plain.alone,
            cell(plain),
            cell(errors)
          ]]
        })
      ),
      ""
    )
  }

  // -- overhead --------------------------------------------------------------------------------------------------
  add(
    "## Overhead on the happy path, over the wire",
    "",
    "An always-200 server, after the workloads; the same client without and with its retries make their requests in",
    "pairs, one each, back to back (which goes first alternates), so that both meet the same instant of the machine.",
    `${OVERHEAD.passes} passes, each in a fresh process (bench/src/overhead.ts) that measures every client in turn (${OVERHEAD.warmUp} pairs of warm-up,`,
    `then ${OVERHEAD.pairs}), starting one further along from one pass to the next. A client's ratio in a pass is the median of`,
    "its paired ratios; the table shows the median pass and the range of the passes, and the median request",
    "(median pass). A median of pairs, because this shared machine loses whole milliseconds at random: a ratio of",
    "mean times over rounds of requests moved by up to 10 % between runs, the control row included.",
    "**Ideal**: ratio 1.00.",
    "",
    table(
      ["client", "µs/request without retry (median)", "µs/request with retry (median)", "ratio", "passes"],
      [...results.overhead, ...(results.control === undefined ? [] : [results.control])].map((o) => [
        o.adapter.label,
        f0(o.withoutUs),
        f0(o.withUs),
        f2(o.ratio),
        `${f2(Math.min(...o.passes))}–${f2(Math.max(...o.passes))}`
      ])
    ),
    "",
    "The last row measures one client against an identical instance of itself: how far from 1.00 a ratio can be",
    "by noise alone on this machine during this run.",
    "",
    "Without retry: the @effect/platform rows use the same base client (`NodeHttpClient` or `FetchHttpClient`) without",
    "`withStatusRetry()` / without `retryTransient` (the latter keeps its `filterStatusOk` and timeout), the Effect 4",
    "rows Effect 4's `FetchHttpClient` without `retryTransient` (keeping its timeout) or `withRateLimiter`, ky",
    "`retry: 0`, got `retry.limit: 0`, undici the bare `Agent`, p-retry the bare attempt function, axios the instance",
    "without axios-retry.",
    ""
  )

  // -- micro -----------------------------------------------------------------------------------------------------
  const base = results.micro.time.rows[0]
  const baseMem = results.micro.memory.rows[0]
  add(
    "## Micro-benchmark: what the retry layer adds to an @effect/platform client",
    "",
    "In process, no I/O: `HttpClient.make(req => Effect.succeed(HttpClientResponse.fromWeb(req, new Response(null,",
    `{ status: 200 }))))\`, wrapped or not. Time: tinybench, each client in a fresh process, its task ${results.micro.time.batch} sequential`,
    `requests in one \`Effect.runPromise\`, median task time / batch; ${results.micro.time.passes} passes over all clients in rotating order; ns/request`,
    "is the median pass, added ns the median over passes of the difference with the bare client in the same pass.",
    "Allocation: `process.memoryUsage().heapUsed` after minus before a",
    `batch of ${results.micro.memory.batch} requests, both after \`gc()\` (\`--expose-gc\`, young generation of 64 MB so no collection`,
    "happens inside a batch; a batch with a collection is measured again), median of the batches.",
    "",
    table(
      ["client", "ns/request", "added ns", "± % (rme)", "bytes/request", "added bytes"],
      results.micro.time.rows.map((row, k) => {
        const mem = results.micro.memory.rows[k]
        return [
          row.name,
          f0(row.nsPerRequest),
          k === 0 ? "–" : f0(row.addedNs ?? row.nsPerRequest - (base?.nsPerRequest ?? NaN)),
          f1(row.rme),
          f0(mem?.bytesPerRequest),
          k === 0 ? "–" : f0((mem?.bytesPerRequest ?? NaN) - (baseMem?.bytesPerRequest ?? NaN))
        ]
      })
    ),
    "",
    "The second row is the toolkit's defaults, the third the same with the origin coordinator provided, the fourth",
    "with a per-attempt timeout (`attemptTimeout`, off by default): the differences are what each costs on the happy path.",
    ""
  )

  // -- micro: origins, waiting memory ----------------------------------------------------------------------------
  const originsTable = (result: OriginsResult) => {
    const spreads = [...result.spreads].sort((a, b) => a - b)
    return [
      table(
        [
          "distinct origins",
          "ns/request",
          "× the fastest",
          "heap MB",
          "origins held",
          "touched in the first round",
          "requests timed"
        ],
        result.rows.map((o, i) => [
          String(o.origins),
          f0(o.nsPerRequest),
          f2(overTypicalFastest(result)[i]),
          f1(o.heapMB),
          String(o.held),
          String(o.touched),
          String(o.requests)
        ])
      ),
      "",
      `The slowest count over the fastest: ${
        f2(overOrigins(result))
      } (each count's median over passes of its time over`,
      `its pass's median count). Slowest over fastest within each pass: ${
        f2(withinPasses(result))
      } (median of ${spreads.length} passes; ${spreads.map(f2).join(", ")}): a ratio of the extremes of three`,
      "noisy times, it moves up with noise in any one of them."
    ]
  }
  add(
    "## Micro-benchmark: many origins",
    "",
    "One coordinator (`Coordinator.make()` with its defaults, 10^4 origins held at most), then requests spread over",
    "10^3, 10^4 and 10^5 distinct origins, each count in a fresh process: one round touching every origin, then the",
    "median of 3 rounds of up to 200 000 requests cycling through the origins; every round stops after 1.5 s however",
    "far it got (the columns say how far). Heap: what the process holds after the rounds minus before the coordinator",
    "was made, after `gc()` (with the event loop turned between collections, so that finalizers have run).",
    `${results.micro.origins.passes} passes run the three counts in turn, starting one further along from one pass to`,
    "the next: each row is its count's median pass; its ratio is its typical time over the fastest count's, a count's",
    "typical time being the median over passes of its time over its pass's median count (a ratio of processes far",
    "apart in time would measure this shared machine's load drifting).",
    "",
    "**A request**, as a program makes it: `withStatusRetry()` under the coordinator, over a client that answers a 200",
    "carrying `X-RateLimit-*` from memory (no I/O). **Target**: time per request flat within 20 % from 10^3 to 10^5",
    "origins, memory bounded.",
    "",
    ...originsTable(results.micro.originsRequest),
    "",
    "**The coordinator's own path**, without HTTP (`withPermit`, then `observe` with the same synthetic 200): the",
    "coordinator's share of a request, measured alone. Past 10^4 origins each request to a new origin drops the least",
    "recently used one and makes another (constant work: no scan); the young-generation collections (each new",
    "origin's key survives them) and the memory touched cost more than a request to an origin held in cache.",
    overOrigins(results.micro.origins) <= 1.2
      ? "Flat within 20 % here too."
      : `Not flat within 20 % (${f2(overOrigins(results.micro.origins))}): this is the part of a request that grows.`,
    "",
    ...originsTable(results.micro.origins),
    "",
    "## Micro-benchmark: memory and CPU per waiting call",
    "",
    `${
      results.micro.waiting[0]?.calls ?? 0
    } calls parked by a \`Retry-After: 5\` (a synthetic client answers 429 to every request) through`,
    "`withStatusRetry()`, alone and with one coordinator, against as many bare `Effect.sleep(\"5 seconds\")` fibers",
    "(on the Effect 3 line, then the same on the Effect 4 line, each count in a fresh process):",
    "heap while they wait minus before they started, both after `gc()` (`--expose-gc`), per call; and the CPU time",
    "(user and system, garbage collection included) the process spent from the first call's start until all wait.",
    "",
    table(
      ["calls", "requests answered while they wait", "KB per call", "CPU µs per call"],
      results.micro.waiting.map((w) => [
        ({
          "sleep": "`Effect.sleep` fibers",
          "alone": "`withStatusRetry()`",
          "coordinated": "`withStatusRetry()` + one coordinator",
          "effect4-sleep": "Effect 4: `Effect.sleep` fibers",
          "effect4-alone": "Effect 4: `withStatusRetry()`",
          "effect4-coordinated": "Effect 4: `withStatusRetry()` + one coordinator"
        } as Record<string, string>)[w.mode] ?? w.mode,
        String(w.answered),
        f2(w.kbPerCall),
        f0(w.cpuMicrosPerCall)
      ])
    ),
    "",
    "The same measurement on earlier code: 10.05 KB through `withStatusRetry()` and 17.22 KB with the coordinator",
    "(commit 73b787b); 7.35 and 10.74 KB (commit 5b0fc26, before the retry loop became one for every entry point and",
    "errors began to carry the response's body): this version holds more per waiting call than that one. On the",
    "Effect 4 line with one coordinator: 13.21 KB and 179-190 µs before its held calls waited on a timer each instead",
    "of a race of two fibers (commit 256c922).",
    "",
    "## Micro-benchmark: CPU and allocation per failed attempt",
    "",
    "`withStatusRetry()` over a client that answers from memory (no I/O), in fresh processes",
    `(bench/src/failed-attempt.ts), ${results.micro.failedAttempt.concurrency} calls at once: every call succeeds at once`,
    "(`ok`), or its first attempt gets a 503 with a 200-byte body and no hint, or a 429 with `Retry-After-Ms: 1` and",
    "`X-RateLimit-*`, and its second a 200. A failed attempt costs what its calls take over the `ok` calls. CPU: the",
    `process's (user + system) over runs of ${results.micro.failedAttempt.cpuCalls} calls, with the heap settings a`,
    "program has and no collection forced between runs (the collections a run causes count). Allocation: the heap",
    `growth over runs of ${results.micro.failedAttempt.heapCalls} calls, each after \`gc()\`, with a young generation`,
    "large enough that a run does not collect (in its own process: those settings change the CPU a call costs).",
    `Rounds (${results.micro.failedAttempt.rounds} for CPU, ${results.micro.failedAttempt.heapRounds} for allocation) each run the three kinds of calls back to`,
    "back, in an order that turns from round to round, so that the machine's load, which drifts over seconds, falls on",
    "each kind alike. A run of failing calls takes one of two times, by whether a full collection falls in it (about",
    "half do): so CPU per call is the mean of the runs, and its ratio what the mean failing call takes over the mean",
    "`ok` call, set against the mean `ok` call; allocation per call is the median of its runs, and its ratio the median",
    `of the rounds' ratios. The CPU is measured in ${
      cpuProcesses(results.micro.failedAttempt).length
    } processes of ${results.micro.failedAttempt.rounds} rounds each, ours and the`,
    "reference's in turn: one process's ratio moves by about 0.2 from one process to the next (its JIT, its heap), so",
    "the figures below are the means over the processes, and the ratios of those means. Each process's",
    `ratios, 503 / 429: ${
      cpuProcesses(results.micro.failedAttempt).map((r) => `${f2(r["503"])} / ${f2(r["429"])}`).join(", ")
    }`,
    `(the reference's: ${
      cpuProcesses(results.micro.failedAttemptReference).map((r) => `${f2(r["503"])} / ${f2(r["429"])}`).join(", ")
    }).`,
    ...(results.micro.failedAttempt4 === undefined || results.micro.failedAttemptReference4 === undefined ? [] : [
      `On the Effect 4 line: ${
        cpuProcesses(results.micro.failedAttempt4).map((r) => `${f2(r["503"])} / ${f2(r["429"])}`).join(", ")
      } (its \`retryTransient\`'s: ${
        cpuProcesses(results.micro.failedAttemptReference4).map((r) => `${f2(r["503"])} / ${f2(r["429"])}`).join(", ")
      }).`
    ]),
    "**Target**: a failed attempt at most twice a successful call.",
    "",
    table(
      [
        "retry",
        "calls",
        "CPU per call µs",
        "failed attempt µs",
        "× a successful call",
        "KB per call",
        "failed attempt KB",
        "×"
      ],
      (
        [
          ["`withStatusRetry()`", results.micro.failedAttempt],
          ["`filterStatusOk` + `retryTransient` (reference)", results.micro.failedAttemptReference],
          ["Effect 4: `withStatusRetry()`", results.micro.failedAttempt4],
          ["Effect 4: `retryTransient` (reference)", results.micro.failedAttemptReference4]
        ] as const
      ).flatMap(([name, measured]) => measured === undefined ? [] : [[name, measured] as const]).flatMap((
        [name, measured]
      ) =>
        (["ok", "503", "429"] as const).map((scenario) => {
          const m = measured[scenario]
          const failed = scenario === "ok" ? undefined : measured[scenario]
          return [
            name,
            scenario === "ok" ? "every attempt a 200" : `first attempt a ${scenario}`,
            f2(m.nsPerCall / 1000),
            failed === undefined ? "–" : f2(failed.failedAttemptNs / 1000),
            failed === undefined ? "–" : f2(failed.cpuRatio),
            f2(m.bytesPerCall / 1024),
            failed === undefined ? "–" : f2(failed.failedAttemptBytes / 1024),
            failed === undefined ? "–" : f2(failed.allocationRatio)
          ]
        })
      )
    ),
    "",
    "The reference row is @effect/platform's own `retryTransient` after `filterStatusOk` (1 ms apart): it builds no",
    "typed error, reads no body, bounds no attempt and retries the 429 without its hint. What its failed attempt",
    "costs over its successful call is what retrying costs on Effect 3's HttpClient at the least. The Effect 4 rows",
    "run the same calls through Effect 4.1's HttpClient (`effect/http`): `withStatusRetry()` of @effect-retry/effect4,",
    "and Effect 4's own `retryTransient` (which retries transient responses itself, 1 ms apart). Each attempt on that",
    "client opens a span and an `AbortController` and registers its response for cleanup, which a failed attempt pays",
    "again; the target above is the Effect 3 line's.",
    "",
    "Before the retry loop became one (the script of commit 5b0fc26, on a loaded machine): a failed attempt cost 3.8",
    "ms of CPU, 5.7 times a successful call. Until commit cdde54e, the CPU was measured in the allocation runs (runs",
    "of 400 calls, each after a forced `gc()`, with the large young generation): a forced collection leaves the next",
    "calls several times slower than a program's (an `ok` call cost about 360 µs in those runs), and their ratios",
    "(1.69 and 2.00 in that commit's results) understated the failed attempt's cost.",
    "",
    "Until commit f863b0e, the body of every failure was read onto its error before the retry was decided, though",
    "nothing sees a retried failure's error unless an `onRetry` hook or a backoff `Schedule` is given; since, such a",
    "body is drained in the background while the retry waits, and the body of the failure the call gives up on is",
    "read then. Three runs of this script for each, the code before and after in turn on the same machine: a failed",
    "attempt cost 2.24 (503) and 2.43 (429) times a successful call before, 2.05 and 2.16 after (means of the runs;",
    "single runs range over ±0.2). The rest of a failed attempt is mostly a second attempt and the collections that",
    "calls waiting 1 ms at 200 at once cause: its allocation is about one successful call's (the × column).",
    "",
    "Until commit 1a0382a, such a retried failure still had its typed error built (its URL and headers redacted onto",
    "it) before the retry was decided; since, the decision reads the failure's outcome and hint, and the error is",
    "built only for the failure the call gives up on. Three runs of this script for each again, before and after in",
    "turn: 2.04 (503) and 2.08 (429) times a successful call before, 1.80 and 1.92 after. The full run of commit",
    "741b90c, which measured the CPU in one process, gave 1.85 and 2.13.",
    ""
  )

  // -- configurations --------------------------------------------------------------------------------------------
  add(
    "## Client configurations",
    "",
    "Each peer is configured as a careful user would from its README (the comments in bench/src/adapters.ts say why).",
    "All are given 3 retries (4 attempts), the toolkit's default, so that the comparison is about how they retry.",
    "The toolkit has three rows on `NodeHttpClient`: its defaults; its recommended production setting,",
    "`Coordinator.layer()` provided (the README's herd-control section), told no limit; and the same told the quotas",
    "of the two origins; and the first two again on @effect/platform's `FetchHttpClient`. Each coordinated instance",
    "keeps its one coordinator for the whole run: it meets every workload knowing what the earlier ones taught it.",
    "Effect 4.1's own wrappers (`effect` 4.1.0, its `FetchHttpClient`: its `@effect/platform-node` needs Node.js",
    ">= 22.19) are peers: `retryTransient`, which in 4.1 waits at least a Retry-After, and `withRateLimiter`, told the",
    "quotas, or given a limit far above the server's so that it paces by what it learns from the answers.",
    "",
    table(["client", "configuration"], adapters.map((a) => [a.label, a.config])),
    ""
  )

  // -- checks ----------------------------------------------------------------------------------------------------
  const retried = adapters.map((a, i) => {
    const runs = runsOf(results, "dead", i)
    if (runs.length === 0) return [a.label, "–", "not run (this configuration runs the rate-limit workloads only)"]
    const max = Math.max(0, ...runs.map((run) => run.metrics.maxPerCall))
    return [a.label, f0(max), max > 1 ? "yes" : "**no: this client never retried**"]
  })
  // Per workload, warning and package: how many, and the first one's message.
  const warningCounts = new Map<string, { n: number; readonly message: string }>()
  for (const w of results.warnings) {
    const key = `${w.phase}: ${w.name} from ${w.from}`
    const seen = warningCounts.get(key)
    if (seen === undefined) warningCounts.set(key, { n: 1, message: w.message.replace(/`/g, "'") })
    else seen.n++
  }
  const exceptionLines = [...results.runs.keys()].flatMap((key) =>
    adapters.flatMap((a, i) => {
      const messages = runsOf(results, key, i).flatMap((run) => run.metrics.exceptions)
      if (messages.length === 0) return []
      const counts = new Map<string, number>()
      for (const m of messages) counts.set(m, (counts.get(m) ?? 0) + 1)
      return [...counts].map(([m, n]) => `- ${key}, ${a.label}: ${n} × \`${m.replace(/`/g, "'")}\``)
    })
  )
  const strayTotal = Object.values(results.stragglers).reduce((a, b) => a + b, 0)
  add(
    "## Checks",
    "",
    "Every client really retried against this server (most requests any call of the dead-origin workload made):",
    "",
    table(["client", "max requests per call", "retried"], retried),
    "",
    exceptionLines.length === 0
      ? "Thrown: none (no call ended in an unexpected exception)."
      : "Thrown (calls that ended in an unexpected exception):",
    ...(exceptionLines.length === 0 ? [] : ["", ...exceptionLines]),
    "",
    results.unhandled.length === 0
      ? "Unhandled rejections / uncaught exceptions in the benchmark process: none."
      : `Unhandled rejections / uncaught exceptions in the benchmark process: ${results.unhandled.length}: ${
        results.unhandled.slice(0, 5).map((u) => `\`${u}\``).join(", ")
      }`,
    "",
    strayTotal === 0
      ? "Requests that reached the server after their call had ended: none."
      : `Requests that reached the server after their workload had ended: ${
        Object.entries(results.stragglers).map(([k, v]) => `${k} ${v}`).join(", ")
      }.`,
    "",
    warningCounts.size === 0
      ? "Warnings Node.js printed in the benchmark's process: none."
      : "Warnings Node.js printed in the benchmark's process (the workload, and the package whose code raised it; a " +
        "`TimeoutOverflowWarning` is a delay of more than 2^31 - 1 ms handed to `setTimeout`, which Node.js then " +
        "fires after 1 ms):",
    ...(warningCounts.size === 0
      ? []
      : ["", ...[...warningCounts].map(([key, { message, n }]) => `- ${n} × ${key} (the first: \`${message}\`)`)]),
    "",
    results.clockSteps.length === 0
      ? "Steps of the system clock during the run (wall time against the monotonic clock, over 20 ms): none."
      : "Steps of the system clock during the run (wall time against the monotonic clock, over 20 ms; every time " +
        "the server logs and every instant a server tells is wall time, so the workload running then may show " +
        "requests early or late by that much):",
    ...(results.clockSteps.length === 0
      ? []
      : [
        "",
        ...results.clockSteps.map((step) => `- ${step.at}, ${step.phase}: ${step.ms > 0 ? "+" : ""}${step.ms} ms`)
      ]),
    ...(results.collections === undefined || results.collections.length === 0 ? [] : [
      "",
      "The benchmark process's own garbage collection, per workload (its pauses stop every client it measures: a paced " +
      "client loses that time): pauses, their total, the longest, and the heap in use after the workload; and how " +
      "late the process's timers fired at most (a stall, from a collection, the process's own work, or the machine " +
      "taking the CPU away, delays every client of the process at once):",
      "",
      ...results.collections.map((c) =>
        `- ${c.workload}: ${c.pauses} pauses, ${c.totalMs} ms, the longest ${c.maxMs} ms; ${c.heapMb} MB${
          c.lateTimerMs === undefined ? "" : `; a timer up to ${c.lateTimerMs} ms late`
        }`
      )
    ]),
    ""
  )
  return out.join("\n")
}
