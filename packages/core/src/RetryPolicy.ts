/**
 * The retry decision: wait what the server asks (plus a small spread) or a jittered backoff, stop at once on a
 * permanent failure, and give up within a number of attempts and a timeout for the whole call. Offered as a `Schedule` for
 * `Effect.retry` and as a `retry` combinator that also records why it gave up.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { dual } from "effect/Function"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as Interval from "effect/ScheduleInterval"
import type * as Backoff from "./Backoff.js"
import * as backoff from "./internal/backoff.js"
import * as invalid from "./internal/invalidOptions.js"
import * as options from "./internal/options.js"
import * as loop from "./internal/retryLoop.js"
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
 * The default of every retry option, in one place, in the shape of the options (the backoff's four settings under
 * `backoff`): the docs cite it, and `validate` fills in from it.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * RetryPolicy.defaults.maxAttempts // 10
 * RetryPolicy.defaults.timeout // "30 seconds"
 * RetryPolicy.defaults.backoff.baseDelay // "100 millis"
 * ```
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = {
  maxAttempts: 10,
  maxTransientAttempts: 4,
  timeout: "30 seconds",
  maxRetryAfter: "30 seconds",
  backoff: {
    baseDelay: "100 millis",
    throttledBaseDelay: "1 second",
    maxDelay: "10 seconds",
    jitter: "full"
  },
  retryAfterSpread: 0.02,
  maxRetryAfterSpread: "1 second"
} as const

/**
 * What `onRetry` is told before each retry.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 * import { Duration } from "effect"
 *
 * const line = (info: RetryPolicy.RetryInfo) =>
 *   `attempt ${info.attempt} failed (${info.kind}); next in ${Duration.format(info.delay)} (${info.source})`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryInfo {
  /** The number of the attempt that failed, from 1; the retry is attempt `attempt + 1`. */
  readonly attempt: number
  /** Why it failed: a status error, or the effect's own error. */
  readonly error: unknown
  /** How long the call waits before the retry. */
  readonly delay: Duration.Duration
  /**
   * Where the delay came from: a server header, the backoff, or the coordinator's pacing (a throttle without a
   * hint: the delay is 0 and the coordinator holds the retry until its turn).
   */
  readonly source: ServerHint.Source | "backoff" | "pacing"
  /** What kind of failure is retried. */
  readonly kind: StatusPolicy.RetryableOutcome
}

/**
 * The backoff used for the waits the server does not set: an exponential backoff from a base delay, doubled on
 * each failure of the same kind, capped, and jittered.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 *
 * const backoff: RetryPolicy.BackoffOptions = { baseDelay: "200 millis", maxDelay: "5 seconds", jitter: "equal" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** First backoff delay for transient failures. Default: see `defaults.backoff.baseDelay`. */
  readonly baseDelay?: Duration.DurationInput
  /**
   * First backoff delay when throttled without a server hint (a bare 429). Default: see
   * `defaults.backoff.throttledBaseDelay`.
   */
  readonly throttledBaseDelay?: Duration.DurationInput
  /** The longest backoff delay. Default: see `defaults.backoff.maxDelay`. */
  readonly maxDelay?: Duration.DurationInput
  /** How backoff delays are spread. Default: see `defaults.backoff.jitter`. */
  readonly jitter?: Backoff.Jitter
}

/**
 * Options of a retry policy; every one has a bounded default (see `defaults`), so no retry loop is ever infinite
 * by default.
 *
 * - attempts: `maxAttempts`, `maxTransientAttempts`;
 * - time: `timeout` (the whole call's deadline), `maxRetryAfter`;
 * - backoff: `backoff`, its settings (`baseDelay`, `throttledBaseDelay`, `maxDelay`, `jitter`) or any `Schedule`;
 * - server hints: `retryAfterSpread`, `maxRetryAfterSpread`;
 * - extension points: `classify`, `onRetry`.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 *
 * const options: RetryPolicy.RetryOptions = {
 *   maxAttempts: 5,
 *   timeout: "1 minute",
 *   maxRetryAfter: "20 seconds",
 *   backoff: { baseDelay: "200 millis", jitter: "full" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryOptions {
  /**
   * Every attempt a call may make, the first included, whatever failed (a call makes at most this many requests).
   * Default: see `defaults.maxAttempts`.
   */
  readonly maxAttempts?: number
  /**
   * Of those, how many may fail transiently (5xx, 408, transport errors): the server paces throttled attempts with
   * its hints, a transient failure has no such pacing. Default: see `defaults.maxTransientAttempts` (three
   * retries); `withStatusRetry` under a coordinator, whose retry budget guards the server, allows 10 (at most
   * `maxAttempts`) when it is not set.
   */
  readonly maxTransientAttempts?: number
  /**
   * The total time a call may take, from its first attempt (from its first failure for `schedule`): a deadline.
   * A wait that would end past it is not started: the call fails at once with reason `"timeout"`. At most
   * 2^31 - 1 ms. Default: see `defaults.timeout`.
   */
  readonly timeout?: Duration.DurationInput
  /**
   * The longest server-requested wait the call will honour; a longer one fails at once with reason
   * `"retry-after-too-long"`, and the error still carries the instant the server gave. Default: see
   * `defaults.maxRetryAfter`.
   */
  readonly maxRetryAfter?: Duration.DurationInput
  /**
   * The waits the server does not set: the settings of the exponential backoff, or any `Schedule`. A `Schedule` is
   * stepped by each failure with no server hint (its input is the failure), its delay is the wait, and when it is
   * done the call stops (reason `"attempts"`); the attempts, the timeout and the server's hints still apply.
   * Default: see `defaults.backoff`.
   */
  readonly backoff?: BackoffOptions | Schedule.Schedule<unknown, never>
  /**
   * After a server hint, a random extra wait of up to this fraction of the hint (capped by `maxRetryAfterSpread`),
   * so clients told the same instant do not all return at once: 0.02 is 20 ms on a 1 s hint, enough to break exact
   * ties, small enough to finish with the clients that wait the bare hint; for a herd of many clients, provide
   * `Coordinator.layer()` or raise it. Default: see `defaults.retryAfterSpread`.
   */
  readonly retryAfterSpread?: number
  /** The cap of that extra wait. Default: see `defaults.maxRetryAfterSpread`. */
  readonly maxRetryAfterSpread?: Duration.DurationInput
  /**
   * How to treat failures that are not status errors (status errors carry their own `kind`). Return `undefined`
   * to stop retrying. Default: none (they are not retried).
   */
  readonly classify?: (error: unknown) => StatusPolicy.RetryableOutcome | "permanent" | undefined
  /**
   * An effect run before each retry, once the decision is made and before the wait: the attempt that failed, its
   * error, the delay and where the delay came from. Default: none.
   */
  readonly onRetry?: (info: RetryInfo) => Effect.Effect<unknown>
}

/**
 * A checked retry policy, durations in milliseconds.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 *
 * const policy: RetryPolicy.RetryPolicy = RetryPolicy.make({ maxAttempts: 3 })
 * policy.timeout // 30000
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryPolicy {
  readonly maxAttempts: number
  readonly maxTransientAttempts: number
  /** The whole call's time, in milliseconds. */
  readonly timeout: number
  readonly maxRetryAfter: Duration.Duration
  readonly retryAfterSpread: number
  readonly maxRetryAfterSpread: number
  readonly transientBackoff: Backoff.Resolved
  readonly throttledBackoff: Backoff.Resolved
  readonly classify: (error: unknown) => StatusPolicy.RetryableOutcome | "permanent" | undefined
  /** The backoff `Schedule` given in the options, if any. */
  readonly backoff: Schedule.Schedule<unknown, never> | undefined
  readonly onRetry: ((info: RetryInfo) => Effect.Effect<unknown>) | undefined
}

const BACKOFF_OPTIONS: ReadonlySet<string> = new Set(["baseDelay", "throttledBaseDelay", "maxDelay", "jitter"])

/** The backoff settings given, or the problem with `backoff` when it is neither a `Schedule` nor settings. */
const backoffSettings = (problems: Array<string>, value: unknown): BackoffOptions => {
  if (value === undefined || Schedule.isSchedule(value)) return {}
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(
      `backoff must be a Schedule or { baseDelay, throttledBaseDelay, maxDelay, jitter }, got ${options.show(value)}`
    )
    return {}
  }
  for (const key of Object.keys(value)) {
    if (!BACKOFF_OPTIONS.has(key)) problems.push(`backoff.${key} is not a backoff option`)
  }
  return value as BackoffOptions
}

/**
 * Checks options and fills in defaults, returning every problem at once instead of throwing.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 * import { Either } from "effect"
 *
 * Either.isRight(RetryPolicy.validate({ timeout: "10 seconds" })) // true
 * Either.isLeft(RetryPolicy.validate({ timeout: Number.NaN })) // true
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const validate = (input: RetryOptions = {}): Either.Either<RetryPolicy, InvalidRetryOptions> => {
  const problems: Array<string> = []
  const maxAttempts = options.integer(problems, "maxAttempts", input.maxAttempts, defaults.maxAttempts, 1)
  const maxTransientAttempts = options.integer(
    problems,
    "maxTransientAttempts",
    input.maxTransientAttempts,
    defaults.maxTransientAttempts,
    1
  )
  const timeout = options.millis(problems, "timeout", input.timeout, defaults.timeout)
  if (timeout > options.MAX_TIMER_MILLIS) {
    problems.push(`timeout must be at most ${options.MAX_TIMER_MILLIS} ms, the longest timer JavaScript holds`)
  }
  const maxRetryAfter = options.millis(problems, "maxRetryAfter", input.maxRetryAfter, defaults.maxRetryAfter)
  const retryAfterSpread = options.number(
    problems,
    "retryAfterSpread",
    input.retryAfterSpread,
    defaults.retryAfterSpread,
    0,
    1
  )
  const maxRetryAfterSpread = options.millis(
    problems,
    "maxRetryAfterSpread",
    input.maxRetryAfterSpread,
    defaults.maxRetryAfterSpread
  )
  const given = backoffSettings(problems, input.backoff)
  const transientBackoff = backoff.resolveInto(
    problems,
    {
      factor: 2,
      baseDelay: given.baseDelay ?? defaults.backoff.baseDelay,
      maxDelay: given.maxDelay ?? defaults.backoff.maxDelay,
      jitter: given.jitter ?? defaults.backoff.jitter
    },
    "backoff."
  )
  const throttledBase = options.millis(
    problems,
    "backoff.throttledBaseDelay",
    given.throttledBaseDelay,
    defaults.backoff.throttledBaseDelay
  )
  // The same backoff from another base: nothing more to check than the base.
  const throttledBackoff: Backoff.Resolved = { ...transientBackoff, baseDelay: throttledBase }
  if (throttledBase === 0) problems.push("backoff.throttledBaseDelay must be more than zero")
  if (throttledBase > transientBackoff.maxDelay) {
    problems.push(
      `backoff.maxDelay (${transientBackoff.maxDelay} ms) must be at least backoff.throttledBaseDelay (${throttledBase} ms)`
    )
  }
  if (input.classify !== undefined && typeof input.classify !== "function") {
    problems.push(`classify must be a function, got ${options.show(input.classify)}`)
  }
  if (input.onRetry !== undefined && typeof input.onRetry !== "function") {
    problems.push(`onRetry must be a function returning an Effect, got ${options.show(input.onRetry)}`)
  }
  if (problems.length > 0) return Either.left(new InvalidRetryOptions({ problems }))
  return Either.right({
    maxAttempts,
    maxTransientAttempts,
    timeout,
    maxRetryAfter: Duration.millis(maxRetryAfter),
    retryAfterSpread,
    maxRetryAfterSpread,
    transientBackoff,
    throttledBackoff,
    classify: input.classify ?? (() => undefined),
    backoff: Schedule.isSchedule(input.backoff) ? input.backoff : undefined,
    onRetry: input.onRetry
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
 * const policy = RetryPolicy.make({ maxAttempts: 5, timeout: "1 minute" })
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
  /** When the call's timeout started, epoch milliseconds. */
  readonly startedAt: number
  /** The last backoff delay in milliseconds (decorrelated jitter grows from it). */
  readonly previousDelay: number
}

/**
 * The state before the first attempt, with the timeout starting at `startedAt` (epoch milliseconds).
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
    /**
     * Where the delay came from: a server header, the backoff, or the coordinator's pacing (a throttle without a
     * hint: the delay is 0 and the coordinator holds the retry until its turn).
     */
    readonly source: ServerHint.Source | "backoff" | "pacing"
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
 * wait that would end past the timeout stops the call instead.
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
export const decide = (
  policy: RetryPolicy,
  state: RetryState,
  error: unknown,
  now: number,
  random: number
): readonly [Decision, RetryState] => internal.decide(policy, state, internal.classifyError(policy, error), now, random)

const toPolicy = (policy: RetryPolicy | RetryOptions | undefined): RetryPolicy =>
  policy !== undefined && "transientBackoff" in policy ? policy : make(policy)

/**
 * The retry policy as a `Schedule` for `Effect.retry`: its output is the last decision. The timeout starts at the
 * first failure (the schedule cannot see the first attempt start; `retry` can). When it stops, the last error
 * surfaces unchanged: a `TooManyRequests` whose hint was too long still carries the instant in `retryAfter`.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * const resilient = Effect.retry(call, RetryPolicy.schedule({ maxAttempts: 5, maxRetryAfter: "1 minute" }))
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (policy?: RetryPolicy | RetryOptions): Schedule.Schedule<Decision, unknown> => {
  const resolved = toPolicy(policy)
  return Schedule.makeWithState<loop.State | undefined, unknown, Decision>(
    undefined,
    (now, error, current) =>
      Effect.map(
        loop.step(
          resolved,
          current ?? loop.initial(resolved, now),
          internal.classifyError(resolved, error),
          error,
          now
        ),
        ([decision, next]) =>
          [
            next,
            decision,
            decision._tag === "Retry"
              ? ScheduleDecision.continueWith(Interval.after(now + Duration.toMillis(decision.delay)))
              : ScheduleDecision.done
          ] as const
      )
  )
}

/**
 * Retries an effect under a retry policy. Unlike `Effect.retry` with `schedule`, the timeout starts with the first
 * attempt, and a status error that ends the loop is returned with `attempts` and `stopReason` filled in.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * const resilient = call.pipe(RetryPolicy.retry({ timeout: "10 seconds" }))
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
    return Effect.clockWith((clock) =>
      loop.run({
        policy: resolved,
        startedAt: clock.unsafeCurrentTimeMillis(),
        attempt: () => self,
        classify: (error) => internal.classifyError(resolved, error),
        stop: (decision, error) =>
          Effect.fail(
            StatusError.isStatusError(error)
              ? StatusError.withStop(error, decision.attempts, decision.reason) as E
              : error
          )
      })
    )
  }
)

/**
 * What one failed attempt means for the retry loop, read once: the kind of failure, the server's hint, whether the
 * request may be sent again, and a stop decided before the attempt ran. The decision, the typed error and the
 * observers all read it.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 *
 * const transient: RetryPolicy.Classification = { kind: "transient", hint: undefined, resendable: true, stop: undefined }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Classification extends internal.Classified {}

/**
 * How `drive` runs one call: the policy, the attempt, how a failure is classified, who observes a retry, and the
 * failure the call ends with.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/core"
 *
 * type CallDriver = RetryPolicy.Driver<string, Error, never>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Driver<A, E, R> extends loop.Loop<A, E, R> {}

/**
 * The retry loop every retry of this package runs through (`retry` and `withStatusRetry`): runs attempts until one
 * succeeds or the policy stops, deciding after each failure on its classification, observing each retry (then the
 * policy's `onRetry`) before its wait. A building block for integrating another client.
 *
 * @example
 * ```ts
 * import { RetryPolicy } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const send: Effect.Effect<string, Error> = Effect.succeed("ok")
 * const policy = RetryPolicy.make({ maxAttempts: 3 })
 * const call = RetryPolicy.drive({
 *   policy,
 *   startedAt: Date.now(),
 *   attempt: () => send,
 *   classify: () => ({ kind: "transient", hint: undefined, resendable: true, stop: undefined }),
 *   stop: (_, error) => Effect.fail(error)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const drive: <A, E, R>(driver: Driver<A, E, R>) => Effect.Effect<A, E, R> = loop.run
