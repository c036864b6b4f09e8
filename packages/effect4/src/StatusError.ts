/**
 * HTTP statuses as typed errors for Effect 4: one class per common status, in a `Retryable` and a `Permanent` union,
 * with the server's hint, the attempts made and why a retry loop stopped. The same names and fields as the Effect 3
 * line's `StatusError` of `@effect-retry/core`; URLs and credential headers are redacted.
 *
 * @since 0.1.0
 */
import * as Redaction from "@effect-retry/engine/Redaction"
import * as ServerHint from "@effect-retry/engine/ServerHint"
import * as Status from "@effect-retry/engine/Status"
import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as internal from "./internal/statusError.js"
import * as StatusPolicy from "./StatusPolicy.js"

/**
 * The marker every status error carries.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 *
 * const isOurs = (u: object) => StatusError.TypeId in u
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * The type of `TypeId`.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * type Id = StatusError.TypeId
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * Why a retry loop stopped: a permanent status, the attempts used up, the call's `timeout` reached, a server
 * asking for a wait longer than `maxRetryAfter`, a request that may not be sent again, a failure the policy does not
 * retry, or a retry the coordinator's retry budget refused.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const reason: StatusError.StopReason = "retry-after-too-long"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StopReason =
  | "permanent"
  | "attempts"
  | "timeout"
  | "retry-after-too-long"
  | "unsafe-method"
  | "not-retryable"
  | "retry-budget"

/**
 * A server's hint on a status error: where it came from, the delay it asked for, and the instant that is (epoch
 * milliseconds on the local clock).
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 * import { Duration } from "effect"
 *
 * const hint: StatusError.Hint = { source: "retry-after", delay: Duration.seconds(7), at: 7_000 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Hint {
  readonly source: ServerHint.Source
  readonly delay: Duration.Duration
  readonly at: number
}

/**
 * What every status error carries.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const describe = (e: StatusError.StatusErrorFields) => `${e.status} ${e.method} ${e.url} after ${e.attempts}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StatusErrorFields {
  /** The HTTP status. */
  readonly status: number
  /** What the status policy made of the response; decides whether it is retried. */
  readonly kind: "throttled" | "transient" | "permanent"
  /** The request method. */
  readonly method: string
  /** The request URL, without any `user:password@`, the values of secret query parameters redacted. */
  readonly url: string
  /** The response headers, lower-case names, credentials redacted. */
  readonly headers: Readonly<Record<string, string>>
  /** For retryable statuses, when the server asked the client to come back and which header said so. */
  readonly retryAfter: Option.Option<Hint>
  /** When the response was received, epoch milliseconds on the local clock. */
  readonly receivedAt: number
  /** How many attempts the call had made when this error surfaced. */
  readonly attempts: number
  /** Why retrying stopped, once a retry loop gave up; `None` on the error of a single attempt. */
  readonly stopReason: Option.Option<StopReason>
  /** The start of the response body as text, for a handler to decode; `None` when it was not read. */
  readonly body: Option.Option<string>
}

/**
 * The shape of one status error class: its tag, its fields and `Error`'s.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * type NotFoundShape = StatusError.StatusErrorShape<"NotFound">
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StatusErrorShape<Tag extends string, Status extends number = number>
  extends Cause.YieldableError, StatusErrorFields
{
  readonly _tag: Tag
  /** The HTTP status: a literal for each class of a known status (`TooManyRequests.status` is `429`). */
  readonly status: Status
  readonly [TypeId]: TypeId
}

/**
 * 408 Request Timeout: the server gave up waiting for the request. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("RequestTimeout", (e) => Effect.succeed(`408 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class RequestTimeout extends internal.make<"RequestTimeout", 408>("RequestTimeout") {}

/**
 * 429 Too Many Requests: the client is rate-limited; `retryAfter` says when to come back. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("TooManyRequests", (e) => Effect.succeed(`429 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class TooManyRequests extends internal.make<"TooManyRequests", 429>("TooManyRequests") {}

/**
 * 500 Internal Server Error: the server failed; often temporary. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("InternalServerError", (e) => Effect.succeed(`500 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class InternalServerError extends internal.make<"InternalServerError", 500>("InternalServerError") {}

/**
 * 502 Bad Gateway: a proxy got no valid answer from upstream. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("BadGateway", (e) => Effect.succeed(`502 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class BadGateway extends internal.make<"BadGateway", 502>("BadGateway") {}

/**
 * 503 Service Unavailable: overloaded or down for maintenance; `retryAfter` may say until when. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("ServiceUnavailable", (e) => Effect.succeed(`503 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class ServiceUnavailable extends internal.make<"ServiceUnavailable", 503>("ServiceUnavailable") {}

/**
 * 504 Gateway Timeout: a proxy got no answer from upstream in time. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("GatewayTimeout", (e) => Effect.succeed(`504 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class GatewayTimeout extends internal.make<"GatewayTimeout", 504>("GatewayTimeout") {}

/**
 * A retryable status without a class of its own (one a custom `StatusPolicy` retries, a 404 say). Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("RetryableStatus", (e) => Effect.succeed(`${e.status} after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class RetryableStatus extends internal.make("RetryableStatus") {}

/**
 * 400 Bad Request: the request is malformed; sending it again changes nothing. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("BadRequest", (e) => Effect.succeed(`400 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class BadRequest extends internal.make<"BadRequest", 400>("BadRequest") {}

/**
 * 401 Unauthorized: credentials are missing or wrong. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Unauthorized", (e) => Effect.succeed(`401 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Unauthorized extends internal.make<"Unauthorized", 401>("Unauthorized") {}

/**
 * 403 Forbidden: the credentials do not allow this. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Forbidden", (e) => Effect.succeed(`403 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Forbidden extends internal.make<"Forbidden", 403>("Forbidden") {}

/**
 * 404 Not Found: there is nothing at this URL. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("NotFound", (e) => Effect.succeed(`404 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class NotFound extends internal.make<"NotFound", 404>("NotFound") {}

/**
 * 405 Method Not Allowed: the URL does not take this method. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("MethodNotAllowed", (e) => Effect.succeed(`405 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class MethodNotAllowed extends internal.make<"MethodNotAllowed", 405>("MethodNotAllowed") {}

/**
 * 409 Conflict: the request conflicts with the resource's state (transient for a request with an `Idempotency-Key`: the same key still in flight). Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Conflict", (e) => Effect.succeed(`409 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Conflict extends internal.make<"Conflict", 409>("Conflict") {}

/**
 * 422 Unprocessable Content: the body is well-formed but invalid. Not retried by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("UnprocessableEntity", (e) => Effect.succeed(`422 after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class UnprocessableEntity extends internal.make<"UnprocessableEntity", 422>("UnprocessableEntity") {}

/**
 * A permanent status without a class of its own (410, 501...). Not retried.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("PermanentStatus", (e) => Effect.succeed(`${e.status} after ${e.attempts} attempts`)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class PermanentStatus extends internal.make("PermanentStatus") {}

/**
 * The retryable status errors.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const wait = (e: StatusError.Retryable) => e.retryAfter
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Retryable =
  | RequestTimeout
  | TooManyRequests
  | InternalServerError
  | BadGateway
  | ServiceUnavailable
  | GatewayTimeout
  | RetryableStatus

/**
 * The permanent status errors.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const status = (e: StatusError.Permanent) => e.status
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Permanent =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFound
  | MethodNotAllowed
  | Conflict
  | UnprocessableEntity
  | PermanentStatus

/**
 * Every status error.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const tag = (e: StatusError.StatusError) => e._tag
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StatusError = Retryable | Permanent

/**
 * Whether a value is a status error.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 *
 * assert.strictEqual(StatusError.isStatusError(new Error("boom")), false)
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isStatusError: (u: unknown) => u is StatusError = internal.isStatusError

/**
 * Whether a value is a status error that a retry would retry (throttled or transient).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Option } from "effect"
 *
 * const error = StatusError.fromResponse({ status: 503, method: "GET", url: "https://api.test/", headers: {} })
 * assert.strictEqual(StatusError.isRetryable(Option.getOrThrow(error)), true)
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (u: unknown): u is StatusError & { readonly kind: "throttled" | "transient" } =>
  isStatusError(u) && u.kind !== "permanent"

const CLASSES: Readonly<Record<number, new(args: StatusErrorFields) => StatusError>> = {
  400: BadRequest,
  401: Unauthorized,
  403: Forbidden,
  404: NotFound,
  405: MethodNotAllowed,
  408: RequestTimeout,
  409: Conflict,
  422: UnprocessableEntity,
  429: TooManyRequests,
  500: InternalServerError,
  502: BadGateway,
  503: ServiceUnavailable,
  504: GatewayTimeout
}

/**
 * A response as `fromResponse` needs it.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/effect4"
 *
 * const response: StatusError.ResponseLike = { status: 429, method: "GET", url: "https://api.test/", headers: {} }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface ResponseLike {
  readonly status: number
  readonly method: string
  readonly url: string
  /** Response headers with lower-case names. */
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  /** When the response arrived, epoch milliseconds on the local clock. Default: now. */
  readonly receivedAt?: number
  /** The body as text, already bounded by the caller; none by default. */
  readonly body?: string
}

/**
 * Options of `fromResponse`.
 *
 * @example
 * ```ts
 * import { StatusError, StatusPolicy } from "@effect-retry/effect4"
 *
 * const options: StatusError.FromResponseOptions = {
 *   statusPolicy: StatusPolicy.defaultPolicy,
 *   redact: { headers: ["x-session"], queryParams: ["session_id"] }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FromResponseOptions {
  /** Which statuses are retried. Default: `StatusPolicy.defaultPolicy`. */
  readonly statusPolicy?: StatusPolicy.StatusPolicy
  /** More header names or patterns, and query parameter names, to redact; they add to the default lists. */
  readonly redact?: { readonly headers?: ReadonlyArray<string | RegExp>; readonly queryParams?: ReadonlyArray<string> }
  /** Rules already built with the engine's `Redaction.make`; when given, `redact` is not read. */
  readonly redaction?: Redaction.Redactor
  /** What the caller made of the response itself, over `statusPolicy`. Default: the policy's outcome. */
  readonly outcome?: StatusPolicy.Outcome
}

/**
 * Turns a failed response into its typed error, or `None` when the status is not a failure (below 400).
 *
 * Retryable errors carry the server's hint (`Retry-After`, `Retry-After-Ms`, then the rate-limit fields); a
 * transient status whose answer asks for a pause (a 503 with `Retry-After: 120`) is classified as throttled.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Duration, Option } from "effect"
 *
 * const error = Option.getOrThrow(StatusError.fromResponse({
 *   status: 429,
 *   method: "GET",
 *   url: "https://api.test/items?token=abc",
 *   headers: { "retry-after": "7" },
 *   receivedAt: 0
 * }))
 * assert.strictEqual(error._tag, "TooManyRequests")
 * assert.strictEqual(error.url, "https://api.test/items?token=<redacted>")
 * assert.strictEqual(Duration.toMillis(Option.getOrThrow(error.retryAfter).delay), 7_000)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromResponse = (response: ResponseLike, options?: FromResponseOptions): Option.Option<StatusError> => {
  const outcome = options?.outcome ??
    StatusPolicy.classify(options?.statusPolicy ?? StatusPolicy.defaultPolicy, response.status)
  if (outcome === "success") return Option.none()
  const receivedAt = response.receivedAt ?? Date.now()
  const hint = outcome === "permanent" ? undefined : ServerHint.fromHeaders(response.headers, receivedAt)
  const Class = CLASSES[response.status] ?? (outcome === "permanent" ? PermanentStatus : RetryableStatus)
  const rules = options?.redaction ?? Redaction.make(options?.redact?.headers, options?.redact?.queryParams)
  return Option.some(
    new Class({
      status: response.status,
      kind: Status.kindOf(outcome, hint?.millis),
      method: response.method,
      url: Redaction.url(response.url, rules),
      headers: Redaction.headers(response.headers, rules),
      retryAfter: hint === undefined
        ? Option.none()
        : Option.some({ source: hint.source, delay: Duration.millis(hint.millis), at: hint.at }),
      receivedAt,
      attempts: 1,
      stopReason: Option.none(),
      body: Option.fromNullishOr(response.body)
    })
  )
}

/**
 * A copy of a status error that records how many attempts were made and why retrying stopped.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Option } from "effect"
 *
 * const error = Option.getOrThrow(StatusError.fromResponse({ status: 503, method: "GET", url: "/", headers: {} }))
 * const final = StatusError.withStop(error, 3, "timeout")
 * assert.deepStrictEqual([final.attempts, Option.getOrThrow(final.stopReason)], [3, "timeout"])
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const withStop: {
  (attempts: number, stopReason: StopReason): <E extends StatusError>(self: E) => E
  <E extends StatusError>(self: E, attempts: number, stopReason: StopReason): E
} = dual(
  3,
  <E extends StatusError>(self: E, attempts: number, stopReason: StopReason): E =>
    Status.copy(self, { attempts, stopReason: Option.some(stopReason) })
)

/**
 * A copy of a status error that carries the response's body, as text already bounded by whoever read it.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/effect4"
 * import { Option } from "effect"
 *
 * const error = Option.getOrThrow(StatusError.fromResponse({ status: 422, method: "POST", url: "/", headers: {} }))
 * const withProblem = StatusError.withBody(error, `{"title":"invalid email"}`)
 * assert.deepStrictEqual(Option.getOrThrow(withProblem.body), `{"title":"invalid email"}`)
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const withBody: {
  (body: string): <E extends StatusError>(self: E) => E
  <E extends StatusError>(self: E, body: string): E
} = dual(2, <E extends StatusError>(self: E, body: string): E => Status.copy(self, { body: Option.some(body) }))
