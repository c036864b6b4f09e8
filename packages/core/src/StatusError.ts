/**
 * HTTP failure statuses as typed errors a handler can catch by name, grouped into `Retryable` and `Permanent`.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import { dual } from "effect/Function"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as headers from "@effect-retry/engine/Headers"
import * as redact from "@effect-retry/engine/Redaction"
import * as statusTable from "@effect-retry/engine/Status"
import * as serverHint from "./internal/serverHint.js"
import * as internal from "./internal/statusError.js"
import type * as Redaction from "./Redaction.js"
import type * as ServerHint from "./ServerHint.js"
import * as StatusPolicy from "./StatusPolicy.js"

/**
 * The brand every status error carries.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 *
 * const brand: symbol = StatusError.TypeId
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * The type of `TypeId`.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/core"
 *
 * type Brand = StatusError.TypeId
 * ```
 *
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * Why a retry loop gave up on a call.
 *
 * - `"permanent"`: the status cannot succeed on a retry.
 * - `"attempts"`: the maximum number of attempts was spent.
 * - `"timeout"`: the next wait would end past the call's `timeout` (its deadline).
 * - `"retry-after-too-long"`: the server asked for a wait longer than `maxRetryAfter`.
 * - `"unsafe-method"`: the request is not safe to send twice (POST without an `Idempotency-Key`, say).
 * - `"retry-budget"`: a shared retry budget for the origin is empty.
 * - `"not-retryable"`: the failure is not one the policy retries.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/core"
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
  | "retry-budget"
  | "not-retryable"

/**
 * What every status error carries.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/core"
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
  /** The response headers, lower-case names, credentials redacted (and the URLs of Location, Link...). */
  readonly headers: Readonly<Record<string, string>>
  /** For retryable statuses, when the server asked the client to come back and which header said so. */
  readonly retryAfter: Option.Option<ServerHint.ServerHint>
  /** When the response was received, epoch milliseconds on the local clock. */
  readonly receivedAt: number
  /** How many attempts the call had made when this error surfaced. */
  readonly attempts: number
  /** Why retrying stopped, once a retry loop gave up; `None` on the error of a single attempt. */
  readonly stopReason: Option.Option<StopReason>
  /**
   * The response body as text, for a handler to decode (a 422 `application/problem+json` with `Schema`, say): cut at
   * `body.maxErrorSize` bytes (64 KiB by default in `withStatusRetry`); `None` when it was not read (an event stream,
   * a body that failed, a HEAD, `body.maxErrorSize: 0`). The library never writes it to a log line or a span, and the
   * error's message does not show it.
   */
  readonly body: Option.Option<string>
}

/**
 * The shape of one status error class: its tag, its fields and `Error`'s.
 *
 * @example
 * ```ts
 * import type { StatusError } from "@effect-retry/core"
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
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("RequestTimeout", (e) => Effect.succeed(`timed out after ${e.attempts} attempts`)))
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
 * import { StatusError } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * // A job queue can re-schedule at the instant the server gave instead of sleeping.
 * call.pipe(Effect.catchTag("TooManyRequests", (e) =>
 *   Effect.succeed(Option.match(e.retryAfter, { onNone: () => "later", onSome: (h) => new Date(h.at).toISOString() }))
 * ))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class TooManyRequests extends internal.make<"TooManyRequests", 429>("TooManyRequests") {}

/**
 * 500 Internal Server Error: a server-side fault that may pass. Retryable by default.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("InternalServerError", () => Effect.succeed("fallback")))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class InternalServerError extends internal.make<"InternalServerError", 500>("InternalServerError") {}

/**
 * 502 Bad Gateway: an upstream answered badly; often a deployment or network blip. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("BadGateway", () => Effect.succeed("fallback")))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class BadGateway extends internal.make<"BadGateway", 502>("BadGateway") {}

/**
 * 503 Service Unavailable: overload or maintenance; `retryAfter` often says until when. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("ServiceUnavailable", (e) =>
 *   Effect.succeed(Option.match(e.retryAfter, {
 *     onNone: () => "down",
 *     onSome: (hint) => `down until ${new Date(hint.at).toISOString()}`
 *   }))
 * ))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class ServiceUnavailable extends internal.make<"ServiceUnavailable", 503>("ServiceUnavailable") {}

/**
 * 504 Gateway Timeout: an upstream did not answer in time. Retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("GatewayTimeout", () => Effect.succeed("fallback")))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class GatewayTimeout extends internal.make<"GatewayTimeout", 504>("GatewayTimeout") {}

/**
 * Any other status the policy retries (a status added with `StatusPolicy.retrying`, say).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("RetryableStatus", (e) => Effect.succeed(e.status)))
 * ```
 *
 * @since 0.1.0
 * @category retryable
 */
export class RetryableStatus extends internal.make("RetryableStatus") {}

/**
 * 400 Bad Request: the request is malformed; fix it before trying again. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("BadRequest", (e) => Effect.succeed(e.status)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class BadRequest extends internal.make<"BadRequest", 400>("BadRequest") {}

/**
 * 401 Unauthorized: authentication is missing or failed; get a fresh token. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Unauthorized", () => Effect.succeed("log in again")))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Unauthorized extends internal.make<"Unauthorized", 401>("Unauthorized") {}

/**
 * 403 Forbidden: the credentials lack permission. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Forbidden", () => Effect.succeed("ask for access")))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Forbidden extends internal.make<"Forbidden", 403>("Forbidden") {}

/**
 * 404 Not Found: the resource does not exist. Permanent by default (retry it with `StatusPolicy.retrying([404])`
 * for resources that appear after background processing).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("NotFound", () => Effect.succeed(Option.none<string>())))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class NotFound extends internal.make<"NotFound", 404>("NotFound") {}

/**
 * 405 Method Not Allowed: the resource does not support this method. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("MethodNotAllowed", (e) => Effect.succeed(e.method)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class MethodNotAllowed extends internal.make<"MethodNotAllowed", 405>("MethodNotAllowed") {}

/**
 * 409 Conflict: the request conflicts with the resource's state. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("Conflict", () => Effect.succeed("already exists")))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class Conflict extends internal.make<"Conflict", 409>("Conflict") {}

/**
 * 422 Unprocessable Content: the request is well-formed but semantically wrong. Permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("UnprocessableEntity", (e) => Effect.succeed(e.status)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class UnprocessableEntity extends internal.make<"UnprocessableEntity", 422>("UnprocessableEntity") {}

/**
 * Any other failure status the policy does not retry (410, 501, ...).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchTag("PermanentStatus", (e) => Effect.succeed(e.status)))
 * ```
 *
 * @since 0.1.0
 * @category permanent
 */
export class PermanentStatus extends internal.make("PermanentStatus") {}

/**
 * The errors of statuses worth retrying under the default policy. A policy can retry other statuses too: their
 * errors keep their own class, and `kind` says what the policy made of them.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * // A signature that says only retryable failures escape.
 * const fetchUser = (id: string): Effect.Effect<string, StatusError.Retryable> => Effect.succeed(id)
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
 * The errors of statuses that a retry cannot fix under the default policy.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * // Handle every error of a permanent class; only the retryable classes remain in the error type.
 * const handled: Effect.Effect<string, StatusError.Retryable> = call.pipe(
 *   Effect.catchIf(StatusError.isPermanentClass, (e) => Effect.succeed(`failed with ${e.status}`))
 * )
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
 * import { StatusError } from "@effect-retry/core"
 * import { Match } from "effect"
 *
 * const explain = Match.type<StatusError.StatusError>().pipe(
 *   Match.tag("TooManyRequests", "ServiceUnavailable", () => "come back later"),
 *   Match.tag("Unauthorized", "Forbidden", () => "check credentials"),
 *   Match.orElse((e) => `failed with ${e.status}`)
 * )
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type StatusError = Retryable | Permanent

const RETRYABLE_TAGS: ReadonlySet<string> = new Set([
  "RequestTimeout",
  "TooManyRequests",
  "InternalServerError",
  "BadGateway",
  "ServiceUnavailable",
  "GatewayTimeout",
  "RetryableStatus"
])

/**
 * Whether a value is any status error.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 *
 * StatusError.isStatusError(new Error("boom")) // false
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isStatusError = (u: unknown): u is StatusError => Predicate.hasProperty(u, TypeId)

/**
 * Whether a value is a status error the policy in force retries (`kind` throttled or transient), whatever its class:
 * with `StatusPolicy.retrying([404])`, a `NotFound` is retryable.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchIf(StatusError.isRetryable, (e) => Effect.succeed(`try again later (${e.kind})`)))
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryable = (u: unknown): u is StatusError & { readonly kind: "throttled" | "transient" } =>
  isStatusError(u) && u.kind !== "permanent"

/**
 * Whether a value is a status error the policy in force does not retry (`kind` permanent), whatever its class:
 * with `StatusPolicy.notRetrying([500])`, an `InternalServerError` is permanent.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchIf(StatusError.isPermanent, (e) => Effect.succeed(`gave up: ${e.status}`)))
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isPermanent = (u: unknown): u is StatusError & { readonly kind: "permanent" } =>
  isStatusError(u) && u.kind === "permanent"

/**
 * Whether a value is a status error the server throttled (`kind` throttled: a 429, or a retryable status with a
 * server hint asking for a pause).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchIf(StatusError.isThrottled, (e) => Effect.succeed(e.retryAfter)))
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isThrottled = (u: unknown): u is StatusError & { readonly kind: "throttled" } =>
  isStatusError(u) && u.kind === "throttled"

/**
 * Whether a value is a status error of a temporary failure (`kind` transient: a 5xx or 408 without a pause asked).
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * call.pipe(Effect.catchIf(StatusError.isTransient, () => Effect.succeed("the server had a blip")))
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isTransient = (u: unknown): u is StatusError & { readonly kind: "transient" } =>
  isStatusError(u) && u.kind === "transient"

/**
 * Whether a value is a status error of a class of the `Retryable` union (the default policy's grouping, whatever
 * the policy in force made of it); narrows the error type to that union.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * const handled: Effect.Effect<string, StatusError.Permanent> = call.pipe(
 *   Effect.catchIf(StatusError.isRetryableClass, () => Effect.succeed("try again later"))
 * )
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isRetryableClass = (u: unknown): u is Retryable => isStatusError(u) && RETRYABLE_TAGS.has(u._tag)

/**
 * Whether a value is a status error of a class of the `Permanent` union (the default policy's grouping, whatever
 * the policy in force made of it); narrows the error type to that union.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const call: Effect.Effect<string, StatusError.StatusError> = Effect.succeed("ok")
 * const handled: Effect.Effect<string, StatusError.Retryable> = call.pipe(
 *   Effect.catchIf(StatusError.isPermanentClass, (e) => Effect.succeed(`gave up: ${e.status}`))
 * )
 * ```
 *
 * @since 0.1.0
 * @category guards
 */
export const isPermanentClass = (u: unknown): u is Permanent => isStatusError(u) && !RETRYABLE_TAGS.has(u._tag)

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
 * import type { StatusError } from "@effect-retry/core"
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
  readonly headers: headers.HeaderRecord
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
 * import { StatusError, StatusPolicy } from "@effect-retry/core"
 *
 * const options: StatusError.FromResponseOptions = {
 *   statusPolicy: StatusPolicy.defaultPolicy,
 *   redactHeaders: ["authorization", "set-cookie", "x-session"],
 *   redactQueryParams: ["session_id"]
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface FromResponseOptions {
  /** Which statuses are retried. Default: `StatusPolicy.defaultPolicy`. */
  readonly statusPolicy?: StatusPolicy.StatusPolicy
  /**
   * More header names (any case) or patterns whose values are replaced by `<redacted>`; they add to
   * `Redaction.defaultHeaders` (authorization, cookie, set-cookie, x-api-key, x-amz-security-token...).
   */
  readonly redactHeaders?: ReadonlyArray<Redaction.HeaderName>
  /** More query parameter names (any case) whose values are redacted in URLs; they add to `Redaction.defaultQueryParams`. */
  readonly redactQueryParams?: ReadonlyArray<string>
  /** Rules already built with `Redaction.make`; when given, `redactHeaders` and `redactQueryParams` are not read. */
  readonly redaction?: Redaction.Redactor
  /**
   * What the caller made of the response itself, over `statusPolicy` (any status, a 200 included: a failure outcome
   * gives a `RetryableStatus` or `PermanentStatus` for a status without a class). Default: the policy's outcome.
   */
  readonly outcome?: StatusPolicy.Outcome
}

const rulesOf = (options: FromResponseOptions | undefined): redact.Redactor =>
  options?.redaction ??
    (options?.redactHeaders === undefined && options?.redactQueryParams === undefined
      ? redact.defaults
      : redact.make(options.redactHeaders, options.redactQueryParams))

/**
 * Turns a failed response into its typed error, or `None` when the status is not a failure (below 400).
 *
 * Retryable errors carry the server's hint (`Retry-After`, then the rate-limit headers); a transient status that
 * carries one asking for a pause (a 503 with `Retry-After: 120`) is classified as throttled.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 *
 * const error = StatusError.fromResponse({
 *   status: 429,
 *   method: "GET",
 *   url: "https://api.test/items",
 *   headers: { "retry-after": "7" },
 *   receivedAt: 0
 * })
 * // Some(TooManyRequests {
 * //   status: 429, kind: "throttled", retryAfter: Some({ source: "retry-after", at: 7000, ... }), attempts: 1, ...
 * // })
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
  const hint = outcome === "permanent" ? undefined : serverHint.fromHeaders(response.headers, receivedAt)
  const Class = CLASSES[response.status] ?? (outcome === "permanent" ? PermanentStatus : RetryableStatus)
  const rules = rulesOf(options)
  return Option.some(
    new Class({
      status: response.status,
      // A hint of zero asks for no pause: the failure stays transient.
      kind: statusTable.kindOf(outcome, hint === undefined ? undefined : Duration.toMillis(hint.delay)),
      method: response.method,
      url: redact.url(response.url, rules),
      headers: redact.headers(response.headers, rules),
      retryAfter: Option.fromNullable(hint),
      receivedAt,
      attempts: 1,
      stopReason: Option.none(),
      body: Option.fromNullable(response.body)
    })
  )
}

/**
 * A copy of a status error that records how many attempts were made and why retrying stopped.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 *
 * const giveUp = (error: StatusError.TooManyRequests) => {
 *   const final = StatusError.withStop(error, 3, "timeout")
 *   return final.stopReason // Some("timeout")
 * }
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
    statusTable.copy(self, { attempts, stopReason: Option.some(stopReason) })
)

/**
 * A copy of a status error that carries the response's body, as text already bounded by whoever read it.
 *
 * @example
 * ```ts
 * import { StatusError } from "@effect-retry/core"
 *
 * const withProblem = (error: StatusError.UnprocessableEntity) =>
 *   StatusError.withBody(error, `{"title":"invalid email"}`).body // Some("{\"title\":\"invalid email\"}")
 * ```
 *
 * @since 0.2.0
 * @category combinators
 */
export const withBody: {
  (body: string): <E extends StatusError>(self: E) => E
  <E extends StatusError>(self: E, body: string): E
} = dual(2, <E extends StatusError>(self: E, body: string): E => statusTable.copy(self, { body: Option.some(body) }))
