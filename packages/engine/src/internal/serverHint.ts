import * as headers from "./headers.js"
import * as httpDate from "./httpDate.js"
import * as rateLimit from "./rateLimit.js"

/** Where a server's hint came from. */
export type Source = "retry-after" | "retry-after-ms" | rateLimit.Source

/** A server's hint: how long it asked to wait, in milliseconds, and the instant that is (epoch milliseconds). */
export interface Hint {
  readonly source: Source
  /** The delay the server gave, in milliseconds (Infinity for a delay-seconds too long for a number). */
  readonly millis: number
  /** The instant to wait for, never past `MAX_AT_MILLIS`. */
  readonly at: number
}

/**
 * The latest `at` a hint has: 8.64e15 ms after 1970 (the year 275760), the last instant a JavaScript `Date` holds.
 * A longer delay keeps its value; only the instant stops there, so it stays finite and usable as a `Date`.
 */
export const MAX_AT_MILLIS = 8_640_000_000_000_000

const DELAY_SECONDS = /^\d+$/

/**
 * Retry-After in milliseconds: delay-seconds, or an HTTP-date measured against the response's `Date` header when it
 * has a valid one (`httpDate.untilInstant`); zero for a past date, undefined when malformed.
 */
export const retryAfter = (value: string, now: number, date: string | undefined): number | undefined => {
  const trimmed = value.trim()
  if (DELAY_SECONDS.test(trimmed)) return Number(trimmed) * 1000
  const at = httpDate.parse(trimmed, now)
  if (Number.isNaN(at)) return undefined
  return httpDate.untilInstant(at, date, now)
}

const hint = (source: Source, millis: number, now: number): Hint => ({
  source,
  millis,
  at: Math.min(MAX_AT_MILLIS, now + millis)
})

/** What one response's headers say, read once. */
export interface Reading {
  /** The server's hint, if any (see `read` for the precedence). */
  readonly hint: Hint | undefined
  /** The rate-limit fields, read once; also there when the hint came from `Retry-After`. */
  readonly rateLimit: rateLimit.Info | undefined
}

/**
 * Reads a response's headers once: the rate-limit fields, and the hint, which comes from `Retry-After`, then
 * `Retry-After-Ms`, then the rate-limit fields when they say no request remains.
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
    const millis = retryAfter(retryAfterValue, now, headers.get(record, "date"))
    if (millis !== undefined) return { hint: hint("retry-after", millis, now), rateLimit: info }
  }
  const millis = headers.decimal(headers.get(record, "retry-after-ms"))
  if (!Number.isNaN(millis)) return { hint: hint("retry-after-ms", millis, now), rateLimit: info }
  if (info !== undefined && info.remaining === 0) {
    return { hint: hint(info.source, info.resetMillis, now), rateLimit: info }
  }
  return { hint: undefined, rateLimit: info }
}

/**
 * Whether a reading's hint is an instant measured against the response's `Date` (an HTTP-date `Retry-After`, an epoch
 * reset), which `Date`'s whole seconds make up to a second late, rather than a delay.
 */
export const fromDate = (reading: Reading, record: headers.HeaderRecord): boolean => {
  const hint = reading.hint
  if (hint === undefined || hint.source === "retry-after-ms") return false
  return hint.source === "retry-after"
    ? !DELAY_SECONDS.test(headers.get(record, "retry-after")!.trim())
    : reading.rateLimit?.fromDate === true
}

/** The server's hint in a response's headers, if any. */
export const fromHeaders = (record: headers.HeaderRecord, now: number): Hint | undefined => read(record, now).hint
