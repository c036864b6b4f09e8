/**
 * Typed, correct HTTP retries for Effect 4.
 *
 * @since 0.1.0
 */

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
