/**
 * Rate-limit response headers: the IETF `RateLimit` / `RateLimit-Policy` fields, the earlier `RateLimit-*` fields
 * and the de facto `X-RateLimit-*` convention.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as headers from "@effect-retry/engine/Headers"
import * as internal from "@effect-retry/engine/RateLimit"

/**
 * Response headers keyed by lower-case name, as `@effect/platform`'s `Headers` and `Object.fromEntries(new
 * Headers(...))` give them.
 *
 * @example
 * ```ts
 * import type { RateLimit } from "@effect-retry/core"
 *
 * const headers: RateLimit.Headers = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Headers = headers.HeaderRecord

export type {
  /**
   * Which header family a rate-limit reading came from.
   *
   * @example
   * ```ts
   * import type { RateLimit } from "@effect-retry/core"
   *
   * const source: RateLimit.Source = "x-ratelimit-reset"
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  Source
} from "@effect-retry/engine/RateLimit"

/**
 * What a response says about the client's quota: how many requests remain and when more become available.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-retry/core"
 * import { Option } from "effect"
 *
 * const info = RateLimit.parse({ ratelimit: "\"default\";r=0;t=30" })
 * Option.map(info, (i) => i.remaining) // Some(0)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RateLimitInfo {
  /** The header family it was read from. */
  readonly source: internal.Source
  /** Requests left in the current window. */
  readonly remaining: number
  /** How long until the quota is replenished. */
  readonly resetAfter: Duration.Duration
  /** The quota per window, when the server says it (`RateLimit-Policy` q, `*-Limit`). */
  readonly limit: Option.Option<number>
  /** The window length, when the server says it (`RateLimit-Policy` w). */
  readonly window: Option.Option<Duration.Duration>
  /** The bucket the response names, when it names one (see `bucketOf`). */
  readonly bucket: Option.Option<string>
}

/**
 * Reads the client's quota from rate-limit headers; malformed fields are ignored, as the IETF draft requires.
 *
 * Precedence: the IETF `RateLimit` field (the most restrictive of its policies: fewest remaining, then longest
 * reset; or the dictionary form `limit=, remaining=, reset=` of drafts 6 and 7), then `RateLimit-Remaining` +
 * `RateLimit-Reset`, then `X-RateLimit-Remaining` + `X-RateLimit-Reset-After` (Discord's fractional seconds) or
 * `X-RateLimit-Reset`. Structured fields follow RFC 9651 (keys are lower-case: `R=0` is malformed).
 * `RateLimit-Policy` gives the limit and window in either form: `"name";q=100;w=60` (the current draft) or
 * `100;w=60` (drafts 6 and 7, matched to the limit).
 *
 * A `*-Reset` value below 10^9 is a number of seconds to wait; from 10^9 it is a Unix time in seconds, from 10^12 a
 * Unix time in milliseconds (10^9 seconds is almost 32 years as a delay, and September 2001 as a time). A Unix time
 * is measured against the response's `Date` header when it has a valid one (so a skewed clock cannot make a retry
 * early, see `RetryAfter.parse`), else against `now`.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-retry/core"
 *
 * RateLimit.parse({ "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "12" })
 * // Some({ source: "x-ratelimit-reset", remaining: 0, resetAfter: 12 seconds, limit: Some(100), ... })
 * RateLimit.parse({ "ratelimit-policy": "20;w=2", "ratelimit-remaining": "0", "ratelimit-reset": "1" })
 * // Some({ source: "ratelimit-reset", remaining: 0, resetAfter: 1 second, limit: Some(20), window: Some(2 seconds), ... })
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (headers: Headers, now: number = Date.now()): Option.Option<RateLimitInfo> => {
  const info = internal.parse(headers, now)
  if (info === undefined) return Option.none()
  return Option.some({
    source: info.source,
    remaining: info.remaining,
    resetAfter: Duration.millis(info.resetMillis),
    limit: Option.fromNullable(info.limit),
    window: info.windowMillis === undefined ? Option.none() : Option.some(Duration.millis(info.windowMillis)),
    bucket: Option.fromNullable(info.bucket)
  })
}

/**
 * Reads only which rate-limit bucket a response belongs to, as the server names it; cheap, and meaningful on any
 * response, even one without a remaining count or a reset.
 *
 * In order: the chosen policy of the IETF `RateLimit` field, as `name` or `name;pk=value` with its partition key
 * as written (a byte sequence `:base64:` in the draft); `X-RateLimit-Resource` (GitHub: `core`, `search`...);
 * `X-RateLimit-Bucket` (Discord). It is what `parse` gives as `bucket` whenever `parse` reads something.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-retry/core"
 *
 * RateLimit.bucketOf({ "x-ratelimit-resource": "search" }) // Some("search")
 * RateLimit.bucketOf({ ratelimit: "\"daily\";r=5;t=60;pk=:dXNlcjE=:" }) // Some("daily;pk=:dXNlcjE=:")
 * RateLimit.bucketOf({}) // None
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const bucketOf = (headers: Headers): Option.Option<string> => Option.fromNullable(internal.bucketOf(headers))
