/**
 * HTTP-dates (RFC 9110): the IMF-fixdate, RFC 850 and asctime forms, parsed to epoch milliseconds and formatted back.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/engine"
 *
 * const at = HttpDate.parse("Sun, 06 Nov 1994 08:49:37 GMT", Date.now())
 * assert.strictEqual(at, Date.UTC(1994, 10, 6, 8, 49, 37))
 * assert.strictEqual(HttpDate.formatImfFixdate(at), "Sun, 06 Nov 1994 08:49:37 GMT")
 * // 10 seconds after the response's Date, whatever the local clock says
 * assert.strictEqual(HttpDate.untilInstant(at + 10_000, "Sun, 06 Nov 1994 08:49:37 GMT", 0), 10_000)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Parses the three HTTP-date forms (NaN when malformed), formats them, and measures an instant against a response's own `Date` header so that clock skew does not matter.
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/engine"
 *
 * assert.ok(Number.isNaN(HttpDate.parse("tomorrow", Date.now())))
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/httpDate.js"
