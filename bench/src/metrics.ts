/**
 * Metrics of one client in one run of one workload, from the server's log (what the server paid) and the calls'
 * records (what the caller got).
 */
import type { Outcome } from "./adapters.js"
import type { Arrival } from "./protocol.js"

export interface CallRecord {
  readonly call: string
  readonly group: string
  readonly start: number
  readonly end: number
  readonly outcome: Outcome
  readonly background?: boolean
}

export interface GroupMetrics {
  readonly calls: number
  readonly requests: number
  readonly ok: number
  /** The longest wait between a call's start and its first request reaching the server (ms); NaN if one never did. */
  readonly maxDelay: number
}

export interface RunMetrics {
  readonly requests: number
  readonly need: number
  readonly amplification: number
  /** From the first call's start to the last call's end. */
  readonly timeMs: number
  readonly idealMs: number | undefined
  readonly timeRatio: number | undefined
  /**
   * Requests that arrived before the instant the server had last told this client (any of its calls, on this
   * tenant), less a 5 ms timer tolerance; only answers sent at least `REACTION_MS` before the request count (a
   * request already on its way when the answer left cannot have obeyed it).
   */
  readonly early: number
  /** Requests that arrived before the instant the server had told the same call in its previous answer. */
  readonly earlyCall: number
  /** The largest number of retries (second and later attempts) arriving within any 100 ms. */
  readonly burst: number
  readonly calls: number
  readonly ok: number
  readonly failed: number
  readonly exceptions: ReadonlyArray<string>
  /** Calls never sent: their phase's deadline passed first. */
  readonly notStarted: number
  readonly maxPerCall: number
  readonly groups: Readonly<Record<string, GroupMetrics>>
}

/** Timers may fire up to a millisecond or so before a sub-millisecond target: not "early" in any useful sense. */
export const EARLY_TOLERANCE_MS = 5
export const BURST_WINDOW_MS = 100
/** How long after an answer left the server a request of the same client is taken to have known it. */
export const REACTION_MS = 20

export const analyse = (
  arrivals: ReadonlyArray<Arrival>,
  calls: ReadonlyArray<CallRecord>,
  need: number,
  idealMs: number | undefined
): RunMetrics => {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at)
  // Early: compare each request with what the server told the same call in its previous answer.
  const lastTold = new Map<string, number | undefined>()
  let earlyCall = 0
  for (const a of sorted) {
    const told = lastTold.get(a.call)
    if (told !== undefined && a.at < told - EARLY_TOLERANCE_MS) earlyCall++
    lastTold.set(a.call, a.toldAt)
  }
  // Early for the client: the instant of the latest answer (by the time it left) that told one, among the answers
  // that left at least REACTION_MS before this request arrived.
  const told = sorted
    .filter((a) => a.toldAt !== undefined)
    .map((a) => ({ sent: a.sentAt ?? a.at, toldAt: a.toldAt! }))
    .sort((a, b) => a.sent - b.sent)
  let early = 0
  for (let i = 0, k = -1; i < sorted.length; i++) {
    const a = sorted[i]!
    while (k + 1 < told.length && told[k + 1]!.sent <= a.at - REACTION_MS) k++
    if (k >= 0 && a.at < told[k]!.toldAt - EARLY_TOLERANCE_MS) early++
  }
  // Burst: sliding window over the arrival times of retries.
  const retries = sorted.filter((a) => a.attempt > 1).map((a) => a.at)
  let burst = 0
  for (let i = 0, j = 0; i < retries.length; i++) {
    while (retries[i]! - retries[j]! >= BURST_WINDOW_MS) j++
    burst = Math.max(burst, i - j + 1)
  }
  const perCall = new Map<string, number>()
  for (const a of sorted) perCall.set(a.call, (perCall.get(a.call) ?? 0) + 1)
  const firstArrival = new Map<string, number>()
  for (const a of sorted) if (!firstArrival.has(a.call)) firstArrival.set(a.call, a.at)
  const groups: Record<string, { calls: number; requests: number; ok: number; maxDelay: number }> = {}
  for (const c of calls) {
    const g = (groups[c.group] ??= { calls: 0, requests: 0, ok: 0, maxDelay: 0 })
    g.calls++
    g.requests += perCall.get(c.call) ?? 0
    if (c.outcome.kind === "ok") g.ok++
    const first = firstArrival.get(c.call)
    g.maxDelay = first === undefined ? NaN : Math.max(g.maxDelay, first - c.start)
  }
  const sent = calls.filter((c) => c.outcome.kind !== "not-started")
  const start = Math.min(...sent.map((c) => c.start))
  // A call left in the background (parked by the server) does not count in the phase's time.
  const end = Math.max(...sent.filter((c) => c.background !== true).map((c) => c.end))
  const timeMs = end - start
  return {
    requests: sorted.length,
    need,
    amplification: sorted.length / need,
    timeMs,
    idealMs,
    timeRatio: idealMs === undefined || !(idealMs > 0) ? undefined : timeMs / idealMs,
    early,
    earlyCall,
    burst,
    calls: calls.length,
    ok: calls.filter((c) => c.outcome.kind === "ok").length,
    failed: calls.filter((c) => c.outcome.kind === "failed").length,
    exceptions: calls.flatMap((c) => (c.outcome.kind === "exception" ? [c.outcome.error] : [])),
    notStarted: calls.filter((c) => c.outcome.kind === "not-started").length,
    maxPerCall: Math.max(0, ...perCall.values()),
    groups
  }
}

export const median = (values: ReadonlyArray<number>): number => {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (xs.length === 0) return NaN
  const mid = Math.floor(xs.length / 2)
  return xs.length % 2 === 1 ? xs[mid]! : (xs[mid - 1]! + xs[mid]!) / 2
}
