import * as Duration from "effect/Duration"
import * as headers from "./headers.js"
import * as httpDate from "./httpDate.js"
import * as rateLimit from "./rateLimit.js"

/** @internal */
export type Source = "retry-after" | "retry-after-ms" | rateLimit.Source

/** @internal */
export interface Hint {
  readonly source: Source
  readonly delay: Duration.Duration
  readonly at: number
}

const DELAY_SECONDS = /^\d+$/
const NANOS_PER_SECOND = BigInt(1_000_000_000)

/**
 * Retry-After as a Duration: exact for any number of seconds, zero for a past date, undefined when malformed.
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
  return Duration.millis(Math.max(0, at - httpDate.serverNow(date, now)))
}

const hint = (source: Source, delay: Duration.Duration, now: number): Hint => ({
  source,
  delay,
  at: now + Duration.toMillis(delay)
})

/** @internal */
export const fromHeaders = (record: headers.HeaderRecord, now: number): Hint | undefined => {
  const retryAfterValue = headers.get(record, "retry-after")
  if (retryAfterValue !== undefined) {
    const delay = retryAfter(retryAfterValue, now, headers.get(record, "date"))
    if (delay !== undefined) return hint("retry-after", delay, now)
  }
  const millis = headers.decimal(headers.get(record, "retry-after-ms"))
  if (!Number.isNaN(millis)) return hint("retry-after-ms", Duration.millis(millis), now)
  const info = rateLimit.parse(record, now)
  if (info !== undefined && info.remaining === 0) return hint(info.source, Duration.millis(info.resetMillis), now)
  return undefined
}
