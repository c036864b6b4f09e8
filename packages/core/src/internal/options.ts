import * as OptionChecks from "@effect-retry/engine/OptionChecks"
import * as Duration from "effect/Duration"

/**
 * Reads a duration option, collecting a readable problem when it is not a finite, non-negative duration.
 * @internal
 */
export const millis = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: Duration.DurationInput
): number => {
  const input = value === undefined ? fallback : value
  const decoded = Duration.decodeUnknown(input)
  // A `[seconds, nanos]` pair is checked part by part: Effect turns a NaN part into zero too.
  const parts: ReadonlyArray<unknown> = Array.isArray(input) ? input : [input]
  if (decoded._tag === "None" || parts.some((n) => typeof n === "number" && Number.isNaN(n))) {
    problems.push(
      `${name} must be a duration (a number of milliseconds or a string like "5 seconds"), got ${show(input)}`
    )
    return NaN
  }
  const ms = Duration.toMillis(decoded.value)
  // Effect turns negative inputs into zero silently: catch them before it does.
  const negative = parts.some((n) => typeof n === "number" && n < 0) ||
    (typeof input === "string" && input.trim().startsWith("-")) || (typeof input === "bigint" && input < BigInt(0))
  if (!Number.isFinite(ms) || negative) {
    problems.push(`${name} must be finite and not negative, got ${show(input)}`)
    return NaN
  }
  return ms
}

/** @internal */
export const integer = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number
): number => OptionChecks.wholeNumber(problems, name, value, fallback, min, show)

/** @internal */
export const number = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number
): number => OptionChecks.numberBetween(problems, name, value, fallback, min, max, show)

/** @internal */
export const oneOf = <A extends string>(
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: A,
  allowed: ReadonlyArray<A>
): A => {
  const v = value === undefined ? fallback : value
  if (typeof v !== "string" || !allowed.includes(v as A)) {
    problems.push(`${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, got ${show(v)}`)
    return fallback
  }
  return v as A
}

/** @internal */
export const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  if (typeof u === "bigint") return `${u}n`
  if (typeof u === "number" || typeof u === "boolean" || u === null || u === undefined) return String(u)
  // JSON would print Infinity and NaN as null.
  if (Array.isArray(u)) return `[${u.map(show).join(",")}]`
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/**
 * The longest sleep a JavaScript timer can hold: 2^31 - 1 ms (about 24.8 days). Effect treats longer sleeps as
 * infinite, so no timeout may exceed it.
 * @internal
 */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1
