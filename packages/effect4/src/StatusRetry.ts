/**
 * `withStatusRetry()`: one line that turns an Effect 4 `HttpClient` (`effect/http`) into one that retries what
 * should be retried, waits what the server asks (never longer than `maxRetryAfter`), re-sends only what is safe to
 * re-send, and fails with typed status errors.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as Coordinator from "./Coordinator.js"
import * as options from "./internal/options.js"
import * as internal from "./internal/statusRetry.js"
import type * as StatusError from "./StatusError.js"
import type * as StatusPolicy from "./StatusPolicy.js"

/**
 * Options of `withStatusRetry`; every one has a bounded default, all of them in `defaults`.
 *
 * @example
 * ```ts
 * import { StatusPolicy, type StatusRetry } from "@effect-retry/effect4"
 *
 * const options: StatusRetry.Options = {
 *   statusPolicy: StatusPolicy.make({ throttled: [429], transient: [404, 503] }),
 *   maxAttempts: 5,
 *   timeout: "20 seconds",
 *   backoff: { baseDelay: "200 millis", jitter: "equal" },
 *   attemptTimeout: "2 seconds",
 *   idempotencyKey: true,
 *   redact: { headers: ["x-session"], queryParams: ["session_id"] }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Which statuses are retried. Default: `StatusPolicy.defaultPolicy`. */
  readonly statusPolicy?: StatusPolicy.StatusPolicy
  /** Attempts in all, the first included. Default: 10. */
  readonly maxAttempts?: number
  /** Attempts that failed with a transient failure (a 503 without a hint, a reset connection). Default: 4. */
  readonly maxTransientAttempts?: number
  /** How long the whole call may take, waits included: a deadline no attempt or wait runs past. Default: 30 s. */
  readonly timeout?: Duration.Input
  /**
   * The longest wait a server may ask for (`Retry-After`, `Retry-After-Ms`, rate-limit reset): a longer one fails
   * at once with the error that carries the server's instant (stop reason "retry-after-too-long"). Default: 30 s.
   */
  readonly maxRetryAfter?: Duration.Input
  /** The spread added to a server's wait, as a fraction of it (0.02: 2 %). Default: 0.02. */
  readonly retryAfterSpread?: number
  /** The largest spread added to a server's wait. Default: 1 s. */
  readonly maxRetryAfterSpread?: Duration.Input
  /**
   * The backoff when the server gives no hint: `baseDelay` (transient failures, default 100 ms),
   * `throttledBaseDelay` (throttled ones, default 1 s), `maxDelay` (default 10 s) and `jitter` (default "full"),
   * doubled on each retry.
   */
  readonly backoff?: {
    readonly baseDelay?: Duration.Input
    readonly throttledBaseDelay?: Duration.Input
    readonly maxDelay?: Duration.Input
    readonly jitter?: "none" | "full" | "equal" | "decorrelated" | "proportional"
  }
  /** How long one attempt may take before it is cut and counts as a transient failure. Default: none. */
  readonly attemptTimeout?: Duration.Input
  /**
   * Methods that may be sent again once a request has left. Default: GET, HEAD, OPTIONS, TRACE, PUT, DELETE.
   * POST and PATCH are retried when the request carries an `Idempotency-Key` (and then a 409 is transient). A
   * failure that proves the request never left (connection refused, DNS) is retried for any method.
   */
  readonly methods?: Iterable<string>
  /** Adds an `Idempotency-Key` to POST and PATCH requests that have none, the same on every attempt. Default: false. */
  readonly idempotencyKey?: boolean | (() => string)
  /** The bytes of a failure's body kept, as text, on its status error (`body`); 0 keeps none. Default: 65536. */
  readonly body?: { readonly maxErrorSize?: number }
  /**
   * More header names or patterns, and query parameter names, whose values are redacted in the errors the client
   * writes; they add to the engine's default lists and to the names of `Headers.CurrentRedactedNames`.
   */
  readonly redact?: { readonly headers?: ReadonlyArray<string | RegExp>; readonly queryParams?: ReadonlyArray<string> }
  /** What an attempt's response or failure means, over the default; `undefined` keeps the default. */
  readonly classify?: (attempt: Attempt) => StatusPolicy.Outcome | undefined
}

/**
 * What `classify` is given: the response of an attempt (status and lower-case headers), or its failure.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const classify = (attempt: StatusRetry.Attempt) =>
 *   attempt._tag === "Response" && attempt.headers["x-error"] === "throttled" ? "throttled" as const : undefined
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Attempt =
  | { readonly _tag: "Response"; readonly status: number; readonly headers: Readonly<Record<string, string>> }
  | { readonly _tag: "Failure"; readonly error: unknown }

/**
 * The errors `withStatusRetry` adds to a client's own: the status errors, and an `HttpClientError` whose reason is a
 * `TransportError` for an attempt cut by `attemptTimeout` or the call's `timeout`, and the coordinator's `OriginHeld`
 * when it would hold a request past the call's timeout.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const describe = (e: StatusRetry.RetryError) => e._tag
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RetryError = StatusError.StatusError | HttpClientError.HttpClientError | Coordinator.OriginHeld

export {
  /**
   * Options that are not valid (a negative duration, an unknown jitter...), each problem in a sentence; thrown by
   * `withStatusRetry` when it is called, before any request.
   *
   * @example
   * ```ts
   * import { StatusRetry, withStatusRetry } from "@effect-retry/effect4"
   *
   * try {
   *   withStatusRetry({ maxAttempts: 0 })
   * } catch (e) {
   *   assert.ok(e instanceof StatusRetry.InvalidRetryOptions)
   *   assert.deepStrictEqual(e.problems, ["maxAttempts must be a whole number of at least 1, got 0"])
   * }
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  InvalidRetryOptions
} from "./internal/options.js"

/**
 * The default of every option of `withStatusRetry`.
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/effect4"
 *
 * assert.strictEqual(StatusRetry.defaults.maxAttempts, 10)
 * assert.strictEqual(StatusRetry.defaults.timeout, "30 seconds")
 * ```
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = options.defaults

/**
 * Retries the requests of an Effect 4 `HttpClient` by status: throttled and transient statuses and transport
 * failures are retried, waiting what the server asks (`Retry-After` as seconds or any HTTP-date, measured against
 * the response's `Date`; `Retry-After-Ms`; the rate-limit fields) but never more than `maxRetryAfter`, else a
 * jittered backoff; only requests safe to re-send are re-sent; failures end as typed status errors.
 *
 * @example
 * ```ts
 * import { withStatusRetry } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 *
 * const program = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ maxAttempts: 5, timeout: "10 seconds" }))
 *   const response = yield* client.get("https://api.test/items/1")
 *   return response.status
 * }).pipe(Effect.catchTag("NotFound", () => Effect.succeed(404)))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withStatusRetry: (
  options?: Options
) => <E, R>(client: HttpClient.HttpClient.With<E, R>) => HttpClient.HttpClient.With<E | RetryError, R> =
  internal.withStatusRetry
