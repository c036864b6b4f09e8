import type * as Backoff from "../Backoff.js"
import * as engine from "@effect-retry/engine/Backoff"
import * as options from "./options.js"

/** @internal */
export type Jitter = engine.Jitter

/** @internal */
export const { JITTERS, delay, exponential } = engine

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
