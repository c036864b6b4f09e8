/**
 * Typed, correct HTTP retries for Effect 4.
 *
 * @since 0.1.0
 */

/**
 * Exponential backoff with jitter as an Effect 4 `Schedule`.
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * The coordinator `Layer`: concurrent calls to one origin share what its server said.
 *
 * @since 0.1.0
 */
export * as Coordinator from "./Coordinator.js"

/**
 * `Retry-After` as a `Duration`.
 *
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * The retry policy as an Effect 4 `Schedule` for `Effect.retry`.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * HTTP statuses as typed errors: one class per common status, in a `Retryable` and a `Permanent` union.
 *
 * @since 0.1.0
 */
export * as StatusError from "./StatusError.js"

/**
 * Which HTTP statuses are retried, and how.
 *
 * @since 0.1.0
 */
export * as StatusPolicy from "./StatusPolicy.js"

/**
 * The options, defaults and errors of `withStatusRetry`.
 *
 * @since 0.1.0
 */
export * as StatusRetry from "./StatusRetry.js"

export {
  /**
   * Retries the requests of an Effect 4 `HttpClient` by status, waiting what the server asks within a cap.
   *
   * @example
   * ```ts
   * import { withStatusRetry } from "@effect-retry/effect4"
   * import { Effect } from "effect"
   * import { HttpClient } from "effect/http"
   *
   * const client = Effect.map(HttpClient.HttpClient, withStatusRetry({ maxAttempts: 3 }))
   * ```
   *
   * @since 0.1.0
   * @category combinators
   */
  withStatusRetry
} from "./StatusRetry.js"
