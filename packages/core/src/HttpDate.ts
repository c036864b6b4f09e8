/**
 * HTTP-dates (RFC 9110 section 5.6.7): parse all three formats a recipient must accept, and format each of them.
 *
 * @since 0.1.0
 */
import * as Option from "effect/Option"
import * as internal from "@effect-retry/engine/HttpDate"

/**
 * Parses an HTTP-date in any of its three formats (IMF-fixdate, RFC 850, asctime) into epoch milliseconds.
 *
 * Returns `None` for anything else, including impossible dates such as 31 February. The leap second `23:59:60`,
 * which RFC 9110 allows, is read as the next second (00:00:00 of the next day). Names of days and months are
 * matched without regard to case. `now` (epoch milliseconds, default the local clock) decides the century of an RFC
 * 850 two-digit year, as RFC 9110 prescribes: a year more than 50 years ahead is taken from the previous century.
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/core"
 *
 * HttpDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") // Some(784111777000)
 * HttpDate.parse("Sunday, 06-Nov-94 08:49:37 GMT") // Some(784111777000)
 * HttpDate.parse("Sun Nov  6 08:49:37 1994") // Some(784111777000)
 * HttpDate.parse("Sat, 31 Dec 2016 23:59:60 GMT") // Some(1483228800000), 1 January 2017 00:00:00
 * HttpDate.parse("tomorrow") // None
 * ```
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (value: string, now: number = Date.now()): Option.Option<number> => {
  const millis = internal.parse(value, now)
  return Number.isNaN(millis) ? Option.none() : Option.some(millis)
}

/**
 * Formats epoch milliseconds as an IMF-fixdate, the format servers must send (`Sun, 06 Nov 1994 08:49:37 GMT`).
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/core"
 *
 * HttpDate.formatImfFixdate(784111777000) // "Sun, 06 Nov 1994 08:49:37 GMT"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatImfFixdate: (millis: number) => string = internal.formatImfFixdate

/**
 * Formats epoch milliseconds in the obsolete RFC 850 format (`Sunday, 06-Nov-94 08:49:37 GMT`).
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/core"
 *
 * HttpDate.formatRfc850(784111777000) // "Sunday, 06-Nov-94 08:49:37 GMT"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatRfc850: (millis: number) => string = internal.formatRfc850

/**
 * Formats epoch milliseconds in the obsolete asctime format (`Sun Nov  6 08:49:37 1994`).
 *
 * @example
 * ```ts
 * import { HttpDate } from "@effect-retry/core"
 *
 * HttpDate.formatAsctime(784111777000) // "Sun Nov  6 08:49:37 1994"
 * ```
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatAsctime: (millis: number) => string = internal.formatAsctime
