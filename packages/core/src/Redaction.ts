/**
 * Redaction: the rules that keep credentials out of the errors, log lines and spans the library writes. A URL loses
 * its `user:password@` and the values of secret query parameters; a header record loses the values of credential
 * headers, and the URLs in Location, Content-Location, Link and Refresh are redacted in turn.
 *
 * @since 0.1.0
 */
import * as internal from "@effect-retry/engine/Redaction"

/**
 * What replaces a secret value: `<redacted>`.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.redacted // "<redacted>"
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const redacted: string = internal.REDACTED

/**
 * The header names whose values are always redacted (authorization, cookie, set-cookie, x-api-key,
 * x-amz-security-token...).
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.defaultHeaders.includes("x-amz-security-token") // true
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultHeaders: ReadonlyArray<string> = internal.DEFAULT_HEADERS

/**
 * The query parameter names whose values are always redacted, compared in any case: tokens, keys, passwords and the
 * signing parameters of pre-signed URLs (`X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`, `sig`...).
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.defaultQueryParams.includes("access_token") // true
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultQueryParams: ReadonlyArray<string> = internal.DEFAULT_QUERY_PARAMS

export type {
  /**
   * A header name to redact: a name in any case, or a pattern tested against the lower-case name (as in
   * `@effect/platform`'s `Headers.currentRedactedNames`).
   *
   * @example
   * ```ts
   * import type { Redaction } from "@effect-retry/core"
   *
   * const names: ReadonlyArray<Redaction.HeaderName> = ["x-session", /^x-secret-/]
   * ```
   *
   * @since 0.1.0
   * @category models
   */
  HeaderName
} from "@effect-retry/engine/Redaction"

/**
 * A compiled set of redaction rules: the defaults plus the names given to `make`.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * const rules: Redaction.Redactor = Redaction.make({ queryParams: ["session"] })
 * rules.isSecretParam("session") // true
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Redactor extends internal.Redactor {}

/**
 * Names to redact on top of the defaults.
 *
 * @example
 * ```ts
 * import type { Redaction } from "@effect-retry/core"
 *
 * const options: Redaction.Options = { headers: ["x-session"], queryParams: ["session_id"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** More header names (any case) or patterns whose values are redacted. */
  readonly headers?: ReadonlyArray<internal.HeaderName> | undefined
  /** More query parameter names (any case) whose values are redacted. */
  readonly queryParams?: ReadonlyArray<string> | undefined
}

/**
 * Builds the rules: the default lists, plus the header names and query parameters given.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * const rules = Redaction.make({ headers: ["x-session"], queryParams: ["session_id"] })
 * Redaction.url("https://api.test/a?session_id=s1&page=2", rules) // "https://api.test/a?session_id=<redacted>&page=2"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Redactor => internal.make(options?.headers, options?.queryParams)

/**
 * The default rules.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.defaults.isSecretHeader("authorization") // true
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaults: Redactor = internal.defaults

/**
 * Redacts a URL for display: its `user:password@` always, and the values of secret query and fragment parameters;
 * everything else is kept as it was.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.url("https://me:pw@api.test/items?token=abc&page=2")
 * // "https://<redacted>@api.test/items?token=<redacted>&page=2"
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const url: (url: string, rules?: Redactor) => string = internal.url

/**
 * Copies headers for display: lower-case names, lists joined with ", ", secret values replaced by `<redacted>`, and
 * the URLs in Location, Content-Location, Link and Refresh redacted.
 *
 * @example
 * ```ts
 * import { Redaction } from "@effect-retry/core"
 *
 * Redaction.headers({ "Set-Cookie": ["a=1", "b=2"], location: "/next?sig=abc", "x-request-id": "r1" })
 * // { "set-cookie": "<redacted>", location: "/next?sig=<redacted>", "x-request-id": "r1" }
 * ```
 *
 * @since 0.1.0
 * @category redaction
 */
export const headers: (
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  rules?: Redactor
) => Record<string, string> = internal.headers
