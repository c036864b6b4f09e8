import type * as Backoff from "../Backoff.js"
import * as options from "./options.js"

/** @internal */
export type Jitter = "none" | "full" | "equal" | "decorrelated" | "proportional"

/** @internal */
export const JITTERS: ReadonlyArray<Jitter> = ["none", "full", "equal", "decorrelated", "proportional"]

/**
 * base * factor^attempt, capped; safe for any attempt number (never Infinity or NaN).
 * @internal
 */
export const exponential = (base: number, cap: number, factor: number, attempt: number): number => {
  const grown = base * Math.pow(factor, Math.max(0, attempt))
  return grown < cap ? grown : cap
}

/**
 * One jittered delay in milliseconds. `attempt` is 0 for the first retry; `random` is in [0, 1); `previous` is the
 * last delay this strategy gave (decorrelated jitter grows from it; `base` before the first).
 * @internal
 */
export const delay = (
  jitter: Jitter,
  base: number,
  cap: number,
  factor: number,
  attempt: number,
  random: number,
  previous: number
): number => {
  switch (jitter) {
    case "none":
      return exponential(base, cap, factor, attempt)
    case "full":
      return random * exponential(base, cap, factor, attempt)
    case "equal": {
      const e = exponential(base, cap, factor, attempt)
      return e / 2 + random * (e / 2)
    }
    case "proportional":
      return Math.min(cap, exponential(base, cap, factor, attempt) * (0.8 + 0.4 * random))
    case "decorrelated":
      // Brooker: sleep = min(cap, uniform(base, previous * 3))
      return Math.min(cap, base + random * (Math.max(base, previous * 3) - base))
  }
}

/** @internal */
export const resolveInto = (
  problems: Array<string>,
  input: Backoff.BackoffOptions,
  prefix: string
): Backoff.Resolved => {
  const baseDelay = options.millis(problems, `${prefix}baseDelay`, input.baseDelay, "100 millis")
  const maxDelay = options.millis(problems, `${prefix}maxDelay`, input.maxDelay, "10 seconds")
  const factor = options.number(problems, `${prefix}factor`, input.factor, 2, 1, 1e6)
  const jitter = options.oneOf(problems, `${prefix}jitter`, input.jitter, "full", JITTERS)
  if (baseDelay === 0) problems.push(`${prefix}baseDelay must be more than zero`)
  if (maxDelay < baseDelay) {
    problems.push(`${prefix}maxDelay (${maxDelay} ms) must be at least ${prefix}baseDelay (${baseDelay} ms)`)
  }
  if (maxDelay > options.MAX_TIMER_MILLIS) {
    problems.push(
      `${prefix}maxDelay must be at most ${options.MAX_TIMER_MILLIS} ms, the longest timer JavaScript holds`
    )
  }
  return { baseDelay, maxDelay, factor, jitter }
}
