/**
 * `withStatusRetry()`: one line that turns an `@effect/platform` `HttpClient` into one that retries what should be
 * retried, waits what the server asks, and fails with the typed errors of `@effect-retry/core`.
 *
 * @since 0.1.0
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as Coordinator from "@effect-retry/core/Coordinator"
import type * as RetryPolicy from "@effect-retry/core/RetryPolicy"
import type * as StatusError from "@effect-retry/core/StatusError"
import type * as StatusPolicy from "@effect-retry/core/StatusPolicy"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Metric from "effect/Metric"
import * as internal from "./internal/statusRetry.js"

/**
 * Options of `withStatusRetry`; every one has a bounded default, all of them in `defaults`.
 *
 * The retry options (attempts, `timeout`, `backoff` settings or a backoff `Schedule`, server-hint spread, `onRetry`)
 * are those of `RetryPolicy.RetryOptions`; this adds which statuses are retried, what may be re-sent, how long one
 * attempt may take (`attemptTimeout`), how bodies are read (`body`), and what is redacted (`redact`).
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 * import type { StatusRetry } from "@effect-retry/platform"
 *
 * const options: StatusRetry.Options = {
 *   statusPolicy: StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404])),
 *   maxAttempts: 5,
 *   timeout: "20 seconds",
 *   attemptTimeout: "2 seconds",
 *   backoff: { baseDelay: "200 millis" },
 *   body: { maxErrorSize: 16 * 1024 },
 *   redact: { headers: ["x-session"] },
 *   idempotencyKey: true
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Omit<RetryPolicy.RetryOptions, "classify"> {
  /** Which statuses are retried. Default: see `defaults.statusPolicy` (the status table). */
  readonly statusPolicy?: StatusPolicy.StatusPolicy
  /**
   * How long one attempt may take, its body included under `body.read`, before it is cut and counts as a transient
   * failure (a `RequestError` with reason "Transport"), so a hung server costs one attempt, not the whole call.
   * Every attempt is bounded by the call's `timeout` anyway (the deadline of the whole call); this bound costs
   * nothing more. It is off by default because a slow but valid answer to a request that cannot be re-sent (a POST)
   * would be lost: set it (10 seconds is a good start) for calls whose answers come fast. Default: see
   * `defaults.attemptTimeout` (none).
   */
  readonly attemptTimeout?: Duration.DurationInput
  /**
   * Methods that may be sent again once a request has left. Default: see `defaults.methods` (the idempotent methods
   * of RFC 9110 section 9.2.2). POST and PATCH are also retried when the request carries an `Idempotency-Key` header
   * (and then a 409, "same key still in flight", is transient). A failure that proves the request never left
   * (connection refused, DNS) is retried for any method.
   */
  readonly methods?: ReadonlyArray<string> | ReadonlySet<string>
  /**
   * Adds an `Idempotency-Key` header to POST and PATCH requests that have none, one per logical call, the same on
   * every attempt: `true` for a random UUID, or a function that makes a key. Default: see `defaults.idempotencyKey`.
   */
  readonly idempotencyKey?: boolean | (() => string)
  /**
   * How response bodies are read: successful ones (`read`, `maxSize`) and those of failures (`maxErrorSize`).
   * Default: see `defaults.body`.
   */
  readonly body?: BodyOptions
  /**
   * The one extension point of the classification: what an attempt's response (any status, before its body is read)
   * or failure means. Return an outcome to decide it (`"success"` hands a response back as it is), or `undefined`
   * for the default (`statusPolicy` for a response; a transport failure or an attempt cut is transient, and a failure
   * this package does not know is not retried). What it decides is what the error's `kind`, the retry decision and
   * the metrics read. Default: none.
   */
  readonly classify?: (attempt: Attempt) => StatusPolicy.Outcome | undefined
  /**
   * What is redacted, beyond `Redaction`'s defaults, in the errors, log lines and spans the client writes. Default:
   * see `defaults.redact`.
   */
  readonly redact?: RedactOptions
}

/**
 * How `withStatusRetry` reads response bodies: the `body` option.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/platform"
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
   * Default: see `defaults.body.read`.
   */
  readonly read?: boolean
  /**
   * Under `read`, the largest body read, in bytes: a larger one (by its Content-Length, or once that many bytes have
   * come) stops the read, aborts the request and fails with `BodyTooLarge`, which is not retried. `Infinity` for no
   * cap. Default: see `defaults.body.maxSize` (4 MiB).
   */
  readonly maxSize?: number
  /**
   * The first bytes of a failure's body kept, as text, on its status error (`body`), so a handler can decode it;
   * the rest is read and dropped. 0 keeps none. An event stream's body is never read. The library writes the body
   * to no log line and no span. The body is kept on the error the call fails with, and on every error an `onRetry`
   * hook or a backoff `Schedule` is given; a failure retried out of their sight only has its body drained, in the
   * background, while the retry waits. Default: see `defaults.body.maxErrorSize` (64 KiB).
   */
  readonly maxErrorSize?: number
}

/**
 * What `withStatusRetry` redacts beyond the defaults: the `redact` option.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/platform"
 *
 * const redact: StatusRetry.RedactOptions = { headers: ["x-session", /^x-internal-/], queryParams: ["session"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RedactOptions {
  /**
   * More header names (any case) or patterns whose values are redacted in the errors, log lines and spans the
   * client writes; they add to `Redaction.defaultHeaders` (authorization, cookie, set-cookie, x-api-key,
   * x-amz-security-token...) and to the names of `@effect/platform`'s `Headers.currentRedactedNames`. Default: see
   * `defaults.redact.headers` (none).
   */
  readonly headers?: ReadonlyArray<string | RegExp>
  /**
   * More query parameter names (any case) whose values are redacted in the URLs the client writes; they add to
   * `Redaction.defaultQueryParams` (token, access_token, sig, X-Amz-Signature...). Default: see
   * `defaults.redact.queryParams` (none).
   */
  readonly queryParams?: ReadonlyArray<string>
}

/**
 * What `classify` is given: the response of an attempt (status and lower-case headers), or its failure.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/platform"
 *
 * // An API that answers 200 with `x-error: throttled` when it is overloaded.
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
 * The default of every option of `withStatusRetry`, in one place and in the shape of the options: those of
 * `RetryPolicy.defaults` and the client's own (no `attemptTimeout`, the idempotent methods, no generated key, no
 * body read, 4 MiB under `body.read`, 64 KiB of a failure's body, nothing redacted beyond `Redaction`'s defaults).
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/platform"
 *
 * StatusRetry.defaults.maxAttempts // 10
 * StatusRetry.defaults.body.maxErrorSize // 65536
 * StatusRetry.defaults.methods // ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]
 * ```
 *
 * @since 0.1.0
 * @category defaults
 */
export const defaults = internal.defaults

export {
  /**
   * Under `body.read`, a body larger than `body.maxSize`: the read stopped there and the request was aborted. Not retried.
   *
   * @example
   * ```ts
   * import { HttpClient } from "@effect/platform"
   * import { withStatusRetry } from "@effect-retry/platform"
   * import { Effect } from "effect"
   *
   * const body = Effect.gen(function*() {
   *   const client = yield* HttpClient.HttpClient
   *   const small = client.pipe(withStatusRetry({ body: { read: true, maxSize: 64 * 1024 } }))
   *   return yield* small.get("https://api.test/items").pipe(
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
 * The errors `withStatusRetry` adds to a client's own: the status errors, a `RequestError` for an attempt cut by
 * `attemptTimeout` or by the call's `timeout`, a `ResponseError` for a body that broke under `body.read`,
 * `BodyTooLarge` past `body.maxSize`, and `OriginHeld` when the coordinator holds the origin past the call's deadline.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/platform"
 *
 * const describe = (e: StatusRetry.RetryError): string => e._tag
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RetryError =
  | StatusError.StatusError
  | HttpClientError.RequestError
  | HttpClientError.ResponseError
  | internal.BodyTooLarge
  | Coordinator.OriginHeld

/**
 * The client `withStatusRetry` returns: the same client, with the status errors (and per-attempt timeouts) added
 * to its error type.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { type StatusRetry, withStatusRetry } from "@effect-retry/platform"
 * import { Effect } from "effect"
 *
 * const client = Effect.map(
 *   HttpClient.HttpClient,
 *   (http): StatusRetry.Retrying<HttpClient.HttpClient> => http.pipe(withStatusRetry())
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Retrying<Client> = Client extends HttpClient.HttpClient.With<infer E, infer R> ? HttpClient.HttpClient.With<
    E | RetryError,
    R
  >
  : never

/**
 * Makes a client retry failed calls on the status policy and the retry policy, and fail with typed status errors.
 *
 * - statuses below 400 pass through untouched, except a redirect with `Retry-After` (a `307` during maintenance),
 *   handed back once its instant has come (RFC 9110 section 10.2.3): apply `HttpClient.followRedirects` after
 *   `withStatusRetry` and the redirect is followed no sooner; a wait past `maxRetryAfter` or the call's `timeout` fails at once
 *   with a `RetryableStatus`;
 * - a permanent status fails at once with its error (`NotFound`...);
 * - a `filterStatusOk` below it changes nothing: its `ResponseError` for a failure status is classified like the
 *   response; a `withStatusRetry` below it is left to send once (the configuration applied last wins);
 * - a retryable one is retried after the server's hint (`Retry-After`, rate-limit headers, plus a small spread) or
 *   a jittered backoff; transport failures and attempt timeouts are retried like transient statuses;
 * - only requests safe to send twice are re-sent (see `methods`); a one-shot stream body is never re-sent;
 * - a discarded response's body is drained, so retries never leak connections;
 * - when it gives up, the last status error surfaces with `attempts` and `stopReason`;
 * - each attempt is its own client span, resends carry `http.request.resend_count`, each decision is logged at
 *   debug level, and the `retries` and `giveUps` metrics count them.
 *
 * Bad options throw `InvalidRetryOptions` here, when the client is built, not at the first request.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { withStatusRetry } from "@effect-retry/platform"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const client = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
 *   const response = yield* client.get("https://api.example.com/items")
 *   return yield* response.json
 * }).pipe(
 *   Effect.catchTag("TooManyRequests", (e) => Effect.succeed(`rate-limited, gave up after ${e.attempts} attempts`)),
 *   Effect.catchTag("NotFound", () => Effect.succeed(null))
 * )
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withStatusRetry: (
  options?: Options
) => <E, R>(
  self: HttpClient.HttpClient.With<E, R>
) => HttpClient.HttpClient.With<
  E | RetryError,
  R
> = internal.make

/**
 * Counts retries, tagged `kind` (throttled, transient) and `source` (the header the delay came from, backoff, or
 * pacing: a coordinator paces the retry).
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/platform"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.map(Metric.value(StatusRetry.retries), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const retries: Metric.Metric.Counter<number> = internal.retries

/**
 * Counts calls that stopped retrying, tagged `reason` (permanent, attempts, timeout, retry-after-too-long,
 * unsafe-method, retry-budget, not-retryable).
 *
 * @example
 * ```ts
 * import { StatusRetry } from "@effect-retry/platform"
 * import { Effect, Metric } from "effect"
 *
 * const report = Effect.map(Metric.value(StatusRetry.giveUps), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const giveUps: Metric.Metric.Counter<number> = internal.giveUps

/**
 * The options one call may override: those of `Options` that say what the call does, not how its requests are built
 * (`idempotencyKey`) or what is redacted.
 *
 * @example
 * ```ts
 * import type { StatusRetry } from "@effect-retry/platform"
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
 * options over the client's own (an override inside another one adds to it). Bad options throw
 * `InvalidRetryOptions` where the override is written.
 *
 * A combinator over the effect rather than a request annotation: it reads as the rest of Effect's scoped settings
 * (`Effect.withSpan`, `Effect.withLogSpan`), works with the `client.get(url)` shorthands, covers a block of calls
 * as well as one, and nothing of it is sent to the server.
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { StatusRetry, withStatusRetry } from "@effect-retry/platform"
 * import { Effect } from "effect"
 *
 * const health = Effect.gen(function*() {
 *   const retrying = (yield* HttpClient.HttpClient).pipe(withStatusRetry())
 *   // A health check should answer fast or not at all.
 *   return yield* retrying.get("https://api.test/health").pipe(
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
} = function(this: unknown) {
  if (arguments.length >= 2) return internal.withOptions(arguments[0], internal.makeOverride(arguments[1]))
  // Checked once, here, and resolved once per client it meets.
  const override = internal.makeOverride(arguments[0])
  return <A, E, R>(self: Effect.Effect<A, E, R>) => internal.withOptions(self, override)
} as any

/**
 * Runs an effect with retries turned off: every call that a `withStatusRetry` client makes inside it is sent once,
 * and fails with its typed error (`stopReason: "attempts"` for a failure that would have been retried).
 *
 * @example
 * ```ts
 * import { HttpClient } from "@effect/platform"
 * import { StatusRetry, withStatusRetry } from "@effect-retry/platform"
 * import { Effect } from "effect"
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
export const disabled = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  internal.withOptions(self, internal.disabledOverride)
