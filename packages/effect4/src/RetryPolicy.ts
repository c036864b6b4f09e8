/**
 * The retry policy as an Effect 4 `Schedule` for `Effect.retry`: the engine's decision on each failure, which waits
 * what a status error's server asked (never past `maxRetryAfter`), else backs off, and stops on the attempts, the
 * call's `timeout`, or a permanent status.
 *
 * @since 0.1.0
 */
import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as decision from "./internal/decide.js"
import * as options from "./internal/options.js"
import * as RetryLoop from "./internal/retryLoop.js"
import * as statusErrors from "./internal/statusError.js"
import * as StatusError from "./StatusError.js"

/**
 * Options of the policy: those of `withStatusRetry` that are about retrying, plus how a failure that is not a
 * status error is retried (default: it is not).
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/effect4"
 *
 * const options: RetryPolicy.Options = { maxAttempts: 4, timeout: "10 seconds", classify: () => "transient" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends options.RetryOptions {
  /** How a failure that is not a status error is retried; `undefined` does not retry it. */
  readonly classify?: (error: unknown) => "throttled" | "transient" | "permanent" | undefined
  /**
   * An Effect run by `retry` before each retry's wait, given the attempt that failed, its error, the delay and where
   * the delay came from (`schedule` does not run it: a `Schedule` has no such step). Default: none.
   */
  readonly onRetry?: (info: RetryInfo) => Effect.Effect<unknown>
}

/**
 * What the `onRetry` option of `withStatusRetry` and `RetryPolicy.retry` is told before each retry.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/effect4"
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
  /** Why it failed: a status error, or the client's own error. */
  readonly error: unknown
  /** How long the call waits before the retry. */
  readonly delay: Duration.Duration
  /**
   * Where the delay came from: a server header, the backoff, or the coordinator's pacing (a throttle without a
   * hint: the delay is 0 and the coordinator holds the retry until its turn).
   */
  readonly source: "backoff" | "pacing" | StatusError.Hint["source"]
  /** What kind of failure is retried. */
  readonly kind: "throttled" | "transient"
}

/**
 * One step of the policy: retry after `delay`, or stop and why.
 *
 * @example
 * ```ts
 * import type { RetryPolicy } from "@effect-retry/effect4"
 *
 * const describe = (d: RetryPolicy.Decision) => d._tag === "Retry" ? `wait (${d.source})` : `stop: ${d.reason}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Decision =
  | {
    readonly _tag: "Retry"
    readonly delay: Duration.Duration
    /**
     * Where the delay came from: a server header, the backoff, or the coordinator's pacing (a throttle without a
     * hint: the delay is 0 and the coordinator holds the retry until its turn).
     */
    readonly source: "backoff" | "pacing" | StatusError.Hint["source"]
    readonly kind: "throttled" | "transient"
    readonly attempts: number
  }
  | { readonly _tag: "Stop"; readonly reason: StatusError.StopReason; readonly attempts: number }

/**
 * The policy as a `Schedule` over the failures of `Effect.retry`; it ends with the stop, and the call with its
 * last error. The `timeout` counts from the first failure.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/effect4"
 * import { Effect, Option } from "effect"
 *
 * let sent = 0
 * const call = Effect.suspend(() => {
 *   sent++
 *   const answer = { status: 503, method: "GET", url: "https://api.test/", headers: {} }
 *   return sent < 3 ? Effect.fail(Option.getOrThrow(StatusError.fromResponse(answer))) : Effect.succeed("ok")
 * })
 * const backoff = { baseDelay: "1 millis", throttledBaseDelay: "1 millis", maxDelay: "2 millis" } as const
 * const result = Effect.runPromise(call.pipe(Effect.retry(RetryPolicy.schedule({ backoff }))))
 * result.then((value) => assert.deepStrictEqual([value, sent], ["ok", 3]))
 * ```
 *
 * @since 0.1.0
 * @category schedules
 */
export const schedule = (input?: Options): Schedule.Schedule<Decision> => {
  const policy = options.policyOf(input)
  const classified = classifier(input)
  const backoff = options.scheduleOf(input ?? {})
  return Schedule.fromStep(Effect.sync(() => {
    let state: RetryDecision.State | undefined
    const decide = decision.decider(policy, backoff)
    return (now: number, error: unknown) =>
      Effect.flatMap(
        decide(state ?? RetryDecision.initialState(policy, now), classified(error), error, now),
        ([made, next]) => {
          state = next
          if (made._tag === "Stop") return Cause.done(made as Decision)
          const delay = Duration.millis(made.delay)
          return Effect.succeed<[Decision, Duration.Duration]>([{ ...made, delay }, delay])
        }
      )
  }))
}

/** What a failure means to the policy: a status error says it itself; any other, the `classify` option. */
const classifier = (input: Options | undefined) => {
  const classify = input?.classify
  return (error: unknown): RetryDecision.Classified => {
    if (StatusError.isStatusError(error)) return statusErrors.classified(error, true)
    return { kind: classify?.(error), hint: undefined, resendable: true, stop: undefined }
  }
}

/**
 * Retries an effect under the policy. Unlike `Effect.retry` with `schedule`, the `timeout` counts from the first
 * attempt, `onRetry` runs before each wait, and a status error that ends the call carries its `attempts` and
 * `stopReason`.
 *
 * @example
 * ```ts
 * import { RetryPolicy, StatusError } from "@effect-retry/effect4"
 * import { Effect, Option } from "effect"
 *
 * const answer = { status: 503, method: "GET", url: "https://api.test/", headers: {} }
 * const call = Effect.fail(Option.getOrThrow(StatusError.fromResponse(answer)))
 * const backoff = { baseDelay: "1 millis", throttledBaseDelay: "1 millis", maxDelay: "2 millis" } as const
 * const stopped = call.pipe(RetryPolicy.retry({ maxAttempts: 3, backoff }), Effect.flip)
 * Effect.runPromise(stopped).then((error) =>
 *   assert.deepStrictEqual([error.attempts, Option.getOrThrow(error.stopReason)], [3, "attempts"])
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retry: {
  (input?: Options): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, input?: Options): Effect.Effect<A, E, R>
} =
  (<A, E, R>(first?: Effect.Effect<A, E, R> | Options, second?: Options) =>
    Effect.isEffect(first) ? retrying(second)(first) : retrying(first)) as typeof retry

/** The policy of `input`, checked now (a bad option throws where it is written), applied to any effect. */
const retrying = (input: Options | undefined) => {
  const policy = options.policyOf(input)
  options.checkOnRetry(input?.onRetry)
  const classified = classifier(input)
  const backoff = options.scheduleOf(input ?? {})
  const onRetry = input?.onRetry
  return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.flatMap(Clock.currentTimeMillis, (startedAt) =>
      RetryLoop.run<A, E, R, never>({
        policy,
        backoff,
        startedAt,
        attempt: () => self,
        classify: classified,
        onRetry,
        stop: (made, error) =>
          Effect.fail(
            StatusError.isStatusError(error) ? StatusError.withStop(error, made.attempts, made.reason) as E : error
          )
      }))
}
