import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as StatusError from "../StatusError.js"
import * as redact from "@effect-retry/engine/Redaction"

/** @internal */
export const TypeId: StatusError.TypeId = Symbol.for("@effect-retry/core/StatusError") as StatusError.TypeId

/** @internal */
export const isStatusError = (u: unknown): u is StatusError.StatusError => Predicate.hasProperty(u, TypeId)

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
    text += ` (server asked to wait ${
      Duration.greaterThan(hint.delay, "3652425 days") ? "more than 10,000 years" : Duration.format(hint.delay)
    }, from ${hint.source})`
  }
  if (Option.isSome(self.stopReason)) {
    text += `; gave up after ${self.attempts} attempt${self.attempts === 1 ? "" : "s"}: ${self.stopReason.value}`
  }
  return text
}

/** `Error` as V8 (Node, Chrome, Deno, Bun's JavaScriptCore too) has it: how many frames a new error captures. */
const V8Error = Error as unknown as { stackTraceLimit: number }

/** @internal */
export const make = <Tag extends string, Status extends number = number>(tag: Tag): new(
  args: StatusError.StatusErrorFields
) => StatusError.StatusErrorShape<Tag, Status> => {
  class Base extends Data.TaggedError(tag)<StatusError.StatusErrorFields> {
    declare readonly [TypeId]: StatusError.TypeId
    constructor(args: StatusError.StatusErrorFields) {
      // No JavaScript stack: it would show the runtime's frames, not the call's (the span traces do), and capturing
      // it is the largest part of building the error, paid on every failed attempt.
      const limit = V8Error.stackTraceLimit
      V8Error.stackTraceLimit = 0
      try {
        // The default rules apply whoever builds the error: no URL password or credential header is ever kept.
        super({ ...args, url: redact.url(args.url), headers: redact.headers(args.headers) })
      } finally {
        V8Error.stackTraceLimit = limit
      }
    }
    override get message(): string {
      return describe(this)
    }
  }
  ;(Base.prototype as any)[TypeId] = TypeId
  return Base as any
}
