/**
 * The timed workloads: what the server plays, which calls every client makes, what the calls need and what the
 * ideal is. Every client runs the same calls against its own tenant with the same scenario.
 */
import type { Scenario } from "./protocol.js"

export const RATE_LIMIT = { limit: 10, windowMs: 1000, calls: 40 } as const
export const MAINTENANCE = { calls: 10, seconds: 2 } as const
export const FLAKY = { calls: 50, p: 0.3 } as const
export const PERMANENT_STATUSES = [400, 401, 403, 404, 405, 409, 422] as const
export const PERMANENT_CALLS_PER_STATUS = 2
export const POST_CALLS = 10
export const DEAD_CALLS = 20

export interface PlannedCall {
  readonly path: string
  readonly method: "GET" | "POST"
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /** A label to split the results by (the status for `permanent`, key / no key for `post`). */
  readonly group: string
}

export interface Workload {
  readonly id: string
  readonly title: string
  /** Clients start staggered (so their herds do not land on the server at the same instant) or on a whole second. */
  readonly align: "stagger" | "second"
  readonly scenario: (start: number, seed: number) => Scenario
  readonly calls: () => ReadonlyArray<PlannedCall>
  /** Requests the calls need: the denominator of the amplification. */
  readonly need: number
  /** The ideal completion time in ms after the calls start, when there is one. */
  readonly idealMs?: (start: number, scenario: Scenario) => number
  /** The server's quota, for the clients that can be told it in advance (rate-limit workloads only). */
  readonly limit?: { readonly requests: number; readonly windowMs: number }
}

const gets = (count: number, path = "/items"): ReadonlyArray<PlannedCall> =>
  Array.from({ length: count }, (_, i) => ({ path: `${path}/${i}`, method: "GET", headers: {}, group: "all" }))

const rateLimit = (retryAfter: boolean): Workload => ({
  id: retryAfter ? "rate-limit" : "rate-limit-xrl",
  title: retryAfter ? "Rate limit (429 + Retry-After + X-RateLimit-*)" : "Rate limit, X-RateLimit-* only (no Retry-After)",
  align: "stagger",
  scenario: (start) => ({ kind: "rate-limit", ...RATE_LIMIT, start, retryAfter }),
  calls: () => gets(RATE_LIMIT.calls),
  need: RATE_LIMIT.calls,
  idealMs: () => (Math.ceil(RATE_LIMIT.calls / RATE_LIMIT.limit) - 1) * RATE_LIMIT.windowMs,
  limit: { requests: RATE_LIMIT.limit, windowMs: RATE_LIMIT.windowMs }
})

export const workloads: ReadonlyArray<Workload> = [
  rateLimit(true),
  rateLimit(false),
  {
    id: "maintenance",
    title: "Maintenance (503 + HTTP-date Retry-After)",
    align: "second",
    scenario: (start) => ({ kind: "maintenance", until: start + MAINTENANCE.seconds * 1000 }),
    calls: () => gets(MAINTENANCE.calls),
    // One request learns the date, one comes back after it.
    need: MAINTENANCE.calls * 2,
    idealMs: (start, scenario) => (scenario.kind === "maintenance" ? scenario.until - start : NaN)
  },
  {
    id: "flaky",
    title: "Flaky (independent 5xx)",
    align: "stagger",
    scenario: (_, seed) => ({ kind: "flaky", p: FLAKY.p, seed }),
    calls: () => gets(FLAKY.calls),
    need: FLAKY.calls
  },
  {
    id: "permanent",
    title: "Permanent statuses",
    align: "stagger",
    scenario: () => ({ kind: "permanent" }),
    calls: () =>
      PERMANENT_STATUSES.flatMap((status) =>
        Array.from({ length: PERMANENT_CALLS_PER_STATUS }, (_, i) => ({
          path: `/status/${status}/${i}`,
          method: "GET" as const,
          headers: {},
          group: String(status)
        }))
      ),
    need: PERMANENT_STATUSES.length * PERMANENT_CALLS_PER_STATUS
  },
  {
    id: "post",
    title: "POST answered 503 (without / with Idempotency-Key)",
    align: "stagger",
    scenario: () => ({ kind: "post" }),
    calls: () =>
      Array.from({ length: POST_CALLS * 2 }, (_, i) => {
        const keyed = i % 2 === 1
        return {
          path: `/orders/${i}`,
          method: "POST" as const,
          headers: {
            "content-type": "application/json",
            ...(keyed ? { "idempotency-key": `order-${i}` } : {})
          },
          body: JSON.stringify({ order: i }),
          group: keyed ? "key" : "no-key"
        }
      }),
    need: POST_CALLS * 2
  },
  {
    id: "dead",
    title: "Dead origin (503 to everything, no hint)",
    align: "stagger",
    scenario: () => ({ kind: "dead" }),
    calls: () => gets(DEAD_CALLS),
    need: DEAD_CALLS
  }
]
