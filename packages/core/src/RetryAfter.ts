/**
 * The `Retry-After` response header (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as internal from "./internal/serverHint.js"

/**
 * What a delay is measured against when `Retry-After` holds an HTTP-date.
 *
 * @example
 * ```ts
 * import type { RetryAfter } from "@effect-retry/core"
 *
 * const context: RetryAfter.ParseOptions = { now: Date.now(), date: "Sun, 06 Nov 1994 08:49:37 GMT" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ParseOptions {
  /** When the response was received, in epoch milliseconds on the local clock. Default: `Date.now()`. */
  readonly now?: number
  /**
   * The response's own `Date` header. When it is a valid HTTP-date, an HTTP-date `Retry-After` is measured against
   * it, never against the local clock: the wait is `Retry-After - Date`, counted from `now`. `Date` is truncated to
   * the second and written before the response travelled, so the server's clock at receipt is at least `Date`: this
   * wait is never shorter than the one the server asked for, whatever the skew between the clocks (at worst it is
   * up to a second plus the transit time longer). Without a valid `Date`, the local clock.
   */
  readonly date?: string | undefined
}

/**
 * Parses a `Retry-After` value into the delay it asks for; never throws, never negative.
 *
 * - delay-seconds (`1*DIGIT`) is taken exactly, however large (a value past what a timer can hold stays exact:
 *   compare it with a cap before sleeping).
 * - an HTTP-date in any of the three formats (the leap second `23:59:60` included) is measured against the
 *   response's `Date` header when it has a valid one, else against `now`; a date in the past means zero.
 * - anything else (a sign, a fraction, a unit, an unparseable date) is no hint: `None`.
 *
 * @example
 * ```ts
 * import { RetryAfter } from "@effect-retry/core"
 *
 * RetryAfter.parse("7") // Some(Duration.seconds(7))
 * const options = { date: "Wed, 21 Oct 2015 07:28:00 GMT" } // the response's Date header
 * RetryAfter.parse("Wed, 21 Oct 2015 07:28:02 GMT", options) // Some(Duration.seconds(2)), whatever the local clock
 * RetryAfter.parse("-1") // None
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (value: string, options?: ParseOptions): Option.Option<Duration.Duration> => {
  return Option.fromNullable(internal.retryAfter(value, options?.now ?? Date.now(), options?.date))
}
