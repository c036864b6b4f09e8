/**
 * The timed workloads: what the server plays, which calls every client makes, what the calls need and what the
 * ideal is. A workload is one or more phases, run in step: every client runs a phase, the next starts when all have
 * finished it. Every phase is a tenant of its own on the server (its own path prefix), and every tenant is a path of
 * the same origin, so a client (and its coordinator) meets one origin through the whole run. Only the nginx workloads go to another origin (nginx's).
 */
import type { RateLimitHeaders, Scenario } from "./protocol.js"

/** The rate-limit workloads' quota: 40 requests per second, 120 calls at once (3 windows: ideal 2 s). */
export const RATE_LIMIT = { limit: 40, windowMs: 1000, calls: 120 } as const
/** The express-rate-limit / @fastify/rate-limit store: 20 per 2 s, windows from the first request after expiry. */
export const STORE = { limit: 20, windowMs: 2000, calls: 60 } as const
export const FLAKY = { calls: 150, p: 0.3 } as const
export const DEAD_CALLS = 30
/** nginx `limit_req`: 10 requests per second, no burst; 60 calls at once. */
export const NGINX = { rate: 10, calls: 60 } as const
export const SEQUENCE = {
  rateLimitCalls: 80,
  plainCalls: 1000,
  /** The plain GETs go through a pool of this many workers, as a program's job queue would send them. */
  plainConcurrency: 20,
  /** Plain GETs not started 10 s after the phase began are not sent (a client that paces them would take 25 s). */
  plainDeadlineMs: 10_000,
  clientErrorStatuses: [400, 401, 403, 404, 405, 409, 422] as const,
  clientErrorsPerStatus: 10,
  heldSeconds: 3_000_000,
  /** The call to another path starts this long after the call that gets the long Retry-After. */
  heldGapMs: 100,
  maintenanceCalls: 10,
  maintenanceSeconds: 2,
  postCalls: 10,
  /**
   * The phases that run one client at a time (the plain GETs and the 4xx calls) run this many turns, each client once
   * per turn (in the opposite order every other turn); a client's figure is its median turn by time. A single turn
   * of a phase under a second long moved by a third between runs of the benchmark on this shared machine, and a
   * median of 3 turns' ratios by 15 %.
   */
  soloTurns: 5,
  /**
   * After the phases, each coordinated row of this toolkit and its row alone send this many requests in pairs, of
   * each kind (200 without rate-limit headers, and 4xx): the same comparison as phases 2 and 3, request by request.
   */
  pairedRequests: 500
} as const

export interface PlannedCall {
  readonly path: string
  readonly method: "GET" | "POST"
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  /** A label to split the results by (the status for client errors, held / other for the long Retry-After). */
  readonly group: string
  /** Starts this many ms after the phase starts (default at once). */
  readonly after?: number
  /** The phase does not wait for it: it is awaited at the end of the workload (a call parked by the server). */
  readonly background?: boolean
}

export interface Phase {
  readonly id: string
  readonly title: string
  /** The scenario of the phase's tenant, opened when the phase starts (`start`). */
  readonly scenario: (start: number, seed: number) => Scenario
  readonly calls: () => ReadonlyArray<PlannedCall>
  /** Requests the calls need: the denominator of the amplification. */
  readonly need: number
  /** At most this many calls in flight (a pool of workers); all at once by default. */
  readonly concurrency?: number
  /**
   * The clients take turns (one at a time, over all repeats) instead of running side by side, so that its time
   * compares between clients without the others' load in it; `SEQUENCE.soloTurns` turns, each on tenants of its own,
   * each starting at least 100 ms from a whole second (so that no rate-limit window opens on one).
   */
  readonly solo?: boolean
  /** A solo phase's turns; default `SEQUENCE.soloTurns`. */
  readonly soloTurns?: number
  /** With a pool: calls not started this long after the phase started are not sent (counted as not started). */
  readonly deadlineMs?: number
  /** The ideal completion time in ms after the phase starts, when there is one. */
  readonly idealMs?: (start: number, scenario: Scenario) => number
}

export interface Workload {
  readonly id: string
  readonly title: string
  /** The benchmark's server, or nginx (another origin). */
  readonly target: "server" | "nginx"
  /** Whether the row told a limit runs it: only where its quota is the one it was told. */
  readonly told: boolean
  readonly phases: ReadonlyArray<Phase>
}

const gets = (count: number, path = "/items"): ReadonlyArray<PlannedCall> =>
  Array.from({ length: count }, (_, i) => ({ path: `${path}/${i}`, method: "GET", headers: {}, group: "all" }))

/**
 * The rate-limit workloads run one client at a time, one turn: with nine clients in the benchmark's process at once,
 * each herd of retries (80 at a time) held the one event loop, so every client's timers fired 50-190 ms late and a
 * paced client measured the others' work as much as its own (a program runs one client).
 */
const RATE_LIMIT_SOLO = { solo: true, soloTurns: 1 } as const

/** How a rate-limit scenario's windows follow each other (see `Scenario`). */
type Windows = Extract<Scenario, { readonly kind: "rate-limit" }>["windows"]

const windowsIdeal = (calls: number, limit: number, windowMs: number) => (Math.ceil(calls / limit) - 1) * windowMs

const rateLimitPhase = (
  headers: RateLimitHeaders,
  calls: number,
  windows: Windows = "fixed"
): Phase => ({
  id: "main",
  title: "",
  scenario: (start) => ({ kind: "rate-limit", ...RATE_LIMIT, start, windows, headers }),
  calls: () => gets(calls),
  need: calls,
  idealMs: () => windowsIdeal(calls, RATE_LIMIT.limit, RATE_LIMIT.windowMs)
})

const rateLimit = (
  id: string,
  title: string,
  headers: RateLimitHeaders,
  windows: Windows = "fixed"
): Workload => ({
  id,
  title,
  target: "server",
  told: true,
  phases: [{ ...rateLimitPhase(headers, RATE_LIMIT.calls, windows), ...RATE_LIMIT_SOLO }]
})

const single = (id: string, title: string, phase: Omit<Phase, "id" | "title">): Workload => ({
  id,
  title,
  target: "server",
  told: false,
  phases: [{ id: "main", title: "", ...phase }]
})

const nginx = (status: 503 | 429): Workload => ({
  id: `nginx-${status}`,
  title: `nginx \`limit_req\` ${NGINX.rate} r/s, no burst, answering ${status} (no hint)`,
  target: "nginx",
  told: true,
  phases: [{
    id: "main",
    title: "",
    scenario: () => ({ kind: "ok" }),
    calls: () => gets(NGINX.calls, `/s${status}/items`),
    need: NGINX.calls,
    // One client at a time: a client paced to 10 r/s for 6 s or more, its timers late by what the others' retries
    // cost the one event loop, measures the others as much as itself (a program runs one client).
    solo: true,
    soloTurns: 1,
    // One request every 1/rate s: the last of N goes (N − 1)/rate s after the first.
    idealMs: () => ((NGINX.calls - 1) * 1000) / NGINX.rate
  }]
})

const sequence: Workload = {
  id: "sequence",
  title: "One origin, one program: a sequence of paths",
  target: "server",
  told: false,
  phases: [
    { ...rateLimitPhase("retry-after", SEQUENCE.rateLimitCalls), id: "rate-limit", title: "Rate-limited path" },
    {
      id: "plain",
      title: `${SEQUENCE.plainCalls} GETs to a path without rate-limit headers`,
      scenario: () => ({ kind: "ok" }),
      calls: () => gets(SEQUENCE.plainCalls, "/plain"),
      need: SEQUENCE.plainCalls,
      concurrency: SEQUENCE.plainConcurrency,
      solo: true,
      deadlineMs: SEQUENCE.plainDeadlineMs
    },
    {
      id: "client-errors",
      title: `${SEQUENCE.clientErrorStatuses.length * SEQUENCE.clientErrorsPerStatus} calls answered 4xx`,
      scenario: () => ({ kind: "permanent" }),
      calls: () =>
        SEQUENCE.clientErrorStatuses.flatMap((status) =>
          Array.from({ length: SEQUENCE.clientErrorsPerStatus }, (_, i) => ({
            path: `/status/${status}/${i}`,
            method: "GET" as const,
            headers: {},
            group: String(status)
          }))
        ),
      need: SEQUENCE.clientErrorStatuses.length * SEQUENCE.clientErrorsPerStatus,
      solo: true
    },
    {
      id: "held",
      title: `429 + \`Retry-After: ${SEQUENCE.heldSeconds}\` on one path, then a call to another path`,
      scenario: () => ({ kind: "held", seconds: SEQUENCE.heldSeconds }),
      calls: () => [
        { path: "/held/0", method: "GET", headers: {}, group: "held", background: true },
        { path: "/other/0", method: "GET", headers: {}, group: "other", after: SEQUENCE.heldGapMs }
      ],
      need: 2
    },
    {
      id: "maintenance",
      title: "Maintenance: 503 + HTTP-date Retry-After",
      // An HTTP-date has whole seconds: the maintenance ends on the first whole second at least 2 s away.
      scenario: (start) => ({
        kind: "maintenance",
        until: Math.ceil((start + SEQUENCE.maintenanceSeconds * 1000) / 1000) * 1000
      }),
      calls: () => gets(SEQUENCE.maintenanceCalls, "/maintenance"),
      // One request learns the date, one comes back after it.
      need: SEQUENCE.maintenanceCalls * 2,
      idealMs: (start, scenario) => (scenario.kind === "maintenance" ? scenario.until - start : NaN)
    },
    {
      id: "keyed-post",
      title: `${SEQUENCE.postCalls} POSTs with an Idempotency-Key, answered 503 once then 201`,
      scenario: () => ({ kind: "post" }),
      calls: () =>
        Array.from({ length: SEQUENCE.postCalls }, (_, i) => ({
          path: `/orders/${i}`,
          method: "POST" as const,
          headers: { "content-type": "application/json", "idempotency-key": `order-${i}` },
          body: JSON.stringify({ order: i }),
          group: "key"
        })),
      need: SEQUENCE.postCalls * 2
    }
  ]
}

export const workloads: ReadonlyArray<Workload> = [
  rateLimit("rate-limit", "Rate limit: 429 + Retry-After + X-RateLimit-* (epoch reset)", "retry-after"),
  rateLimit("rate-limit-xrl", "Rate limit: X-RateLimit-* only (epoch reset, no Retry-After)", "x-ratelimit"),
  rateLimit("rate-limit-ietf", "Rate limit: RateLimit / RateLimit-Policy structured fields (t= seconds)", "ratelimit"),
  // The first workload's quota and headers, on windows a server keeps without a clock of its own: each one opened by
  // the first request after the last expired (a Redis INCR + EXPIRE counter), so none starts before a request
  // arrives.
  rateLimit(
    "rate-limit-counter",
    "Rate limit: 429 + Retry-After + X-RateLimit-*, each window opened by a request",
    "retry-after",
    "first-request"
  ),
  single(
    "rate-limit-store",
    "Rate limit as express-rate-limit / @fastify/rate-limit: windows from the first request, draft-6 headers",
    {
      scenario: (start) => ({ kind: "rate-limit", ...STORE, start, windows: "first-request", headers: "draft-6" }),
      calls: () => gets(STORE.calls),
      need: STORE.calls,
      ...RATE_LIMIT_SOLO,
      // Each window starts at the first request after the previous one expired: at best right at its end.
      idealMs: () => windowsIdeal(STORE.calls, STORE.limit, STORE.windowMs)
    }
  ),
  single("flaky", "Flaky: 30 % random 5xx", {
    scenario: (_, seed) => ({ kind: "flaky", p: FLAKY.p, seed }),
    calls: () => gets(FLAKY.calls),
    need: FLAKY.calls
  }),
  single("dead", "Dead origin (503 to everything, no hint)", {
    scenario: () => ({ kind: "dead" }),
    calls: () => gets(DEAD_CALLS),
    need: DEAD_CALLS
  }),
  sequence,
  nginx(503),
  nginx(429)
]

/** The key of a phase's runs: the workload's id, or `<workload>.<phase>` for a workload of several phases. */
export const phaseKey = (workload: Workload, phase: Phase): string =>
  workload.phases.length === 1 ? workload.id : `${workload.id}.${phase.id}`
