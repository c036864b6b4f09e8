import * as Status from "@effect-retry/engine/Status"
import * as Redaction from "@effect-retry/engine/Redaction"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as StatusError from "../StatusError.js"

/** @internal */
export const TypeId: StatusError.TypeId = Symbol.for("@effect-retry/effect4/StatusError") as StatusError.TypeId

/** @internal */
export const isStatusError = (u: unknown): u is StatusError.StatusError => Predicate.hasProperty(u, TypeId)

const TEN_THOUSAND_YEARS = Duration.millis(Status.TEN_THOUSAND_YEARS_MILLIS)

const describe = (self: StatusError.StatusErrorFields): string => {
  const hint = Option.getOrUndefined(self.retryAfter)
  return Status.describe({
    status: self.status,
    method: self.method,
    url: self.url,
    attempts: self.attempts,
    hint: hint === undefined ? undefined : {
      delay: Duration.isGreaterThan(hint.delay, TEN_THOUSAND_YEARS)
        ? "more than 10,000 years"
        : Duration.format(hint.delay),
      source: hint.source
    },
    stopReason: Option.getOrUndefined(self.stopReason)
  })
}

/** `Error` as V8 has it: how many frames a new error captures. */
const V8Error = Error as unknown as { stackTraceLimit: number }

/** @internal */
export const make = <Tag extends string, Status extends number = number>(tag: Tag): new(
  args: StatusError.StatusErrorFields
) => StatusError.StatusErrorShape<Tag, Status> => {
  class Base extends Data.TaggedError(tag)<StatusError.StatusErrorFields> {
    declare readonly [TypeId]: StatusError.TypeId
    constructor(args: StatusError.StatusErrorFields) {
      // No JavaScript stack: capturing it is the largest part of building the error, paid on every failed attempt.
      const limit = V8Error.stackTraceLimit
      V8Error.stackTraceLimit = 0
      try {
        // The default rules apply whoever builds the error: no URL password or credential header is ever kept.
        super({ ...args, url: Redaction.url(args.url), headers: Redaction.headers(args.headers) })
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
