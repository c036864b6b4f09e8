/**
 * What the benchmark's parent process and its server process (`server.ts`, started with `child_process.fork`) say to
 * each other over the IPC channel, and the scenarios the server can play.
 *
 * Every client under test gets its own *tenant* for each run of a workload: a path prefix `/t/<tenant>/` with its
 * own scenario state (rate-limit window, random generator, attempts per call), so clients that run at the same time
 * never share a quota or a random stream, and every client meets the same server.
 */

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across the two processes. */
export const now = (): number => performance.timeOrigin + performance.now()

export type Scenario =
  /** A fixed window of `limit` requests per `windowMs` from `start`; past it 429 (Retry-After optional) + X-RateLimit-*. */
  | {
    readonly kind: "rate-limit"
    readonly limit: number
    readonly windowMs: number
    readonly start: number
    readonly retryAfter: boolean
  }
  /** 503 with an HTTP-date Retry-After (`until`, a whole second) to every request before `until`, then 200. */
  | { readonly kind: "maintenance"; readonly until: number }
  /** Independent 5xx (500, 502, 503 or 504) with probability `p`, drawn from a generator seeded with `seed`. */
  | { readonly kind: "flaky"; readonly p: number; readonly seed: number }
  /** Answers the status in the path (`/status/<code>`), always. */
  | { readonly kind: "permanent" }
  /** POST: 503 (no hint) to the first attempt of each call, 200 to later ones. */
  | { readonly kind: "post" }
  /** 200 to everything. */
  | { readonly kind: "ok" }
  /** 503 to everything, no hint. */
  | { readonly kind: "dead" }

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
  /** Which header carried it: retry-after (seconds), retry-after-date, x-ratelimit-reset. */
  readonly hint?: string
  /** Whether the request carried an Idempotency-Key. */
  readonly key: boolean
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
