/**
 * Runs workloads: starts the server process, gives every client its tenant, fires the calls with a timeout each,
 * and collects the server's log.
 */
import { type ChildProcess, execFile, fork } from "node:child_process"
import { fileURLToPath } from "node:url"
import type { Adapter, CallSpec, Client, Outcome } from "./adapters.js"
import { describe } from "./adapters.js"
import { analyse, type CallRecord, median, type RunMetrics } from "./metrics.js"
import { OVERHEAD, type OverheadNumbers } from "./overhead.js"
import { type Arrival, CALL_ID, type FromServer, now, type Scenario, type ToServer } from "./protocol.js"
import type { Workload } from "./workloads.js"

/** Every call is bounded: the library gets an AbortSignal; a library that ignores it is cut off 2 s later. */
export const CALL_TIMEOUT_MS = 20_000
const HARD_MARGIN_MS = 2_000
/** The whole run is stopped after this long, whatever it is doing (main.ts). */
export const WATCHDOG_MS = 240_000

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

const sleepUntil = (at: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, at - now())))

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
      client.call({ ...spec, signal }).catch((error: unknown): Outcome => ({ kind: "exception", error: describe(error) })),
      hard
    ])
  } finally {
    clearTimeout(timer)
  }
}

export interface ClientRun {
  readonly adapter: Adapter
  readonly tenant: string
  readonly start: number
  readonly arrivals: ReadonlyArray<Arrival>
  readonly calls: ReadonlyArray<CallRecord>
  readonly metrics: RunMetrics
}

/**
 * Runs the repeats of one workload side by side, every client of every repeat against its own tenant, each with
 * its own client instance. Their starts are spread over the first second (repeat r, client i at
 * `r * 1000 / repeats + i * 1000 / (repeats * clients)` ms), so that no two tenants' herds (a rate-limit window
 * opening, a backoff wave) reach the server in the same instant. A workload that needs a whole second
 * (maintenance: an HTTP-date has no milliseconds) starts each repeat on its own whole second, its clients together.
 */
export const runWorkload = async (
  server: ServerHandle,
  workload: Workload,
  adapters: ReadonlyArray<Adapter>,
  seeds: ReadonlyArray<number>,
  /** A run that is not measured (the warm-up pass): its tenants' prefix, and how many of the calls it makes. */
  unmeasured?: { readonly prefix: string; readonly calls: number }
): Promise<ReadonlyArray<ReadonlyArray<ClientRun>>> => {
  const repeats = seeds.length
  const clients = await Promise.all(
    seeds.map(() => Promise.all(adapters.map((adapter) => adapter.make(true, workload))))
  )
  try {
    // Warm-up, not measured: each client instance first makes as many concurrent requests as the workload has
    // calls, to an always-200 tenant, so that connection set-up and JIT compilation are not part of the numbers
    // (a service's client is warm; and cold clients starting together slow each other down).
    await Promise.all(clients.flatMap((row, r) =>
      row.map(async (client, i) => {
        const tenant = `${unmeasured?.prefix ?? ""}warm-up.${workload.id}.r${r + 1}.${adapters[i]!.id}`
        await server.open(tenant, { kind: "ok" })
        await Promise.all(workload.calls().map((_, k) =>
          runCall(client, {
            url: `${server.base}/t/${tenant}/items/${k}`,
            method: "GET",
            headers: { [CALL_ID]: `${tenant}.${k}` }
          })
        ))
      })
    ))
    // What a client learned of the server in the warm-up (an always-200 tenant) is not what it would know of a
    // rate-limited API it had never called: start the measured calls from scratch.
    for (const client of clients.flat()) client.forget?.()
    // The whole second at least 300 ms from now (time to open the tenants).
    const base = Math.ceil((now() + 300) / 1000) * 1000
    const slot = 1000 / (repeats * adapters.length)
    const plans = seeds.flatMap((seed, r) =>
      adapters.map((adapter, i) => {
        const start = workload.align === "second" ? base + r * 1000 : base + (r * adapters.length + i) * slot
        const tenant = `${unmeasured?.prefix ?? ""}${workload.id}.r${r + 1}.${adapter.id}`
        return { repeat: r, adapter, client: clients[r]![i]!, start, tenant, scenario: workload.scenario(start, seed) }
      })
    )
    await Promise.all(plans.map((plan) => server.open(plan.tenant, plan.scenario)))
    const records = await Promise.all(plans.map(async (plan) => {
      await sleepUntil(plan.start)
      const calls = workload.calls().slice(0, unmeasured?.calls)
      return Promise.all(calls.map(async (planned, i): Promise<CallRecord> => {
        const call = `${plan.tenant}.${i}`
        const start = now()
        const outcome = await runCall(plan.client, {
          url: `${server.base}/t/${plan.tenant}${planned.path}`,
          method: planned.method,
          headers: { ...planned.headers, [CALL_ID]: call },
          ...(planned.body === undefined ? {} : { body: planned.body })
        })
        return { call, group: planned.group, start, end: now(), outcome }
      }))
    }))
    const logs = await server.dump(plans.map((plan) => plan.tenant))
    const out = seeds.map((): Array<ClientRun> => [])
    plans.forEach((plan, i) => {
      const arrivals = logs[plan.tenant] ?? []
      const calls = records[i]!
      const firstStart = Math.min(...calls.map((c) => c.start))
      const idealMs = workload.idealMs?.(firstStart, plan.scenario)
      out[plan.repeat]!.push({
        adapter: plan.adapter,
        tenant: plan.tenant,
        start: firstStart,
        arrivals,
        calls,
        metrics: analyse(arrivals, calls, workload.need, idealMs)
      })
    })
    return out
  } finally {
    await Promise.all(clients.flat().map((client) => client.close().catch(() => {})))
  }
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
