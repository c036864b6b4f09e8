/**
 * Which HTTP statuses are worth retrying, and how: the policy that turns a status into an outcome.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"
import * as statusTable from "@effect-retry/engine/Status"

/**
 * What a status means for a retry.
 *
 * - `"success"`: not a failure (any status below 400); nothing to do.
 * - `"throttled"`: the server is limiting this client (429); wait as long as it asks.
 * - `"transient"`: a temporary failure (408, 5xx in the policy); back off and try again.
 * - `"permanent"`: retrying cannot help (400, 401, 403, 404, ... and every status the policy does not list).
 *
 * A transient status whose response carries a server hint asking for a pause (`Retry-After`, rate-limit headers)
 * is treated as throttled: the server said when to come back, as a 503 during maintenance does.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * const outcome: StatusPolicy.Outcome = StatusPolicy.classify(StatusPolicy.defaultPolicy, 503) // "transient"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = "success" | "throttled" | "transient" | "permanent"

/**
 * The failure outcomes a retry can act on.
 *
 * @example
 * ```ts
 * import type { StatusPolicy } from "@effect-retry/core"
 *
 * const kind: StatusPolicy.RetryableOutcome = "throttled"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RetryableOutcome = "throttled" | "transient"

/**
 * A status policy: the statuses that are throttling and those that are transient; every other status from 400 up
 * is permanent.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * const policy: StatusPolicy.StatusPolicy = StatusPolicy.make({ throttled: [429], transient: [502, 503, 504] })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StatusPolicy extends Pipeable {
  /** Statuses that mean "too many requests". */
  readonly throttled: ReadonlySet<number>
  /** Statuses that mean "temporary failure". */
  readonly transient: ReadonlySet<number>
  /** @internal one entry per status 0-599: 0 success, 1 throttled, 2 transient, 3 permanent */
  readonly table: Uint8Array
}

/**
 * Builds a policy from the statuses to retry; statuses below 400 are never failures, whatever the lists say.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * // Retry 404 for a resource that appears after background processing; never retry 500.
 * const policy = StatusPolicy.make({ throttled: [429], transient: [404, 408, 502, 503, 504] })
 * StatusPolicy.classify(policy, 404) // "transient"
 * StatusPolicy.classify(policy, 500) // "permanent"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly throttled: Iterable<number>
  readonly transient: Iterable<number>
}): StatusPolicy => {
  const { table, throttled, transient } = statusTable.make(options.throttled, options.transient)
  const policy = Object.create(PolicyProto) as { -readonly [K in keyof StatusPolicy]: StatusPolicy[K] }
  policy.throttled = throttled
  policy.transient = transient
  policy.table = table
  return policy
}

const PolicyProto = {
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * The default policy, from the project's status table: 429 throttled; 408, 500, 502, 503, 504 transient; every
 * other 4xx and 5xx (501 included) permanent; 1xx-3xx are not failures.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * StatusPolicy.classify(StatusPolicy.defaultPolicy, 429) // "throttled"
 * StatusPolicy.classify(StatusPolicy.defaultPolicy, 501) // "permanent"
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPolicy: StatusPolicy = make({
  throttled: statusTable.DEFAULT_THROTTLED,
  transient: statusTable.DEFAULT_TRANSIENT
})

/**
 * What a status means under a policy. Statuses outside 100-599 count as permanent failures from 400 up and
 * as successes below.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * StatusPolicy.classify(StatusPolicy.defaultPolicy, 200) // "success"
 * StatusPolicy.classify(StatusPolicy.defaultPolicy, 404) // "permanent"
 * ```
 *
 * @since 0.1.0
 * @category classification
 */
export const classify = (policy: StatusPolicy, status: number): Outcome => statusTable.classify(policy.table, status)

/**
 * Adds statuses to retry, as transient (default) or throttled.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404, 425]))
 * StatusPolicy.classify(policy, 404) // "transient"
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrying: {
  (statuses: Iterable<number>, as?: RetryableOutcome): (self: StatusPolicy) => StatusPolicy
  (self: StatusPolicy, statuses: Iterable<number>, as?: RetryableOutcome): StatusPolicy
} = dual(
  (args) => typeof args[0] === "object" && args[0] !== null && "table" in args[0],
  (self: StatusPolicy, statuses: Iterable<number>, as: RetryableOutcome = "transient"): StatusPolicy => {
    const added = [...statuses]
    const others = (set: ReadonlySet<number>) => [...set].filter((s) => !added.includes(s))
    return make({
      throttled: as === "throttled" ? [...others(self.throttled), ...added] : others(self.throttled),
      transient: as === "transient" ? [...others(self.transient), ...added] : others(self.transient)
    })
  }
)

/**
 * Removes statuses from the retried ones, so they fail as permanent (the status table calls retrying 500
 * optional).
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/core"
 *
 * const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.notRetrying([500]))
 * StatusPolicy.classify(policy, 500) // "permanent"
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const notRetrying: {
  (statuses: Iterable<number>): (self: StatusPolicy) => StatusPolicy
  (self: StatusPolicy, statuses: Iterable<number>): StatusPolicy
} = dual(2, (self: StatusPolicy, statuses: Iterable<number>): StatusPolicy => {
  const removed = new Set(statuses)
  return make({
    throttled: [...self.throttled].filter((s) => !removed.has(s)),
    transient: [...self.transient].filter((s) => !removed.has(s))
  })
})
