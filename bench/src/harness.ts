/**
 * Runs workloads: starts the server process, gives every client its tenant, fires the calls with a timeout each,
 * and collects the server's (or nginx's) log.
 */
import { type ChildProcess, execFile, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Adapter, CallSpec, Client, Outcome } from "./adapters.js"
import { aloneOf, describe } from "./adapters.js"
import type { Nginx } from "./nginx.js"
import { seeded } from "./rng.js"
import { analyse, type CallRecord, median, type RunMetrics } from "./metrics.js"
import { OVERHEAD, type OverheadNumbers } from "./overhead.js"
import { type Arrival, CALL_ID, type FromServer, now, type Scenario, type ToServer } from "./protocol.js"
import { type Phase, phaseKey, type PlannedCall, SEQUENCE, type Workload } from "./workloads.js"

/** Every call is bounded: the library gets an AbortSignal; a library that ignores it is cut off 2 s later. */
export const CALL_TIMEOUT_MS = 20_000
const HARD_MARGIN_MS = 2_000
/** The whole run is stopped after this long, whatever it is doing (main.ts). */
export const WATCHDOG_MS = 1_500_000

// Distributive Omit, so each message keeps its own fields.
type Request = ToServer extends infer M ? M extends ToServer ? Omit<M, "seq"> : never : never

export interface ServerHandle {
  readonly base: string
  readonly ask: (message: Request) => Promise<FromServer>
  readonly open: (tenant: string, scenario: Scenario) => Promise<void>
  readonly dump: (tenants: ReadonlyArray<string>) => Promise<Record<string, ReadonlyArray<Arrival>>>
  readonly counts: () => Promise<Record<string, number>>
  readonly kill: () => void
}

export const startServer = (script: string): Promise<ServerHandle> =>
  new Promise((resolve, reject) => {
    const child: ChildProcess = fork(script, [], { stdio: ["ignore", "inherit", "inherit", "ipc"] })
    const pending = new Map<number, (message: FromServer) => void>()
    let seq = 0
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    }
    // Whatever happens to this process, the server goes with it.
    process.once("exit", kill)
    child.once("error", reject)
    child.once("exit", (code, signal) => {
      for (const [, settle] of pending) settle({ op: "counts", seq: -1, counts: {} })
      pending.clear()
      if (code !== 0 && signal !== "SIGKILL") reject(new Error(`server exited (${code ?? signal})`))
    })
    child.on("message", (raw) => {
      const message = raw as FromServer
      if (message.op === "ready") {
        const ask = (request: Request): Promise<FromServer> =>
          new Promise((settle) => {
            const id = ++seq
            pending.set(id, settle)
            child.send({ ...request, seq: id } as ToServer)
          })
        resolve({
          base: `http://127.0.0.1:${message.port}`,
          ask,
          open: async (tenant, scenario) => {
            await ask({ op: "open", tenant, scenario })
          },
          dump: async (tenants) => {
            const reply = await ask({ op: "dump", tenants })
            return reply.op === "log" ? reply.logs : {}
          },
          counts: async () => {
            const reply = await ask({ op: "counts" })
            return reply.op === "counts" ? reply.counts : {}
          },
          kill
        })
        return
      }
      const settle = pending.get(message.seq)
      if (settle !== undefined) {
        pending.delete(message.seq)
        settle(message)
      }
    })
  })

/** `at`, or if it lies within 100 ms of a whole second, a point 100-200 ms past that second (`r` in [0, 1)). */
const offWholeSecond = (at: number, r: number): number => {
  const into = ((at % 1000) + 1000) % 1000
  if (into >= 100 && into <= 900) return at
  const second = into < 100 ? at - into : at - into + 1000
  return second + 100 + 100 * r
}

const sleepUntil = (at: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())))

/** One call, bounded twice: the signal the library gets, and a hard stop if it ignores the signal. */
export const runCall = async (client: Client, spec: Omit<CallSpec, "signal">): Promise<Outcome> => {
  const signal = AbortSignal.timeout(CALL_TIMEOUT_MS)
  let timer: ReturnType<typeof setTimeout> | undefined
  const hard = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () => resolve({ kind: "exception", error: "harness: still running 2 s after the call's abort signal fired" }),
      CALL_TIMEOUT_MS + HARD_MARGIN_MS
    )
  })
  try {
    return await Promise.race([
      client.call({ ...spec, signal }).catch((error: unknown): Outcome => ({
        kind: "exception",
        error: describe(error)
      })),
      hard
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** One client's run of one phase of a workload. */
export interface ClientRun {
  readonly adapter: Adapter
  readonly tenant: string
  readonly start: number
  readonly arrivals: ReadonlyArray<Arrival>
  readonly calls: ReadonlyArray<CallRecord>
  readonly metrics: RunMetrics
  /**
   * A solo phase's turns (see `SEQUENCE.soloTurns`), in order, with their figures only (their `arrivals` and `calls`
   * are left empty): this run is its median turn by time.
   */
  readonly turns?: ReadonlyArray<ClientRun>
}

/**
 * One program per repeat: a client instance per adapter (`undefined` where the adapter is left out), made once and
 * kept for the whole run, so that a coordinator keeps what it learned from one workload to the next.
 */
export interface Lane {
  readonly repeat: number
  readonly seed: number
  readonly clients: ReadonlyArray<Client | undefined>
}

export interface Targets {
  readonly server: ServerHandle
  readonly nginx?: Nginx | undefined
}

/**
 * Runs calls (all at once, or through a pool of `concurrency` workers, which starts none past `deadlineMs`); each
 * after its `after` delay.
 */
const runPlanned = async (
  planned: ReadonlyArray<PlannedCall>,
  concurrency: number | undefined,
  deadlineMs: number | undefined,
  run: (call: PlannedCall, index: number) => Promise<CallRecord>,
  notStarted: (call: PlannedCall, index: number) => CallRecord
): Promise<{ readonly done: Array<CallRecord>; readonly background: Array<Promise<CallRecord>> }> => {
  const phaseStart = now()
  const one = async (call: PlannedCall, index: number) => {
    if (call.after !== undefined) await sleepUntil(phaseStart + call.after)
    return run(call, index)
  }
  const background = planned.flatMap((call, i) => (call.background === true ? [one(call, i)] : []))
  const foreground = planned.map((call, i) => ({ call, i })).filter(({ call }) => call.background !== true)
  if (concurrency === undefined) {
    return { done: await Promise.all(foreground.map(({ call, i }) => one(call, i))), background }
  }
  const done: Array<CallRecord> = []
  let next = 0
  await Promise.all(Array.from({ length: Math.min(concurrency, foreground.length) }, async () => {
    while (next < foreground.length) {
      const { call, i } = foreground[next++]!
      done.push(deadlineMs !== undefined && now() - phaseStart > deadlineMs ? notStarted(call, i) : await one(call, i))
    }
  }))
  return { done, background }
}

/**
 * Runs one workload in every lane, side by side: each lane's clients against tenants of their own, their starts
 * spread over the first second and never on a whole second (lane r, client i at a random point of its own slot of
 * `1000 / participants` ms), so that no two tenants' herds reach the server in the same instant and no rate-limit
 * window starts on a whole second. The phases run in step: a phase starts when every client has finished the one
 * before; a `solo` phase runs one client at a time. The rows' groups (`Adapter.group`) run one after the other, each
 * through every phase. Answers the runs per phase key, [repeat][adapter].
 */
export const runWorkload = async (
  targets: Targets,
  workload: Workload,
  adapters: ReadonlyArray<Adapter>,
  lanes: ReadonlyArray<Lane>,
  /** A run that is not measured (the warm-up pass): its tenants' prefix, and how many of the calls it makes. */
  unmeasured?: { readonly prefix: string; readonly calls: number }
): Promise<ReadonlyMap<string, ReadonlyArray<ReadonlyArray<ClientRun | undefined>>>> => {
  const { server, nginx } = targets
  const base = workload.target === "nginx" ? nginx?.base : server.base
  if (base === undefined) throw new Error(`${workload.id}: no nginx`)
  const participants = lanes.flatMap((lane) =>
    adapters.flatMap((adapter, i) => {
      const client = lane.clients[i]
      return client === undefined || (adapter.told === true && !workload.told) ? [] : [{ lane, adapter, i, client }]
    })
  )
  const random = seeded(lanes[0]?.seed ?? 1)
  /** A group's plans: the whole second at least 300 ms from now, then one slot per participant, a random point of it. */
  const plansOf = (group: typeof participants) => {
    const first = Math.ceil((now() + 300) / 1000) * 1000
    const slot = 1000 / group.length
    return group.map((p, k) => ({ ...p, start: first + (k + 0.1 + 0.8 * random()) * slot }))
  }
  type Plan = ReturnType<typeof plansOf>[number]
  /** The plans in their order, but each row alone (of its lane) followed at once by the rows judged against it. */
  const pairedWithAlone = (plans: ReadonlyArray<Plan>): ReadonlyArray<Plan> => {
    const judged = (p: Plan) => p.adapter.toolkit !== undefined && aloneOf(adapters, p.i) !== p.i
    const out: Array<Plan> = []
    for (const plan of plans) {
      if (judged(plan)) continue
      out.push(plan)
      for (const other of plans) {
        if (judged(other) && other.lane === plan.lane && aloneOf(adapters, other.i) === plan.i) out.push(other)
      }
    }
    // A row whose row alone does not run here keeps its place at the end.
    for (const plan of plans) if (!out.includes(plan)) out.push(plan)
    return out
  }
  interface Done {
    readonly repeat: number
    readonly adapter: number
    readonly phase: Phase
    readonly tenant: string
    readonly scenario: Scenario
    readonly start: number
    readonly calls: Array<CallRecord>
  }
  const finished: Array<Done> = []
  const background: Array<Promise<CallRecord>> = []
  const runPhase = async (plan: Plan, phase: Phase, k: number, turn = 0) => {
    const tenant = `${unmeasured?.prefix ?? ""}${workload.id}.${phase.id}.r${plan.lane.repeat + 1}.${plan.adapter.id}${
      turn === 0 ? "" : `.turn${turn + 1}`
    }`
    // (A solo phase's clients start one after another, each when the one before it has finished, at least 100 ms
    // from a whole second.)
    const planned = k === 0 && phase.solo !== true
    const start = planned ? plan.start : phase.solo === true ? offWholeSecond(now(), random()) : now()
    const scenario = phase.scenario(start, plan.lane.seed)
    if (workload.target === "server") await server.open(tenant, scenario)
    await sleepUntil(start)
    const calls = phase.calls().slice(0, unmeasured?.calls)
    const record = (call: PlannedCall, id: string, began: number, outcome: Outcome): CallRecord => ({
      call: id,
      group: call.group,
      start: began,
      end: now(),
      outcome,
      ...(call.background === true ? { background: true } : {})
    })
    const ran = await runPlanned(
      calls,
      phase.concurrency,
      phase.deadlineMs,
      async (call, index) => {
        const id = `${tenant}.${index}`
        const began = now()
        const outcome = await runCall(plan.client, {
          url: `${base}/t/${tenant}${call.path}`,
          method: call.method,
          headers: { ...call.headers, [CALL_ID]: id },
          ...(call.body === undefined ? {} : { body: call.body })
        })
        return record(call, id, began, outcome)
      },
      (call, index) => record(call, `${tenant}.${index}`, now(), { kind: "not-started" })
    )
    const done: Done = { repeat: plan.lane.repeat, adapter: plan.i, phase, tenant, scenario, start, calls: ran.done }
    finished.push(done)
    // A call the server parked runs on in the background; it is bounded like every call.
    for (const p of ran.background) {
      background.push(p.then((call) => {
        done.calls.push(call)
        return call
      }))
    }
  }
  // The groups one after the other (see `Adapter.group`), each through every phase.
  for (const group of [0, 1]) {
    const members = participants.filter((p) => (p.adapter.group ?? 0) === group)
    if (members.length === 0) continue
    const plans = plansOf(members)
    for (const [k, phase] of workload.phases.entries()) {
      if (phase.solo === true) {
        // Turns, each client once per turn, in the opposite order every other turn (see `SEQUENCE.soloTurns`); a row
        // of this toolkit runs right after (or before) the row alone it is judged against, so that their ratio is of
        // two runs a moment apart.
        const turns = unmeasured === undefined ? phase.soloTurns ?? SEQUENCE.soloTurns : 1
        const paired = pairedWithAlone(plans)
        for (let turn = 0; turn < turns; turn++) {
          for (const plan of turn % 2 === 0 ? paired : [...paired].reverse()) await runPhase(plan, phase, k, turn)
        }
      } else {
        await Promise.all(plans.map((plan) => runPhase(plan, phase, k)))
      }
    }
  }
  await Promise.all(background)
  const logs = workload.target === "server"
    ? await server.dump(finished.map((d) => d.tenant))
    : nginx!.arrivals()
  const out = new Map<string, Array<Array<ClientRun | undefined>>>()
  for (const phase of workload.phases) {
    out.set(phaseKey(workload, phase), lanes.map(() => adapters.map(() => undefined)))
  }
  // A client's turns of a solo phase: its median turn by time stands for it.
  const turns = new Map<string, Array<ClientRun>>()
  for (const d of finished) {
    const arrivals = logs[d.tenant] ?? []
    const firstStart = Math.min(...d.calls.map((c) => c.start))
    const idealMs = d.phase.idealMs?.(firstStart, d.scenario)
    const key = `${phaseKey(workload, d.phase)} ${d.repeat} ${d.adapter}`
    const runs = turns.get(key) ?? []
    turns.set(key, runs)
    runs.push({
      adapter: adapters[d.adapter]!,
      tenant: d.tenant,
      start: firstStart,
      arrivals,
      calls: d.calls,
      metrics: analyse(arrivals, d.calls, d.phase.need, idealMs)
    })
    const chosen = [...runs].sort((a, b) => a.metrics.timeMs - b.metrics.timeMs)[Math.floor((runs.length - 1) / 2)]!
    // (The turns keep their figures, not their requests: the process holds what it measured until the run ends, and
    // a larger heap collects longer, under the workloads still to come.)
    out.get(phaseKey(workload, d.phase))![lanes.findIndex((l) => l.repeat === d.repeat)]![d.adapter] = runs.length === 1
      ? chosen
      : { ...chosen, turns: runs.map((run) => ({ ...run, arrivals: [], calls: [] })) }
  }
  return out
}

/**
 * Warms every client up, not measured: `calls` concurrent requests (the most calls a workload sends at once), to an
 * always-200 tenant of each origin, so that connection set-up and JIT compilation are not part of the numbers (a
 * service's client is warm). It is the same origin the workloads use: a program has called it before. The row told
 * the quotas sends a few only: its coordinator paces every request to those origins at the quota it was told.
 */
export const warmUp = async (
  targets: Targets,
  adapters: ReadonlyArray<Adapter>,
  lanes: ReadonlyArray<Lane>,
  calls: number
) => {
  await Promise.all(lanes.flatMap((lane) =>
    adapters.map(async (adapter, i) => {
      const client = lane.clients[i]
      if (client === undefined) return
      const tenant = `warm-up.r${lane.repeat + 1}.${adapter.id}`
      await targets.server.open(tenant, { kind: "ok" })
      const bases = [targets.server.base, ...(targets.nginx === undefined ? [] : [targets.nginx.base])]
      for (const base of bases) {
        await Promise.all(Array.from({ length: adapter.told === true ? 5 : calls }, (_, k) =>
          runCall(client, {
            url: `${base}/t/${tenant}/ok/${k}`,
            method: "GET",
            headers: { [CALL_ID]: `${tenant}.${base}.${k}` }
          })))
      }
    })
  ))
}

/** A coordinated row's requests over its row alone's, sent in pairs on the long-lived clients (see `pairedRequests`). */
export interface PairedResult {
  readonly adapter: string
  readonly alone: string
  /** `plain`: 200 without rate-limit headers; `client-errors`: 4xx, the statuses of phase 3 in turn. */
  readonly kind: "plain" | "client-errors"
  readonly pairs: number
  /** The median of the pairs' ratios (coordinated over alone). */
  readonly ratio: number
  /** The median request of each row, in µs. */
  readonly aloneUs: number
  readonly coordinatedUs: number
}

/**
 * Phases 2 and 3 of the sequence again, request by request: right after the sequence, on the same long-lived
 * clients (no warm-up of their own), each coordinated row of this toolkit and its row alone (`aloneOf`) send
 * `SEQUENCE.pairedRequests` requests of each kind one at a time, in pairs (one each, back to back, which goes first
 * alternating), each kind on paths of its own of the origin. A phase of a few hundred milliseconds swings by a third
 * from one turn to the next on this shared machine; two requests a moment apart meet the same instant of it.
 */
export const pairedRequests = async (
  server: ServerHandle,
  adapters: ReadonlyArray<Adapter>,
  lane: Lane
): Promise<ReadonlyArray<PairedResult>> => {
  const results: Array<PairedResult> = []
  for (const [i, adapter] of adapters.entries()) {
    const j = aloneOf(adapters, i)
    const coordinated = lane.clients[i]
    const alone = lane.clients[j]
    // (A row of this toolkit that is not a row alone, and not told a limit: a coordinated row.)
    if (adapter.toolkit === undefined || j === i || adapter.told === true) continue
    if (coordinated === undefined || alone === undefined) continue
    for (const kind of ["plain", "client-errors"] as const) {
      const tenants = [i, j].map((k) => `sequence.paired.${kind}.r${lane.repeat + 1}.${adapter.id}.${adapters[k]!.id}`)
      for (const tenant of tenants) await server.open(tenant, kind === "plain" ? { kind: "ok" } : { kind: "permanent" })
      const statuses = SEQUENCE.clientErrorStatuses
      const one = async (client: Client, tenant: string, n: number) => {
        const path = kind === "plain" ? `/plain/${n}` : `/status/${statuses[n % statuses.length]}/${n}`
        const began = now()
        await runCall(client, {
          url: `${server.base}/t/${tenant}${path}`,
          method: "GET",
          headers: { [CALL_ID]: `${tenant}.${n}` }
        })
        return now() - began
      }
      const ratios: Array<number> = []
      const times: [Array<number>, Array<number>] = [[], []]
      for (let n = 0; n < SEQUENCE.pairedRequests; n++) {
        let mine: number
        let theirs: number
        if (n % 2 === 0) {
          mine = await one(coordinated, tenants[0]!, n)
          theirs = await one(alone, tenants[1]!, n)
        } else {
          theirs = await one(alone, tenants[1]!, n)
          mine = await one(coordinated, tenants[0]!, n)
        }
        ratios.push(mine / theirs)
        times[0].push(mine)
        times[1].push(theirs)
      }
      results.push({
        adapter: adapter.id,
        alone: adapters[j]!.id,
        kind,
        pairs: ratios.length,
        ratio: median(ratios),
        coordinatedUs: median(times[0]) * 1000,
        aloneUs: median(times[1]) * 1000
      })
    }
  }
  return results
}

export interface OverheadResult extends OverheadNumbers {
  readonly adapter: Adapter
  /** The ratio of each pass (each in a fresh process), in the order they ran. */
  readonly passes: ReadonlyArray<number>
}

/**
 * Every client's overhead (overhead.ts), `OVERHEAD.passes` passes, each in a fresh process that measures every client
 * in turn, starting one further along from one pass to the next (so none always runs first or last); per client,
 * the median pass. `id` is the adapter's, or `CONTROL_ID` for the noise floor.
 */
export const runOverhead = async (
  server: ServerHandle,
  clients: ReadonlyArray<{ readonly adapter: Adapter; readonly id: string }>
): Promise<ReadonlyArray<OverheadResult>> => {
  const ids = clients.map((c) => c.id)
  for (const id of ids) await server.open(`overhead.${id}`, { kind: "ok" })
  const script = fileURLToPath(new URL("./overhead.js", import.meta.url))
  const passes: Array<ReadonlyArray<OverheadNumbers>> = []
  for (let pass = 0; pass < OVERHEAD.passes; pass++) {
    passes.push(
      await new Promise<ReadonlyArray<OverheadNumbers>>((resolve, reject) => {
        execFile(
          process.execPath,
          [script, server.base, String(pass), ...ids],
          { timeout: 120_000 },
          (error, stdout, stderr) => {
            if (error !== null) return reject(new Error(`overhead pass ${pass}: ${error.message}\n${stderr}`))
            resolve(JSON.parse(stdout.trim().split("\n").pop()!) as ReadonlyArray<OverheadNumbers>)
          }
        )
      })
    )
  }
  return clients.map(({ adapter }, i) => {
    const mine = passes.map((pass) => pass[i]!)
    return {
      adapter,
      withoutUs: median(mine.map((p) => p.withoutUs)),
      withUs: median(mine.map((p) => p.withUs)),
      ratio: median(mine.map((p) => p.ratio)),
      passes: mine.map((p) => p.ratio)
    }
  })
}
