import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import type * as StatusError from "../StatusError.js"
import * as status from "@effect-retry/engine/Status"

/** @internal */
export const TypeId: StatusError.TypeId = Symbol.for("@effect-retry/core/StatusError") as StatusError.TypeId

/** @internal */
export const isStatusError = (u: unknown): u is StatusError.StatusError => Predicate.hasProperty(u, TypeId)

/** @internal */
export const REASON_PHRASES: Readonly<Record<number, string>> = status.REASON_PHRASES

const formatMillis = (millis: number): string => Duration.format(Duration.millis(millis))

const describe = (self: StatusError.StatusErrorFields): string => {
  const hint = Option.getOrUndefined(self.retryAfter)
  return status.describe({
    status: self.status,
    method: self.method,
    url: self.url,
    attempts: self.attempts,
    hint: hint === undefined ? undefined : { millis: Duration.toMillis(hint.delay), source: hint.source },
    stopReason: Option.getOrUndefined(self.stopReason)
  }, formatMillis)
}

/** @internal */
export const make = <Tag extends string, Status extends number = number>(tag: Tag): new(
  args: StatusError.StatusErrorFields
) => StatusError.StatusErrorShape<Tag, Status> => {
  class Base extends Data.TaggedError(tag)<StatusError.StatusErrorFields> {
    declare readonly [TypeId]: StatusError.TypeId
    constructor(args: StatusError.StatusErrorFields) {
      super(status.beginFields(args))
      status.endFields()
    }
    override get message(): string {
      return describe(this)
    }
  }
  ;(Base.prototype as any)[TypeId] = TypeId
  return Base as any
}
