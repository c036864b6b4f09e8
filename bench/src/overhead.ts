/**
 * The happy-path overhead of every client, run by `main.ts` in fresh processes, one per pass (`overhead.js <server
 * base URL> <pass> <id>...`), so that no measurement inherits the heap, the timers or the sockets the workloads
 * left behind. A pass measures the clients one after another, starting with the `pass`-th (rotating order), each
 * against its own tenant `overhead.<id>` that answers 200 to everything (`main.ts` opens them).
 *
 * The same client without and with its retries make their requests in pairs, one request each, back to back
 * (which goes first alternates), so that both see the same instant of the machine; a client's ratio is the median of
 * the paired ratios (the request with retries over the one without). On a shared machine, whole milliseconds are
 * lost at random to other processes: a mean over rounds of requests swings by 10 % with them (the control row
 * showed it), a median of pairs does not.
 *
 * Prints one JSON line on stdout: for each id, in the order given, `{ withoutUs, withUs, ratio }`.
 */
import { type Adapter, adapters, type Client } from "./adapters.js"
import { median } from "./metrics.js"
import { CALL_ID, now } from "./protocol.js"

/** Per pass and client: `warmUp` pairs of GETs, then `pairs` measured pairs; `passes` fresh processes. */
export const OVERHEAD = { pairs: 400, warmUp: 100, passes: 3 } as const

export interface OverheadNumbers {
  /** Median request, in microseconds. */
  readonly withoutUs: number
  readonly withUs: number
  /** Median of the paired ratios (each request with retries over the request without them next to it). */
  readonly ratio: number
}

/** The noise floor: one client measured against an identical instance of itself. */
export const CONTROL_ID = "control"

const find = (id: string): { plain: () => Promise<Client>; retrying: () => Promise<Client> } => {
  if (id === CONTROL_ID) {
    const undici = adapters.find((a) => a.id === "undici")!
    return { plain: () => undici.make(false), retrying: () => undici.make(false) }
  }
  const adapter: Adapter | undefined = adapters.find((a) => a.id === id)
  if (adapter === undefined) throw new Error(`overhead: no adapter "${id}"`)
  return { plain: () => adapter.make(false), retrying: () => adapter.make(true) }
}

const measure = async (id: string, base: string, tenant: string): Promise<OverheadNumbers> => {
  const make = find(id)
  const plain = await make.plain()
  const retrying = await make.retrying()
  const time = async (client: Client, label: string, index: number): Promise<number> => {
    const began = now()
    const outcome = await client.call({
      url: `${base}/t/${tenant}/items/${index}`,
      method: "GET",
      headers: { [CALL_ID]: `${tenant}.${label}.${index}` },
      signal: AbortSignal.timeout(10_000)
    })
    if (outcome.kind !== "ok") throw new Error(`overhead: ${id} (${label}) got ${JSON.stringify(outcome)}`)
    return now() - began
  }
  try {
    const without: Array<number> = []
    const withRetry: Array<number> = []
    for (let i = -OVERHEAD.warmUp; i < OVERHEAD.pairs; i++) {
      let a: number
      let b: number
      if ((i & 1) === 0) {
        a = await time(plain, "plain", i)
        b = await time(retrying, "retry", i)
      } else {
        b = await time(retrying, "retry", i)
        a = await time(plain, "plain", i)
      }
      if (i >= 0) {
        without.push(a)
        withRetry.push(b)
      }
    }
    return {
      withoutUs: median(without) * 1000,
      withUs: median(withRetry) * 1000,
      ratio: median(withRetry.map((w, i) => w / without[i]!))
    }
  } finally {
    await plain.close().catch(() => {})
    await retrying.close().catch(() => {})
  }
}

if (process.argv[1]?.endsWith("overhead.js") === true) {
  const [base, pass, ...ids] = process.argv.slice(2)
  if (base === undefined || pass === undefined || ids.length === 0) {
    console.error("usage: overhead.js <server base URL> <pass> <adapter id | control>...")
    process.exit(2)
  }
  try {
    const results: Array<OverheadNumbers | undefined> = ids.map(() => undefined)
    for (let k = 0; k < ids.length; k++) {
      const index = (k + Number(pass)) % ids.length
      results[index] = await measure(ids[index]!, base, `overhead.${ids[index]!}`)
    }
    console.log(JSON.stringify(results))
    process.exit(0)
  } catch (error) {
    console.error(error)
    process.exit(1)
  }
}
