import * as Duration from "effect/Duration"
import * as headers from "@effect-retry/engine/Headers"
import * as httpDate from "@effect-retry/engine/HttpDate"
import * as rateLimit from "@effect-retry/engine/RateLimit"

/** @internal */
export type Source = "retry-after" | "retry-after-ms" | rateLimit.Source

/** @internal */
export interface Hint {
  readonly source: Source
  readonly delay: Duration.Duration
  readonly at: number
}

/**
 * The latest `at` a hint has: 8.64e15 ms after 1970 (the year 275760), the last instant a JavaScript `Date` holds.
 * A longer delay keeps its exact value; only the instant stops there, so it stays finite and usable as a `Date`.
 * @internal
 */
export const MAX_AT_MILLIS = 8_640_000_000_000_000

const DELAY_SECONDS = /^\d+$/
const NANOS_PER_SECOND = BigInt(1_000_000_000)

/**
 * Retry-After as a Duration: exact for any number of seconds, zero for a past date, undefined when malformed.
 * An HTTP-date is measured against the response's `Date` header when it has a valid one (`httpDate.untilInstant`).
 * @internal
 */
export const retryAfter = (value: string, now: number, date: string | undefined): Duration.Duration | undefined => {
  const trimmed = value.trim()
  if (DELAY_SECONDS.test(trimmed)) {
    // Small values stay plain milliseconds; larger ones keep every digit as nanoseconds.
    return trimmed.length <= 12
      ? Duration.millis(Number(trimmed) * 1000)
      : Duration.nanos(BigInt(trimmed) * NANOS_PER_SECOND)
  }
  const at = httpDate.parse(trimmed, now)
  if (Number.isNaN(at)) return undefined
  return Duration.millis(httpDate.untilInstant(at, date, now))
}

const hint = (source: Source, delay: Duration.Duration, now: number): Hint => ({
  source,
  delay,
  at: Math.min(MAX_AT_MILLIS, now + Duration.toMillis(delay))
})

/** @internal */
export interface Reading {
  /** The server's hint, if any (see `fromHeaders` for the precedence). */
  readonly hint: Hint | undefined
  /** The rate-limit fields, read once; also there when the hint came from `Retry-After`. */
  readonly rateLimit: rateLimit.Info | undefined
}

/**
 * Reads a response's headers once: the rate-limit fields, and the hint, which comes from `Retry-After`, then
 * `Retry-After-Ms`, then the rate-limit fields when they say no request remains.
 * @internal
 */
export const read = (record: headers.HeaderRecord, now: number): Reading => {
  // The coordinator and the typed error read the same answer at the same instant: it is parsed once for both.
  if (record === lastRecord && now === lastNow) return lastReading!
  const reading = parse(record, now)
  lastRecord = record
  lastNow = now
  lastReading = reading
  return reading
}

let lastRecord: headers.HeaderRecord | undefined
let lastNow = NaN
let lastReading: Reading | undefined

const parse = (record: headers.HeaderRecord, now: number): Reading => {
  const info = rateLimit.parse(record, now)
  const retryAfterValue = headers.get(record, "retry-after")
  if (retryAfterValue !== undefined) {
    const delay = retryAfter(retryAfterValue, now, headers.get(record, "date"))
    if (delay !== undefined) return { hint: hint("retry-after", delay, now), rateLimit: info }
  }
  const millis = headers.decimal(headers.get(record, "retry-after-ms"))
  if (!Number.isNaN(millis)) return { hint: hint("retry-after-ms", Duration.millis(millis), now), rateLimit: info }
  if (info !== undefined && info.remaining === 0) {
    return { hint: hint(info.source, Duration.millis(info.resetMillis), now), rateLimit: info }
  }
  return { hint: undefined, rateLimit: info }
}

/** @internal */
export const fromHeaders = (record: headers.HeaderRecord, now: number): Hint | undefined => read(record, now).hint
