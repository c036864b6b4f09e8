import * as Duration from "effect/Duration"
import type * as RetryPolicy from "../RetryPolicy.js"
import type * as StatusError from "../StatusError.js"
import * as backoff from "./backoff.js"
import type * as serverHint from "./serverHint.js"
import * as statusError from "./statusError.js"

/** @internal */
export const initialState = (policy: RetryPolicy.RetryPolicy, startedAt: number): RetryPolicy.RetryState => ({
  attempts: 0,
  transientFailures: 0,
  throttledFailures: 0,
  startedAt,
  previousDelay: policy.transientBackoff.baseDelay
})

/**
 * What one failed attempt means for the retry loop, read once: everything the decision, the error and the
 * observers take from it.
 * @internal
 */
export interface Classified {
  /** What the policy made of it; undefined when it is not a failure the policy retries at all. */
  readonly kind: "throttled" | "transient" | "permanent" | undefined
  /** The server's hint, if any (a hint of zero is no pause). */
  readonly hint: serverHint.Hint | undefined
  /** Whether the request may be sent again. */
  readonly resendable: boolean
  /** A stop decided before the attempt was made (the coordinator held it): no attempt is counted. */
  readonly stop: StatusError.StopReason | undefined
}

/** @internal */
export const classifyError = (policy: RetryPolicy.RetryPolicy, error: unknown): Classified => {
  if (statusError.isStatusError(error)) {
    const hint = error.retryAfter
    return { kind: error.kind, hint: hint._tag === "Some" ? hint.value : undefined, resendable: true, stop: undefined }
  }
  return { kind: policy.classify(error), hint: undefined, resendable: true, stop: undefined }
}

/** A hint that asks for a pause: a hint of zero ("now", or a date already past) would allow a burst of re-sends. */
export const pause = (classified: Classified): serverHint.Hint | undefined => {
  const hint = classified.hint
  return hint !== undefined && Duration.greaterThan(hint.delay, Duration.zero) ? hint : undefined
}

/** Whether the decision needs a backoff delay: a failure to retry with no pause asked by the server. */
export const needsBackoff = (classified: Classified): boolean =>
  classified.stop === undefined && (classified.kind === "throttled" || classified.kind === "transient") &&
  pause(classified) === undefined

const stop = (
  reason: StatusError.StopReason,
  state: RetryPolicy.RetryState,
  attempts: number
): readonly [RetryPolicy.Decision, RetryPolicy.RetryState] => [
  { _tag: "Stop", reason, attempts },
  { ...state, attempts }
]

/**
 * The decision after a failed attempt, from what it was (`classified`), the time and a random draw in [0, 1).
 * `backoffMillis` is the delay of a backoff `Schedule` given in the policy, when `needsBackoff` (NaN when that
 * schedule is done); without one, the policy's own backoff is used.
 * @internal
 */
export const decide = (
  policy: RetryPolicy.RetryPolicy,
  state: RetryPolicy.RetryState,
  classified: Classified,
  now: number,
  random: number,
  backoffMillis?: number
): readonly [RetryPolicy.Decision, RetryPolicy.RetryState] => {
  if (classified.stop !== undefined) return stop(classified.stop, state, state.attempts)
  const attempts = state.attempts + 1
  const kind = classified.kind
  if (kind === undefined) return stop("not-retryable", state, attempts)
  if (kind === "permanent") return stop("permanent", state, attempts)
  const throttled = kind === "throttled"
  const transientFailures = state.transientFailures + (throttled ? 0 : 1)
  const throttledFailures = state.throttledFailures + (throttled ? 1 : 0)
  if (attempts >= policy.maxAttempts || (!throttled && transientFailures >= policy.maxTransientAttempts)) {
    return stop("attempts", state, attempts)
  }
  const remaining = policy.timeout - (now - state.startedAt)
  if (!(remaining > 0)) return stop("timeout", state, attempts)
  const hint = pause(classified)
  let delay: number
  let previousDelay = state.previousDelay
  if (hint !== undefined) {
    if (Duration.greaterThan(hint.delay, policy.maxRetryAfter)) return stop("retry-after-too-long", state, attempts)
    const wait = Math.max(0, hint.at - now)
    if (wait > remaining) return stop("timeout", state, attempts)
    const spread = Math.min(policy.maxRetryAfterSpread, policy.retryAfterSpread * Duration.toMillis(hint.delay))
    delay = wait + Math.min(random * spread, remaining - wait)
  } else if (backoffMillis !== undefined) {
    if (Number.isNaN(backoffMillis)) return stop("attempts", state, attempts)
    delay = backoffMillis
    if (delay > remaining) return stop("timeout", state, attempts)
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
    if (delay > remaining) return stop("timeout", state, attempts)
    previousDelay = delay
  }
  // Everything else allowed a retry: only now does it matter whether the request may leave again.
  if (!classified.resendable) return stop("unsafe-method", state, attempts)
  return [
    {
      _tag: "Retry",
      delay: Duration.millis(delay),
      source: hint === undefined ? "backoff" : hint.source,
      kind,
      attempts
    },
    { attempts, transientFailures, throttledFailures, startedAt: state.startedAt, previousDelay }
  ]
}
