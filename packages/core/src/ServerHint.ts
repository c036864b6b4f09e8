/**
 * When the server asked the client to come back, read from whichever header said it.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as headers from "@effect-retry/engine/Headers"
import * as internal from "./internal/serverHint.js"

export type {
  /**
   * The header a hint was read from.
   *
   * @example
   * ```ts
   * import type { ServerHint } from "@effect-retry/core"
   *
   * const source: ServerHint.Source = "retry-after"
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  Source
} from "./internal/serverHint.js"

/**
 * The server's request to wait: how long, until which instant, and which header said so.
 *
 * @example
 * ```ts
 * import { ServerHint } from "@effect-retry/core"
 * import { Duration, Option } from "effect"
 *
 * const hint = ServerHint.fromHeaders({ "retry-after": "7" }, 0)
 * Option.map(hint, (h) => [h.source, Duration.toMillis(h.delay), h.at]) // Some(["retry-after", 7000, 7000])
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerHint {
  /** The header the hint came from. */
  readonly source: internal.Source
  /** How long the server asked the client to wait, counted from when the response was received. Exact. */
  readonly delay: Duration.Duration
  /**
   * The instant to come back, in epoch milliseconds on the local clock: received-at plus delay, at most 8.64e15
   * (the year 275760, the last instant a `Date` holds), so it stays finite however long the delay.
   */
  readonly at: number
}

/**
 * Reads the server's hint from response headers (lower-case names), or `None` when there is none.
 *
 * Precedence, first valid one wins (a malformed header is skipped, never an error):
 * 1. `Retry-After`: delay-seconds or an HTTP-date (measured against the response's `Date` header when it has a
 *    valid one, so a skewed clock cannot make the retry early, see `RetryAfter.parse`);
 * 2. `Retry-After-Ms`: milliseconds, as some APIs send it;
 * 3. the IETF `RateLimit` field with `r=0`: wait `t` seconds;
 * 4. `RateLimit-Remaining: 0` with `RateLimit-Reset`;
 * 5. `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset-After` or `X-RateLimit-Reset` (see `RateLimit.parse`).
 *
 * `receivedAt` is when the response arrived, in epoch milliseconds on the local clock (default now).
 *
 * @example
 * ```ts
 * import { ServerHint } from "@effect-retry/core"
 *
 * ServerHint.fromHeaders({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3" }, 1000)
 * // Some({ source: "x-ratelimit-reset", delay: 3 seconds, at: 4000 })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const fromHeaders = (
  headers: headers.HeaderRecord,
  receivedAt: number = Date.now()
): Option.Option<ServerHint> => Option.fromNullable(internal.fromHeaders(headers, receivedAt))
