import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as StatusError from "../StatusError.js"

/** @internal */
export const TypeId: StatusError.TypeId = Symbol.for("@effect-retry/core/StatusError") as StatusError.TypeId

/** @internal */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  413: "Content Too Large",
  422: "Unprocessable Content",
  425: "Too Early",
  429: "Too Many Requests",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout"
}

const describe = (self: StatusError.StatusErrorFields): string => {
  const phrase = REASON_PHRASES[self.status]
  let text = `${self.status}${phrase === undefined ? "" : ` ${phrase}`}: ${self.method} ${self.url}`
  if (Option.isSome(self.retryAfter)) {
    const hint = self.retryAfter.value
    text += ` (server asked to wait ${Duration.greaterThan(hint.delay, "3652425 days") ? "more than 10,000 years" : Duration.format(hint.delay)}, from ${hint.source})`
  }
  if (Option.isSome(self.stopReason)) {
    text += `; gave up after ${self.attempts} attempt${self.attempts === 1 ? "" : "s"}: ${self.stopReason.value}`
  }
  return text
}

/** @internal */
export const make = <Tag extends string>(tag: Tag): new(
  args: StatusError.StatusErrorFields
) => StatusError.StatusErrorShape<Tag> => {
  class Base extends Data.TaggedError(tag)<StatusError.StatusErrorFields> {
    readonly [TypeId]: StatusError.TypeId = TypeId
    override get message(): string {
      return describe(this)
    }
  }
  return Base as any
}

/** @internal */
export const REDACTED = "<redacted>"

/** @internal */
export const DEFAULT_REDACTED_HEADERS: ReadonlyArray<string> = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token"
]

/** @internal */
export const redactHeaders = (
  headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>,
  names: ReadonlyArray<string>
): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const key of Object.keys(headers)) {
    const value = headers[key]
    if (value === undefined) continue
    const name = key.toLowerCase()
    out[name] = names.includes(name) ? REDACTED : typeof value === "string" ? value : value.join(", ")
  }
  return out
}

/**
 * Drops `user:password@` from a URL, keeping the rest as it was. The userinfo ends at the last `@` before the path,
 * query or fragment, as URL parsers read it, so a password containing `@` is redacted whole.
 * @internal
 */
export const redactUrl = (url: string): string => url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, `$1${REDACTED}@`)
