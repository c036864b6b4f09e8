/**
 * `withStatusRetry()`: one line that turns an Effect 4 `HttpClient` (`effect/http`) into one that retries what
 * should be retried, waits what the server asks (never longer than `maxRetryAfter`), re-sends only what is safe to
 * re-send, and fails with typed status errors.
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as HttpClient from "effect/http/HttpClient"
import type * as HttpClientError from "effect/http/HttpClientError"
import type * as Metric from "effect/Metric"
import type * as Schedule from "effect/Schedule"
import type * as Coordinator from "./Coordinator.js"
import * as options from "./internal/options.js"
import * as internal from "./internal/statusRetry.js"
import type * as RetryPolicy from "./RetryPolicy.js"
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
 *   body: { read: true, maxSize: 256 * 1024, maxErrorSize: 16 * 1024 },
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
  /**
   * Attempts that failed with a transient failure (a 503 without a hint, a reset connection). Default: 4; 10 (at most
   * `maxAttempts`) under a coordinator, whose retry budget guards the server.
   */
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
   * The waits the server does not set: the settings of the exponential backoff (`baseDelay` for transient failures,
   * default 100 ms; `throttledBaseDelay` for throttled ones, default 1 s; `maxDelay`, default 10 s; `jitter`, default
   * "full"; doubled on each retry), or any `Schedule`. A `Schedule` is stepped by each failure with no server hint
   * (its input is the failure), its delay is the wait, and when it is done the call stops (reason "attempts"); the
   * attempts, the timeout and the server's hints still apply.
   */
  readonly backoff?: BackoffOptions | Schedule.Schedule<unknown, never>
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
  /**
   * How response bodies are read: successful ones (`read`, `maxSize`) and those of failures (`maxErrorSize`).
   * Default: see `defaults.body`.
   */
  readonly body?: BodyOptions
  /**
   * What is redacted, beyond the engine's default lists and the names of `Headers.CurrentRedactedNames`, in the
   * errors, log lines and spans the client writes. Default: see `defaults.redact` (nothing more).
   */
  readonly redact?: RedactOptions
  /** What an attempt's response or failure means, over the default; `undefined` keeps the default. */
  readonly classify?: (attempt: Attempt) => StatusPolicy.Outcome | undefined
  /**
   * An Effect run before each retry's wait, given the attempt that failed, its error, the delay and where the delay
   * came from; the retry waits for it. Default: none.
   */
  readonly onRetry?: (info: RetryPolicy.RetryInfo) => Effect.Effect<unknown>
}

/**
 * The settings of the exponential backoff used when the server gives no hint: the `backoff` option.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const backoff: StatusRetry.BackoffOptions = { baseDelay: "200 millis", maxDelay: "5 seconds", jitter: "equal" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BackoffOptions {
  /** The first delay for transient failures. Default: see `defaults.backoff.baseDelay` (100 ms). */
  readonly baseDelay?: Duration.Input
  /** The first delay when throttled without a hint (a bare 429). Default: see `defaults.backoff.throttledBaseDelay`. */
  readonly throttledBaseDelay?: Duration.Input
  /** The longest delay. Default: see `defaults.backoff.maxDelay` (10 s). */
  readonly maxDelay?: Duration.Input
  /** How delays are spread. Default: see `defaults.backoff.jitter` ("full"). */
  readonly jitter?: "none" | "full" | "equal" | "decorrelated" | "proportional"
}

/**
 * How `withStatusRetry` reads response bodies: the `body` option.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const body: StatusRetry.BodyOptions = { read: true, maxSize: 256 * 1024, maxErrorSize: 0 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface BodyOptions {
  /**
   * Reads the whole body of successful responses inside the retry, so a body that breaks mid-read (a connection
   * reset after the headers) is retried like any transient failure. The read counts in the attempt: the attempt
   * timeout and the call's timeout cut a body that never ends. It costs a buffered body: the response is held in
   * memory and cannot be streamed. Use it for small JSON bodies of idempotent calls, not for downloads.
   * Default: see `defaults.body.read` (false).
   */
  readonly read?: boolean
  /**
   * Under `read`, the largest body read, in bytes: a larger one (by its Content-Length, or once that many bytes have
   * come) stops the read and fails with `BodyTooLarge`, which is not retried. `Infinity` for no cap. Default: see
   * `defaults.body.maxSize` (4 MiB).
   */
  readonly maxSize?: number
  /**
   * The first bytes of a failure's body kept, as text, on its status error (`body`), so a handler can decode it
   * (with `Schema`); the rest is read and dropped, for at most a second. 0 keeps none. An event stream's body is
   * never read. The library writes the body to no log line and no span. The body is kept on the error the call fails
   * with, and on every error an `onRetry` hook or a backoff `Schedule` is given; a failure retried out of their sight
   * only has its body drained, in the background, while the retry waits. Default: see `defaults.body.maxErrorSize`
   * (64 KiB).
   */
  readonly maxErrorSize?: number
}

/**
 * What `withStatusRetry` redacts beyond the defaults: the `redact` option.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const redact: StatusRetry.RedactOptions = { headers: ["x-session", /^x-internal-/], queryParams: ["session"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedactOptions {
  /** More header names (any case) or patterns whose values are redacted. Default: none. */
  readonly headers?: ReadonlyArray<string | RegExp>
  /** More query parameter names (any case) whose values are redacted in the URLs the client writes. Default: none. */
  readonly queryParams?: ReadonlyArray<string>
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
 * The errors `withStatusRetry` adds to a client's own: the status errors, an `HttpClientError` whose reason is a
 * `TransportError` for an attempt cut by `attemptTimeout` or the call's `timeout`, `BodyTooLarge` past
 * `body.maxSize`, and the coordinator's `OriginHeld` when it would hold a request past the call's timeout.
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
export type RetryError =
  | StatusError.StatusError
  | HttpClientError.HttpClientError
  | internal.BodyTooLarge
  | Coordinator.OriginHeld

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
 * assert.strictEqual(StatusRetry.defaults.body.maxErrorSize, 65536)
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
 * - a redirect with `Retry-After` (a `307` during maintenance) is handed back once its instant has come (RFC 9110
 *   section 10.2.3): apply `HttpClient.followRedirects` after `withStatusRetry` and it is followed no sooner; a wait
 *   past `maxRetryAfter` or the call's `timeout` fails at once with a `RetryableStatus`;
 * - a `filterStatusOk` below it changes nothing: its error for a failure status is classified like the response;
 * - each attempt is the client's own span, a resend carries `http.request.resend_count`, each retry and each stop
 *   is logged at debug level (its URL redacted), and the `retries` and `giveUps` metrics count them;
 * - an error of the client below (a `TransportError` carrying the request) is returned with its request redacted:
 *   no URL password, secret query value, credential header or body.
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

export {
  /**
   * Under `body.read`, a body larger than `body.maxSize`: the read stopped there. Not retried.
   *
   * @example
   * ```ts
   * import { withStatusRetry } from "@effect-retry/effect4"
   * import { Effect } from "effect"
   * import { HttpClient } from "effect/http"
   *
   * const small = Effect.gen(function*() {
   *   const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry({ body: { read: true, maxSize: 64 * 1024 } }))
   *   return yield* client.get("https://api.test/items").pipe(
   *     Effect.flatMap((response) => response.text),
   *     Effect.catchTag("BodyTooLarge", (e) => Effect.succeed(`over ${e.maxSize} bytes`))
   *   )
   * })
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  BodyTooLarge
} from "./internal/statusRetry.js"

/**
 * Counts retries, tagged `kind` (throttled, transient) and `source` (the header the delay came from, backoff, or pacing):
 * `http_client_retries_total`, as on the Effect 3 line.
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/effect4"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.map(Metric.value(StatusRetry.retries), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries: Metric.Counter<number> = internal.retries

/**
 * Counts calls that stopped retrying, tagged `reason` (permanent, attempts, timeout, retry-after-too-long,
 * unsafe-method, retry-budget, not-retryable): `http_client_retry_give_ups_total`, as on the Effect 3 line.
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/effect4"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.map(Metric.value(StatusRetry.giveUps), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const giveUps: Metric.Counter<number> = internal.giveUps

/**
 * The options one call may override: those of `Options` that say what the call does, not how its requests are built
 * (`idempotencyKey`) or what is redacted (`redact`).
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/effect4"
 *
 * const strict: StatusRetry.CallOptions = { maxAttempts: 2, timeout: "2 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CallOptions = Omit<Options, "idempotencyKey" | "redact">

/**
 * Runs an effect with its own retry settings: every call that a `withStatusRetry` client makes inside it reads these
 * options over the client's own (a group, `backoff` settings or `body`, adds to the client's key by key; an override
 * inside another one adds to it). Bad options throw `InvalidRetryOptions` where the override is written.
 *
 * @example
 * ```ts
 * import { StatusRetry, withStatusRetry } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 *
 * const health = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
 *   // A health check should answer fast or not at all.
 *   return yield* client.get("https://api.test/health").pipe(
 *     StatusRetry.withOptions({ maxAttempts: 2, timeout: "2 seconds" })
 *   )
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withOptions: {
  (options: CallOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, options: CallOptions): Effect.Effect<A, E, R>
} = internal.withOptions

/**
 * Runs an effect with retries turned off: every call that a `withStatusRetry` client makes inside it is sent once,
 * and fails with its typed error (`stopReason: "attempts"` for a failure that would have been retried).
 *
 * @example
 * ```ts
 * import { StatusRetry, withStatusRetry } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 * import { HttpClient } from "effect/http"
 *
 * const once = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
 *   return yield* client.get("https://api.test/items").pipe(StatusRetry.disabled)
 * })
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const disabled: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = internal.disabled
