/**
 * The pure retry decision: after a failed attempt, retry after how many milliseconds, or stop and why, from the policy, the loop's state, the server's hint, the time and a random draw.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { RetryDecision } from "@effect-retry/engine"
 *
 * const backoff = { jitter: "none", baseDelay: 100, maxDelay: 10_000, factor: 2 } as const
 * const policy: RetryDecision.Policy = {
 *   maxAttempts: 3,
 *   maxTransientAttempts: 3,
 *   timeout: 30_000,
 *   maxRetryAfter: 60_000,
 *   retryAfterSpread: 0,
 *   maxRetryAfterSpread: 0,
 *   transientBackoff: backoff,
 *   throttledBackoff: backoff
 * }
 * const state = RetryDecision.initialState(policy, 0)
 * const failed = { kind: "transient", hint: undefined, resendable: true, stop: undefined } as const
 *
 * const [first, after] = RetryDecision.decide(policy, state, failed, 0, 0.5)
 * assert.deepStrictEqual(first, { _tag: "Retry", delay: 100, source: "backoff", kind: "transient", attempts: 1 })
 * const [second] = RetryDecision.decide(policy, after, { ...failed, resendable: false }, 100, 0.5)
 * assert.deepStrictEqual(second, { _tag: "Stop", reason: "unsafe-method", attempts: 2 })
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Decides one step of a retry loop on plain values: attempts, the call's timeout, the `maxRetryAfter` cap, jittered backoff and whether the request may be sent again.
 *
 * @example
 * ```ts
 * import { RetryDecision } from "@effect-retry/engine"
 *
 * const kind: RetryDecision.Kind = "throttled"
 * assert.strictEqual(kind, "throttled")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/retryDecision.js"
