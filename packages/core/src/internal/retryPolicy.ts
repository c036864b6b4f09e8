import * as Duration from "effect/Duration"
import type * as RetryPolicy from "../RetryPolicy.js"
import type * as StatusError from "../StatusError.js"
import * as engine from "@effect-retry/engine/RetryDecision"
import type * as serverHint from "./serverHint.js"
import * as statusError from "./statusError.js"

/** @internal */
export const initialState = (policy: RetryPolicy.RetryPolicy, startedAt: number): RetryPolicy.RetryState =>
  engine.initialState(policyOf(policy), startedAt)

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
  /**
   * A coordinator paces the next attempt to the rate it inferred from this failure (a throttle without a hint): the
   * retry is decided with no delay and waits for its turn there, with no backoff of its own. `withStatusRetry` sets it
   * from the coordinator's permit; set it only where something else holds the retry until its turn.
   */
  readonly paced?: boolean | undefined
}

/** @internal */
export const classifyError = (policy: RetryPolicy.RetryPolicy, error: unknown): Classified => {
  if (statusError.isStatusError(error)) {
    const hint = error.retryAfter
    return { kind: error.kind, hint: hint._tag === "Some" ? hint.value : undefined, resendable: true, stop: undefined }
  }
  return { kind: policy.classify(error), hint: undefined, resendable: true, stop: undefined }
}

const policies = new WeakMap<RetryPolicy.RetryPolicy, engine.Policy>()

/** The policy as the engine reads it: every duration in milliseconds (made once per policy). */
const policyOf = (policy: RetryPolicy.RetryPolicy): engine.Policy => {
  let made = policies.get(policy)
  if (made === undefined) {
    made = {
      maxAttempts: policy.maxAttempts,
      maxTransientAttempts: policy.maxTransientAttempts,
      timeout: policy.timeout,
      maxRetryAfter: Duration.toMillis(policy.maxRetryAfter),
      retryAfterSpread: policy.retryAfterSpread,
      maxRetryAfterSpread: policy.maxRetryAfterSpread,
      transientBackoff: policy.transientBackoff,
      throttledBackoff: policy.throttledBackoff
    }
    policies.set(policy, made)
  }
  return made
}

/** A failed attempt as the engine reads it: the hint's delay in milliseconds. */
const classifiedOf = (classified: Classified): engine.Classified<StatusError.StopReason> => {
  const hint = classified.hint
  return hint === undefined ? classified as engine.Classified<StatusError.StopReason> : {
    kind: classified.kind,
    hint: { source: hint.source, millis: Duration.toMillis(hint.delay), at: hint.at },
    resendable: classified.resendable,
    stop: classified.stop,
    paced: classified.paced
  }
}

/**
 * Whether the decision needs a backoff delay: a failure to retry with no pause asked by the server, and no
 * coordinator pacing the retry (a backoff `Schedule` of the policy is then not stepped: the pace takes its place).
 */
export const needsBackoff = (classified: Classified): boolean => engine.needsBackoff(classifiedOf(classified))

/**
 * The decision after a failed attempt, from what it was (`classified`), the time and a random draw in [0, 1): the
 * engine's, with its delay as a `Duration`.
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
  const [made, next] = engine.decide(policyOf(policy), state, classifiedOf(classified), now, random, backoffMillis)
  return [
    made._tag === "Retry" ? { ...made, delay: Duration.millis(made.delay) } : made,
    next
  ]
}
