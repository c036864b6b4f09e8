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
}

export interface GroupMetrics {
  readonly calls: number
  readonly requests: number
  readonly ok: number
}

export interface RunMetrics {
  readonly requests: number
  readonly need: number
  readonly amplification: number
  /** From the first call's start to the last call's end. */
  readonly timeMs: number
  readonly idealMs: number | undefined
  readonly timeRatio: number | undefined
  /** Requests that arrived before the instant the server had told that call (less a 5 ms timer tolerance). */
  readonly early: number
  /** The largest number of retries (second and later attempts) arriving within any 100 ms. */
  readonly burst: number
  readonly calls: number
  readonly ok: number
  readonly failed: number
  readonly exceptions: ReadonlyArray<string>
  readonly maxPerCall: number
  readonly groups: Readonly<Record<string, GroupMetrics>>
}

/** Timers may fire up to a millisecond or so before a sub-millisecond target: not "early" in any useful sense. */
export const EARLY_TOLERANCE_MS = 5
export const BURST_WINDOW_MS = 100

export const analyse = (
  arrivals: ReadonlyArray<Arrival>,
  calls: ReadonlyArray<CallRecord>,
  need: number,
  idealMs: number | undefined
): RunMetrics => {
  const sorted = [...arrivals].sort((a, b) => a.at - b.at)
  // Early: compare each request with what the server told the same call in its previous answer.
  const lastTold = new Map<string, number | undefined>()
  let early = 0
  for (const a of sorted) {
    const told = lastTold.get(a.call)
    if (told !== undefined && a.at < told - EARLY_TOLERANCE_MS) early++
    lastTold.set(a.call, a.toldAt)
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
  const groups: Record<string, { calls: number; requests: number; ok: number }> = {}
  for (const c of calls) {
    const g = (groups[c.group] ??= { calls: 0, requests: 0, ok: 0 })
    g.calls++
    g.requests += perCall.get(c.call) ?? 0
    if (c.outcome.kind === "ok") g.ok++
  }
  const start = Math.min(...calls.map((c) => c.start))
  const end = Math.max(...calls.map((c) => c.end))
  const timeMs = end - start
  return {
    requests: sorted.length,
    need,
    amplification: sorted.length / need,
    timeMs,
    idealMs,
    timeRatio: idealMs === undefined || !(idealMs > 0) ? undefined : timeMs / idealMs,
    early,
    burst,
    calls: calls.length,
    ok: calls.filter((c) => c.outcome.kind === "ok").length,
    failed: calls.filter((c) => c.outcome.kind === "failed").length,
    exceptions: calls.flatMap((c) => (c.outcome.kind === "exception" ? [c.outcome.error] : [])),
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
