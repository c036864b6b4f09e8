import * as CoordinatorState from "@effect-retry/engine/CoordinatorState"
import * as ServerHint from "@effect-retry/engine/ServerHint"

/**
 * What a call does with the state machine's answer, decided on plain values (this module imports nothing from
 * `effect`): go with its permit, stop (a retry the budget refused, a hold past the call's deadline), or wait in a
 * group of calls held for the same reason.
 */

/** The longest sleep a JavaScript timer holds: 2^31 - 1 ms (about 24.8 days). */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** A hold a call waited out, and the group it waited in. @internal */
export interface Waited {
  readonly hold: CoordinatorState.Hold
  readonly group: string
}

/** @internal */
export type Step =
  | { readonly _tag: "Go"; readonly permit: CoordinatorState.Permit }
  | { readonly _tag: "Refused" }
  | { readonly _tag: "Stop"; readonly until: number; readonly reason: CoordinatorState.HoldReason }
  | {
    readonly _tag: "Wait"
    readonly waited: Waited
    /** The wait draws a number (its part of the release spread). */
    readonly draws: boolean
    /** How long to wait, given the draw: until the instant, or a second when waiting for news. */
    readonly millis: (draw: number) => number
    /** The hold is new to this call (another reason or instant): it is logged. */
    readonly changed: boolean
  }

/**
 * Decides the step. A hold that would end past the call's deadline stops the call now, saying until when; one that
 * ends with an answer already on its way (its instant only bounds the wait) waits for it up to the deadline.
 * @internal
 */
export const plan = (
  request: CoordinatorState.Request,
  admission: CoordinatorState.Permit | CoordinatorState.Hold,
  now: number,
  deadline: number,
  releaseSpread: number,
  last: Waited | undefined
): Step => {
  if (admission instanceof CoordinatorState.Permit) return { _tag: "Go", permit: admission }
  if (admission.refused) return { _tag: "Refused" }
  const until = admission.until
  if (!(now < deadline && (admission.answer || (until ?? now) <= deadline))) {
    return { _tag: "Stop", until: until ?? deadline, reason: admission.reason }
  }
  return {
    _tag: "Wait",
    waited: { hold: admission, group: `${request.route} ${request.attempt} ${admission.reason}` },
    draws: until !== undefined,
    millis: (draw) =>
      until === undefined
        ? Math.min(1000, Math.max(0, deadline - now))
        : Math.min(
          MAX_TIMER_MILLIS,
          Math.ceil(Math.max(0, until - now) + (admission.spread ? draw * releaseSpread : 0)),
          admission.answer ? Math.ceil(deadline - now) : Infinity
        ),
    changed: last === undefined || last.hold.reason !== admission.reason || last.hold.until !== until
  }
}

/** An instant as an ISO date, or words when no date holds it. @internal */
export const instant = (millis: number): string =>
  Number.isFinite(millis) && Math.abs(millis) <= ServerHint.MAX_AT_MILLIS
    ? new Date(millis).toISOString()
    : "a time past any date"

/** The annotations of a hold's log line: the origin, never the path or the query. @internal */
export const holdAnnotations = (origin: string, hold: CoordinatorState.Hold) => ({
  origin,
  reason: hold.reason,
  until: hold.until === undefined ? "an answer" : instant(hold.until),
  // An answer to a request already sent ends the hold; `until` then only bounds the wait for it.
  ends: hold.answer ? "on an answer" : "at the instant"
})
