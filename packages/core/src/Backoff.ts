/**
 * Exponential backoff with jitter, as `Schedule`s: the strategies of "Exponential Backoff and Jitter" (none, full,
 * equal, decorrelated) plus Effect's own ×0.8–1.2.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as internal from "./internal/backoff.js"
import { InvalidRetryOptions } from "./internal/invalidOptions.js"

export type {
  /**
   * How a backoff delay is spread, with `e = min(maxDelay, baseDelay * factor^n)` for the n-th retry (n from 0):
   *
   * - `"none"`: exactly `e`.
   * - `"full"` (default): uniform in `[0, e]`. Finishes contended work fastest with the fewest calls.
   * - `"equal"`: uniform in `[e/2, e]`.
   * - `"decorrelated"`: `min(maxDelay, uniform(baseDelay, 3 * previous))`, growing from the last delay.
   * - `"proportional"`: uniform in `[0.8e, 1.2e]` (never above `maxDelay`), like Effect's `Schedule.jittered`.
   *
   * @example
   * ```ts
   * import type { Backoff } from "@effect-retry/core"
   *
   * const jitter: Backoff.Jitter = "full"
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  Jitter
} from "./internal/backoff.js"

/**
 * Every jitter strategy, in a fixed order.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/core"
 *
 * Backoff.jitters // ["none", "full", "equal", "decorrelated", "proportional"]
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const jitters: ReadonlyArray<internal.Jitter> = internal.JITTERS

/**
 * Options of an exponential backoff.
 *
 * @example
 * ```ts
 * import type { Backoff } from "@effect-retry/core"
 *
 * const options: Backoff.BackoffOptions = { baseDelay: "200 millis", maxDelay: "5 seconds", jitter: "equal" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** The first delay before jitter. Default: 100 millis. */
  readonly baseDelay?: Duration.DurationInput
  /** No delay exceeds this. Default: 10 seconds. */
  readonly maxDelay?: Duration.DurationInput
  /** Growth per retry. Default: 2. */
  readonly factor?: number
  /** How delays are spread. Default: `"full"`. */
  readonly jitter?: internal.Jitter
}

/**
 * Backoff options with every default filled in and checked, in milliseconds.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/core"
 *
 * const resolved: Backoff.Resolved = Backoff.resolve({ jitter: "none" })
 * resolved.baseDelay // 100
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Resolved {
  readonly baseDelay: number
  readonly maxDelay: number
  readonly factor: number
  readonly jitter: internal.Jitter
}

/**
 * Fills in the defaults and checks the options; throws `InvalidRetryOptions` listing every problem.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/core"
 *
 * Backoff.resolve({ baseDelay: "1 second" }).maxDelay // 10000
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const resolve = (input: BackoffOptions = {}): Resolved => {
  const problems: Array<string> = []
  const resolved = internal.resolveInto(problems, input, "")
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  return resolved
}

/**
 * The delay of the n-th retry (n from 0) for a random draw in [0, 1); `previous` is the last delay given (used by
 * decorrelated jitter; `baseDelay` before the first). Pure and overflow-safe at any n.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/core"
 *
 * const options = Backoff.resolve({ jitter: "full" })
 * Backoff.delayMillis(options, 3, 0.5, options.baseDelay) // 400: half of 100 * 2^3
 * Backoff.delayMillis(options, 10_000, 0.5, options.baseDelay) // 5000: half of the 10 s cap
 * ```
 *
 * @since 0.1.0
 * @category delays
 */
export const delayMillis = (options: Resolved, attempt: number, random: number, previous: number): number =>
  internal.delay(options.jitter, options.baseDelay, options.maxDelay, options.factor, attempt, random, previous)

/**
 * An endless exponential backoff `Schedule` whose output is each delay; randomness comes from Effect's `Random`, so
 * a seeded `Random` gives exact delays. Bound it with `Schedule.recurs`, `Schedule.upTo` or a retry policy.
 * Throws `InvalidRetryOptions` for bad options, when built.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/core"
 * import { Effect, Schedule } from "effect"
 *
 * const flaky: Effect.Effect<string, Error> = Effect.succeed("ok")
 * const resilient = Effect.retry(
 *   flaky,
 *   Backoff.exponential({ baseDelay: "50 millis", jitter: "full" }).pipe(Schedule.intersect(Schedule.recurs(4)))
 * )
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const exponential = (input?: BackoffOptions): Schedule.Schedule<Duration.Duration, unknown> => {
  const resolved = resolve(input)
  return Schedule.makeWithState<{ readonly attempt: number; readonly previous: number }, unknown, Duration.Duration>(
    { attempt: 0, previous: resolved.baseDelay },
    (now, _, state) =>
      Effect.map(Random.next, (random) => {
        const ms = delayMillis(resolved, state.attempt, random, state.previous)
        return [
          { attempt: state.attempt + 1, previous: ms },
          Duration.millis(ms),
          ScheduleDecision.continueWith(Interval.after(now + ms))
        ] as const
      })
  )
}
