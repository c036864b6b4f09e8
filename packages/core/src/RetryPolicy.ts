/**
 * The retry decision: wait what the server asks (plus a small spread) or a jittered backoff, stop at once on a
 * permanent failure, and give up within a number of attempts and a total time budget. Offered as a `Schedule` for
 * `Effect.retry` and as a `retry` combinator that also records why it gave up.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import * as Backoff from "./Backoff.js"
import * as backoff from "./internal/backoff.js"
import * as invalid from "./internal/invalidOptions.js"
import * as options from "./internal/options.js"
import * as internal from "./internal/retryPolicy.js"
import type * as ServerHint from "./ServerHint.js"
import * as StatusError from "./StatusError.js"
import type * as StatusPolicy from "./StatusPolicy.js"

/**
 * Thrown (or returned by `validate`) when retry options are wrong: negative attempts, NaN durations, a cap below
 * its base... `problems` lists every one of them.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 * import { Either } from "effect"
 *
 * const result = RetryPolicy.validate({ maxAttempts: -1 })
 * if (Either.isLeft(result)) console.log(result.left.problems) // ["maxAttempts must be a whole number of at least 1, got -1"]
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const InvalidRetryOptions: typeof invalid.InvalidRetryOptions = invalid.InvalidRetryOptions

/**
 * The type of `InvalidRetryOptions` errors, thrown by every constructor of this package that checks options.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * const problems = (e: RetryPolicy.InvalidRetryOptions): ReadonlyArray<string> => e.problems
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type InvalidRetryOptions = invalid.InvalidRetryOptions

/**
 * Options of a retry policy; every one has a bounded default, so no retry loop is ever infinite by default.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 *
 * const options: RetryPolicy.RetryOptions = {
 *   maxAttempts: 5,
 *   budget: "1 minute",
 *   maxRetryAfter: "20 seconds",
 *   jitter: "full"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /**
   * Attempts a call may make while its failures are transient (5xx, 408, transport errors), the first included.
   * Default: 4 (three retries).
   */
  readonly maxAttempts?: number
  /**
   * Attempts a call may make while it is throttled (429, or any retryable status with a server hint). The server
   * paces these, so they get their own allowance. Default: 10.
   */
  readonly maxThrottledAttempts?: number
  /**
   * The total time a call may spend, from its first attempt (from its first failure for `schedule`). A wait that
   * would end past it is not started: the call fails at once with reason `"budget"`. Default: 30 seconds.
   * At most 2^31 - 1 ms.
   */
  readonly budget?: Duration.DurationInput
  /**
   * The longest server-requested wait the call will honour; a longer one fails at once with reason
   * `"retry-after-too-long"`, and the error still carries the instant the server gave. Default: 30 seconds.
   */
  readonly maxRetryAfter?: Duration.DurationInput
  /** First backoff delay for transient failures. Default: 100 millis. */
  readonly baseDelay?: Duration.DurationInput
  /** First backoff delay when throttled without a server hint (a bare 429). Default: 1 second. */
  readonly throttledBaseDelay?: Duration.DurationInput
  /** The longest backoff delay. Default: 10 seconds. */
  readonly maxDelay?: Duration.DurationInput
  /** How backoff delays are spread. Default: `"full"`. */
  readonly jitter?: Backoff.Jitter
  /**
   * After a server hint, a random extra wait of up to this fraction of the hint (capped by `maxRetryAfterSpread`),
   * so clients told the same instant do not all return at once. Default: 0.02 (20 ms on a 1 s hint: enough to
   * break exact ties, small enough to finish with the clients that wait the bare hint; for a herd of many clients,
   * provide `Coordinator.layer()` or raise it).
   */
  readonly retryAfterSpread?: number
  /** The cap of that extra wait. Default: 1 second. */
  readonly maxRetryAfterSpread?: Duration.DurationInput
  /**
   * How to treat failures that are not status errors (status errors carry their own `kind`). Return `undefined`
   * to stop retrying. Default: never retry them.
   */
  readonly classify?: (error: unknown) => StatusPolicy.RetryableOutcome | "permanent" | undefined
}

/**
 * A checked retry policy, durations in milliseconds.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * const policy: RetryPolicy.RetryPolicy = RetryPolicy.make({ maxAttempts: 3 })
 * policy.budget // 30000
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  readonly maxAttempts: number
  readonly maxThrottledAttempts: number
  readonly budget: number
  readonly maxRetryAfter: Duration.Duration
  readonly retryAfterSpread: number
  readonly maxRetryAfterSpread: number
  readonly transientBackoff: Backoff.Resolved
  readonly throttledBackoff: Backoff.Resolved
  readonly classify: (error: unknown) => StatusPolicy.RetryableOutcome | "permanent" | undefined
}

/**
 * Checks options and fills in defaults, returning every problem at once instead of throwing.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 * import { Either } from "effect"
 *
 * Either.isRight(RetryPolicy.validate({ budget: "10 seconds" })) // true
 * Either.isLeft(RetryPolicy.validate({ budget: Number.NaN })) // true
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate = (input: RetryOptions = {}): Either.Either<RetryPolicy, InvalidRetryOptions> => {
  const problems: Array<string> = []
  const maxAttempts = options.integer(problems, "maxAttempts", input.maxAttempts, 4, 1)
  const maxThrottledAttempts = options.integer(problems, "maxThrottledAttempts", input.maxThrottledAttempts, 10, 1)
  const budget = options.millis(problems, "budget", input.budget, "30 seconds")
  if (budget > options.MAX_TIMER_MILLIS) {
    problems.push(`budget must be at most ${options.MAX_TIMER_MILLIS} ms, the longest timer JavaScript holds`)
  }
  const maxRetryAfter = options.millis(problems, "maxRetryAfter", input.maxRetryAfter, "30 seconds")
  const retryAfterSpread = options.number(problems, "retryAfterSpread", input.retryAfterSpread, 0.02, 0, 1)
  const maxRetryAfterSpread = options.millis(problems, "maxRetryAfterSpread", input.maxRetryAfterSpread, "1 second")
  const shared = { factor: 2, maxDelay: input.maxDelay ?? "10 seconds", jitter: input.jitter ?? "full" }
  const transientBackoff = backoff.resolveInto(problems, { ...shared, baseDelay: input.baseDelay ?? "100 millis" }, "")
  const throttledBase = options.millis(problems, "throttledBaseDelay", input.throttledBaseDelay, "1 second")
  // The same backoff from another base: nothing more to check than the base.
  const throttledBackoff: Backoff.Resolved = { ...transientBackoff, baseDelay: throttledBase }
  if (throttledBase === 0) problems.push("throttledBaseDelay must be more than zero")
  if (throttledBase > transientBackoff.maxDelay) {
    problems.push(`maxDelay (${transientBackoff.maxDelay} ms) must be at least throttledBaseDelay (${throttledBase} ms)`)
  }
  if (input.classify !== undefined && typeof input.classify !== "function") {
    problems.push(`classify must be a function, got ${options.show(input.classify)}`)
  }
  if (problems.length > 0) return Either.left(new InvalidRetryOptions({ problems }))
  return Either.right({
    maxAttempts,
    maxThrottledAttempts,
    budget,
    maxRetryAfter: Duration.millis(maxRetryAfter),
    retryAfterSpread,
    maxRetryAfterSpread,
    transientBackoff,
    throttledBackoff,
    classify: input.classify ?? (() => undefined)
  })
}

/**
 * Checks options and fills in defaults; throws `InvalidRetryOptions` listing every problem, so a mistake shows
 * when the policy is built rather than at the first failure.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * const policy = RetryPolicy.make({ maxAttempts: 5, budget: "1 minute" })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (input?: RetryOptions): RetryPolicy => Either.getOrThrowWith(validate(input), (e) => e)

/**
 * Where a call stands in its retry loop.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * const state: RetryPolicy.RetryState = RetryPolicy.initialState(RetryPolicy.make(), 0)
 * state.attempts // 0
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryState {
  /** Attempts made so far. */
  readonly attempts: number
  /** How many of them failed transiently. */
  readonly transientFailures: number
  /** How many of them were throttled. */
  readonly throttledFailures: number
  /** When the budget started, epoch milliseconds. */
  readonly startedAt: number
  /** The last backoff delay in milliseconds (decorrelated jitter grows from it). */
  readonly previousDelay: number
}

/**
 * The state before the first attempt, with the budget starting at `startedAt` (epoch milliseconds).
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * RetryPolicy.initialState(RetryPolicy.make(), 1_000).startedAt // 1000
 * ```
 *
 * @since 0.1.0
 * @category state
 */
export const initialState: (policy: RetryPolicy, startedAt: number) => RetryState = internal.initialState

/**
 * What to do after a failed attempt: retry after a delay (and why that delay), or stop (and why).
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 * import { Duration } from "effect"
 *
 * const describe = (d: RetryPolicy.Decision) =>
 *   d._tag === "Retry" ? `retry in ${Duration.format(d.delay)} (${d.source})` : `stop: ${d.reason}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | {
    readonly _tag: "Retry"
    /** How long to wait before the next attempt. */
    readonly delay: Duration.Duration
    /** Where the delay came from: a server header, or the backoff. */
    readonly source: ServerHint.Source | "backoff"
    /** What kind of failure is being retried. */
    readonly kind: StatusPolicy.RetryableOutcome
    /** Attempts made so far (the next one is `attempts + 1`). */
    readonly attempts: number
  }
  | {
    readonly _tag: "Stop"
    /** Why retrying stops. */
    readonly reason: StatusError.StopReason
    /** Attempts made. */
    readonly attempts: number
  }

/**
 * Decides what to do after a failed attempt; pure: the time and a random draw in [0, 1) are arguments.
 *
 * A server hint is waited until its instant plus a spread of `random * min(maxRetryAfterSpread, retryAfterSpread *
 * hint)`; without a hint, or with a hint of zero (which would allow a burst of instant re-sends), the backoff for
 * the failure's kind is used. The decision is made before any sleep: a
 * wait that would end past the budget stops the call instead.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/core"
 * import { Option } from "effect"
 *
 * const policy = RetryPolicy.make()
 * const error = Option.getOrThrow(
 *   StatusError.fromResponse({ status: 429, method: "GET", url: "/", headers: { "retry-after": "7" }, receivedAt: 0 })
 * )
 * const [decision] = RetryPolicy.decide(policy, RetryPolicy.initialState(policy, 0), error, 0, 0.5)
 * // { _tag: "Retry", delay: 7070 millis, source: "retry-after", kind: "throttled", attempts: 1 }
 * // 7070 ms: the 7 s hint plus a spread of 0.5 * min(1 s, 2% of 7 s)
 * ```
 *
 * @since 0.1.0
 * @category decisions
 */
export const decide: (
  policy: RetryPolicy,
  state: RetryState,
  error: unknown,
  now: number,
  random: number
) => readonly [Decision, RetryState] = internal.decide

const toPolicy = (policy: RetryPolicy | RetryOptions | undefined): RetryPolicy =>
  policy !== undefined && "transientBackoff" in policy ? policy : make(policy)

/**
 * The retry policy as a `Schedule` for `Effect.retry`: its output is the last decision. The budget starts at the
 * first failure (the schedule cannot see the first attempt start; `retry` can). When it stops, the last error
 * surfaces unchanged: a `TooManyRequests` whose hint was too long still carries the instant in `retryAfter`.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, StatusError.StatusError>
 * const resilient = Effect.retry(call, RetryPolicy.schedule({ maxAttempts: 5, maxRetryAfter: "1 minute" }))
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (policy?: RetryPolicy | RetryOptions): Schedule.Schedule<Decision, unknown> => {
  const resolved = toPolicy(policy)
  return Schedule.makeWithState<RetryState | undefined, unknown, Decision>(
    undefined,
    (now, error, current) =>
      Effect.map(Random.next, (random) => {
        const [decision, next] = internal.decide(
          resolved,
          current ?? internal.initialState(resolved, now),
          error,
          now,
          random
        )
        return [
          next,
          decision,
          decision._tag === "Retry"
            ? ScheduleDecision.continueWith(Interval.after(now + Duration.toMillis(decision.delay)))
            : ScheduleDecision.done
        ] as const
      })
  )
}

/**
 * Retries an effect under a retry policy. Unlike `Effect.retry` with `schedule`, the budget starts with the first
 * attempt, and a status error that ends the loop is returned with `attempts` and `stopReason` filled in.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * declare const call: Effect.Effect<string, StatusError.StatusError>
 * const resilient = call.pipe(RetryPolicy.retry({ budget: "10 seconds" }))
 * const handled = resilient.pipe(
 *   Effect.catchTag("TooManyRequests", (e) =>
 *     Effect.succeed(`gave up after ${e.attempts} attempts: ${Option.getOrElse(e.stopReason, () => "no reason")}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry: {
  (policy?: RetryPolicy | RetryOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, policy?: RetryPolicy | RetryOptions): Effect.Effect<A, E, R>
} = dual(
  (args) => Effect.isEffect(args[0]),
  <A, E, R>(self: Effect.Effect<A, E, R>, policy?: RetryPolicy | RetryOptions): Effect.Effect<A, E, R> => {
    const resolved = toPolicy(policy)
    const loop = (state: RetryState): Effect.Effect<A, E, R> =>
      Effect.catchAll(self, (error) =>
        Effect.flatMap(Effect.zip(Clock.currentTimeMillis, Random.next), ([now, random]) => {
          const [decision, next] = internal.decide(resolved, state, error, now, random)
          if (decision._tag === "Stop") {
            return Effect.fail(
              StatusError.isStatusError(error)
                ? StatusError.withStop(error, decision.attempts, decision.reason) as E
                : error
            )
          }
          return Effect.zipRight(Effect.sleep(decision.delay), loop(next))
        }))
    return Effect.flatMap(Clock.currentTimeMillis, (now) => loop(internal.initialState(resolved, now)))
  }
)
