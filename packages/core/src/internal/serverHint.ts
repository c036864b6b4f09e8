import * as Duration from "effect/Duration"
import * as headers from "@effect-retry/engine/Headers"
import type * as rateLimit from "@effect-retry/engine/RateLimit"
import * as engine from "@effect-retry/engine/ServerHint"

/** @internal */
export type Source = engine.Source

/** @internal */
export interface Hint {
  readonly source: Source
  readonly delay: Duration.Duration
  readonly at: number
}

/**
 * The latest `at` a hint has: 8.64e15 ms after 1970 (the year 275760), the last instant a JavaScript `Date` holds.
 * @internal
 */
export const MAX_AT_MILLIS = engine.MAX_AT_MILLIS

const DELAY_SECONDS = /^\d+$/
const NANOS_PER_SECOND = BigInt(1_000_000_000)

/**
 * A delay as a Duration: delay-seconds of more than 12 digits keep every digit as nanoseconds (the engine's
 * milliseconds are a float there), anything else is the engine's milliseconds.
 */
const durationOf = (millis: number, value: string | undefined): Duration.Duration => {
  const trimmed = value?.trim()
  return trimmed !== undefined && trimmed.length > 12 && DELAY_SECONDS.test(trimmed)
    ? Duration.nanos(BigInt(trimmed) * NANOS_PER_SECOND)
    : Duration.millis(millis)
}

/**
 * Retry-After as a Duration: exact for any number of seconds, zero for a past date, undefined when malformed.
 * An HTTP-date is measured against the response's `Date` header when it has a valid one.
 * @internal
 */
export const retryAfter = (value: string, now: number, date: string | undefined): Duration.Duration | undefined => {
  const millis = engine.retryAfter(value, now, date)
  return millis === undefined ? undefined : durationOf(millis, value)
}

/** @internal */
export interface Reading {
  /** The server's hint, if any (see `fromHeaders` for the precedence). */
  readonly hint: Hint | undefined
  /** The rate-limit fields, read once; also there when the hint came from `Retry-After`. */
  readonly rateLimit: rateLimit.Info | undefined
}

/**
 * Reads a response's headers once (the engine's reading, with the hint's delay as a Duration): the rate-limit
 * fields, and the hint, which comes from `Retry-After`, then `Retry-After-Ms`, then the rate-limit fields when they
 * say no request remains.
 * @internal
 */
export const read = (record: headers.HeaderRecord, now: number): Reading => {
  const reading = engine.read(record, now)
  if (reading === lastReading) return lastResult!
  const hint = reading.hint
  lastReading = reading
  lastResult = hint === undefined ? reading as Reading : {
    hint: {
      source: hint.source,
      delay: durationOf(hint.millis, hint.source === "retry-after" ? headers.get(record, "retry-after") : undefined),
      at: hint.at
    },
    rateLimit: reading.rateLimit
  }
  return lastResult
}

let lastReading: engine.Reading | undefined
let lastResult: Reading | undefined

/** @internal */
export const fromHeaders = (record: headers.HeaderRecord, now: number): Hint | undefined => read(record, now).hint
