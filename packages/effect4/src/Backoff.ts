/**
 * Exponential backoff with jitter as an Effect 4 `Schedule`: the strategies of "Exponential Backoff and Jitter"
 * (none, full, equal, decorrelated) plus a ×0.8–1.2 spread, on the engine's arithmetic.
 *
 * @since 0.1.0
 */
import * as Backoff from "@effect-retry/engine/Backoff"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as options from "./internal/options.js"

/**
 * Options of an exponential backoff; the delay of the n-th retry (n from 0) is spread around
 * `min(maxDelay, baseDelay * factor^n)` by `jitter`.
 *
 * @example
 * ```ts
 * import type { Backoff } from "@effect-retry/effect4"
 *
 * const options: Backoff.Options = { baseDelay: "200 millis", maxDelay: "5 seconds", jitter: "equal" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Default: 100 ms. */
  readonly baseDelay?: Duration.Input
  /** Default: 10 s. */
  readonly maxDelay?: Duration.Input
  /** Default: 2. */
  readonly factor?: number
  /** Default: "full". */
  readonly jitter?: Backoff.Jitter
}

/**
 * An exponential backoff `Schedule` that recurs forever (bound it with `Schedule.take` or use it inside
 * `withStatusRetry`'s limits); its output is the delay. Draws come from Effect's `Random`, so a seeded `Random`
 * makes it reproducible.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/effect4"
 * import { Duration, Effect, Schedule } from "effect"
 *
 * const delays = Effect.runSync(
 *   Effect.gen(function*() {
 *     const step = yield* Schedule.toStep(Backoff.exponential({ baseDelay: "100 millis", jitter: "none" }))
 *     const out: Array<number> = []
 *     for (let i = 0; i < 4; i++) out.push(Duration.toMillis((yield* step(0, undefined))[1]))
 *     return out
 *   })
 * )
 * assert.deepStrictEqual(delays, [100, 200, 400, 800])
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const exponential = (input: Options = {}): Schedule.Schedule<Duration.Duration> => {
  const problems: Array<string> = []
  const base = options.millis(problems, "baseDelay", input.baseDelay, "100 millis")
  const max = options.millis(problems, "maxDelay", input.maxDelay, "10 seconds")
  const factor = input.factor ?? 2
  const jitter = input.jitter ?? "full"
  if (!(typeof factor === "number" && factor >= 1 && factor <= 1e6)) problems.push("factor must be from 1 to 1000000")
  if (!Backoff.JITTERS.includes(jitter)) problems.push(`jitter must be one of ${Backoff.JITTERS.join(", ")}`)
  if (base === 0 || max < base) problems.push("baseDelay must be more than zero and at most maxDelay")
  if (problems.length > 0) throw new options.InvalidRetryOptions({ problems })
  return Schedule.fromStep(Effect.sync(() => {
    let attempt = 0
    let previous = base
    return (_now: number, _input: unknown) =>
      Effect.map(Random.next, (random): [Duration.Duration, Duration.Duration] => {
        previous = Backoff.delay(jitter, base, max, factor, attempt++, random, previous)
        const delay = Duration.millis(previous)
        return [delay, delay]
      })
  }))
}
