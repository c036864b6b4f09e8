/**
 * `Retry-After` (RFC 9110): delay-seconds or an HTTP-date in any of its three forms, as a `Duration`.
 *
 * @since 0.1.0
 */
import * as ServerHint from "@effect-retry/engine/ServerHint"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/**
 * Parses a `Retry-After` value: delay-seconds, or an HTTP-date measured against the response's `Date` header when
 * given (so a skewed local clock does not matter); zero for a past date, `None` when malformed, never a throw.
 *
 * @example
 * ```ts
 * import { RetryAfter } from "@effect-retry/effect4"
 * import { Duration, Option } from "effect"
 *
 * assert.strictEqual(Duration.toMillis(Option.getOrThrow(RetryAfter.parse("7"))), 7_000)
 * const date = "Thu, 01 Jan 2026 12:00:00 GMT"
 * const at = RetryAfter.parse("Thu, 01 Jan 2026 12:00:30 GMT", { date })
 * assert.strictEqual(Duration.toMillis(Option.getOrThrow(at)), 30_000)
 * assert.ok(Option.isNone(RetryAfter.parse("soon")))
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (
  value: string,
  options?: { readonly now?: number; readonly date?: string }
): Option.Option<Duration.Duration> => {
  const millis = ServerHint.retryAfter(value, options?.now ?? Date.now(), options?.date)
  return millis === undefined ? Option.none() : Option.some(Duration.millis(millis))
}
