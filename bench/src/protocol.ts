/**
 * What the benchmark's parent process and its server process (`server.ts`, started with `child_process.fork`) say to
 * each other over the IPC channel, and the scenarios the server can play.
 *
 * Every client under test gets its own *tenant* for each workload (and each phase of a workload): a path prefix
 * `/t/<tenant>/` with its own scenario state (rate-limit window, random generator, attempts per call), so clients
 * that run at the same time never share a quota or a random stream. All tenants are paths of one origin: a client
 * (and its coordinator) sees the same host and port in every workload.
 */

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across the two processes. */
export const now = (): number => performance.timeOrigin + performance.now()

/** Which headers a rate-limited answer carries. Every reset is in whole seconds, rounded up, as real servers send it. */
export type RateLimitHeaders =
  /** 429 + `Retry-After: <seconds>`; `X-RateLimit-Limit/Remaining` and `X-RateLimit-Reset: <epoch seconds>` on every answer. */
  | "retry-after"
  /** The same `X-RateLimit-*` (reset in epoch seconds), no `Retry-After`. */
  | "x-ratelimit"
  /** The IETF structured fields: `RateLimit: "default";r=<remaining>;t=<seconds>`, `RateLimit-Policy: "default";q=<limit>;w=<seconds>`. */
  | "ratelimit"
  /** express-rate-limit / @fastify/rate-limit draft-6: `RateLimit-Limit/Remaining/Reset` (seconds), `RateLimit-Policy: <limit>;w=<seconds>`, 429 + `Retry-After`. */
  | "draft-6"

export type Scenario =
  /**
   * `limit` requests per window of `windowMs`; past it 429. `fixed`: windows back to back from `start` (a time that
   * is not on a whole second). `first-request`: a window starts at the first request after the previous one
   * expired, as the memory stores of express-rate-limit and @fastify/rate-limit do.
   */
  | {
    readonly kind: "rate-limit"
    readonly limit: number
    readonly windowMs: number
    readonly start: number
    readonly windows: "fixed" | "first-request"
    readonly headers: RateLimitHeaders
  }
  /** 503 with an HTTP-date Retry-After (`until`, a whole second) to every request before `until`, then 200. */
  | { readonly kind: "maintenance"; readonly until: number }
  /** Independent 5xx (500, 502, 503 or 504) with probability `p`, drawn from a generator seeded with `seed`. */
  | { readonly kind: "flaky"; readonly p: number; readonly seed: number }
  /** Answers the status in the path (`/status/<code>`), always. */
  | { readonly kind: "permanent" }
  /** POST: 503 (no hint) to the first attempt of each call, 201 to later ones. */
  | { readonly kind: "post" }
  /** 200 to everything. */
  | { readonly kind: "ok" }
  /** 503 to everything, no hint. */
  | { readonly kind: "dead" }
  /** `/held/...`: 429 with `Retry-After: <seconds>` (a very long wait); any other path: 200. */
  | { readonly kind: "held"; readonly seconds: number }

/** One request as the server saw it, and what it told that call. */
export interface Arrival {
  /** Arrival time (epoch ms, sub-ms). */
  readonly at: number
  /** The `x-call-id` header: one per logical call, the same on every attempt. */
  readonly call: string
  /** 1 for the first request of this call id, 2 for the first retry... */
  readonly attempt: number
  readonly method: string
  readonly status: number
  /** The instant the server gave (epoch ms) in its answer, when it gave one. */
  readonly toldAt?: number
  /** Which header carried it: retry-after (seconds), retry-after-date, x-ratelimit-reset, ratelimit, ratelimit-reset. */
  readonly hint?: string
  /** Whether the request carried an Idempotency-Key. */
  readonly key: boolean
  /** When the server sent its answer (epoch ms): a client cannot have read what it told before then. */
  readonly sentAt?: number
}

export type ToServer =
  | { readonly op: "open"; readonly seq: number; readonly tenant: string; readonly scenario: Scenario }
  | { readonly op: "dump"; readonly seq: number; readonly tenants: ReadonlyArray<string> }
  | { readonly op: "counts"; readonly seq: number }

export type FromServer =
  | { readonly op: "ready"; readonly port: number }
  | { readonly op: "opened"; readonly seq: number }
  | { readonly op: "log"; readonly seq: number; readonly logs: Record<string, ReadonlyArray<Arrival>> }
  | { readonly op: "counts"; readonly seq: number; readonly counts: Record<string, number> }

/** The header that ties the attempts of one call together. */
export const CALL_ID = "x-call-id"
