/**
 * `withStatusRetry()`: typed, Retry-After aware retries for `@effect/platform`'s `HttpClient`.
 *
 * @since 0.1.0
 */

/**
 * `withStatusRetry()` and its options, types and metrics.
 *
 * @since 0.1.0
 */
export * as StatusRetry from "./StatusRetry.js"

/**
 * Makes a client retry failed calls on the status policy and the retry policy, and fail with typed status errors.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { withStatusRetry } from "@effect-retry/platform"
 * import { Effect } from "effect"
 *
 * const client = Effect.map(HttpClient.HttpClient, withStatusRetry({ maxAttempts: 3 }))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export { withStatusRetry } from "./StatusRetry.js"
