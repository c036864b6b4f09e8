import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as backoff from "./backoff.js"
import type * as RetryPolicy from "../RetryPolicy.js"
import type * as StatusError from "../StatusError.js"
import { isStatusError } from "../StatusError.js"

/** @internal */
export const initialState = (policy: RetryPolicy.RetryPolicy, startedAt: number): RetryPolicy.RetryState => ({
  attempts: 0,
  transientFailures: 0,
  throttledFailures: 0,
  startedAt,
  previousDelay: policy.transientBackoff.baseDelay
})

const stop = (
  reason: StatusError.StopReason,
  state: RetryPolicy.RetryState,
  attempts: number
): readonly [RetryPolicy.Decision, RetryPolicy.RetryState] => [
  { _tag: "Stop", reason, attempts },
  { ...state, attempts }
]

/** @internal */
export const decide = (
  policy: RetryPolicy.RetryPolicy,
  state: RetryPolicy.RetryState,
  error: unknown,
  now: number,
  random: number
): readonly [RetryPolicy.Decision, RetryPolicy.RetryState] => {
  const attempts = state.attempts + 1
  const kind = isStatusError(error) ? error.kind : policy.classify(error)
  if (kind === undefined) return stop("not-retryable", state, attempts)
  if (kind === "permanent") return stop("permanent", state, attempts)
  const throttled = kind === "throttled"
  const transientFailures = state.transientFailures + (throttled ? 0 : 1)
  const throttledFailures = state.throttledFailures + (throttled ? 1 : 0)
  if (throttled ? throttledFailures >= policy.maxThrottledAttempts : transientFailures >= policy.maxAttempts) {
    return stop("attempts", state, attempts)
  }
  const remaining = policy.budget - (now - state.startedAt)
  // A hint of zero ("now", or a date already past) would allow a burst of instant re-sends: back off instead.
  const given = isStatusError(error) ? Option.getOrUndefined(error.retryAfter) : undefined
  const hint = given !== undefined && Duration.greaterThan(given.delay, Duration.zero) ? given : undefined
  let delay: number
  let previousDelay = state.previousDelay
  if (hint !== undefined) {
    if (Duration.greaterThan(hint.delay, policy.maxRetryAfter)) return stop("retry-after-too-long", state, attempts)
    const wait = Math.max(0, hint.at - now)
    if (wait > remaining) return stop("budget", state, attempts)
    const spread = Math.min(policy.maxRetryAfterSpread, policy.retryAfterSpread * Duration.toMillis(hint.delay))
    delay = wait + Math.min(random * spread, remaining - wait)
  } else {
    const options = throttled ? policy.throttledBackoff : policy.transientBackoff
    delay = backoff.delay(
      options.jitter,
      options.baseDelay,
      options.maxDelay,
      options.factor,
      (throttled ? throttledFailures : transientFailures) - 1,
      random,
      previousDelay
    )
    if (delay > remaining) return stop("budget", state, attempts)
    previousDelay = delay
  }
  return [
    { _tag: "Retry", delay: Duration.millis(delay), source: hint === undefined ? "backoff" : hint.source, kind, attempts },
    { attempts, transientFailures, throttledFailures, startedAt: state.startedAt, previousDelay }
  ]
}
