/**
 * Which HTTP statuses are retried, and how: throttled (429), transient (408, 500, 502, 503, 504) or permanent (every
 * other 4xx and 5xx). The engine's status table, as a pipeable value.
 *
 * @since 0.1.0
 */
import * as Status from "@effect-retry/engine/Status"
import { dual } from "effect/Function"
import { hasProperty } from "effect/Predicate"
import type { Pipeable } from "effect/Pipeable"
import { pipeArguments } from "effect/Pipeable"

/**
 * What a status means for a retry.
 *
 * @example
 * ```ts
 * import type { StatusPolicy } from "@effect-retry/effect4"
 *
 * const outcome: StatusPolicy.Outcome = "throttled"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Outcome = Status.Outcome

/**
 * A status policy: the statuses retried as throttled and as transient.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * const policy: StatusPolicy.StatusPolicy = StatusPolicy.defaultPolicy
 * assert.deepStrictEqual([...policy.throttled], [429])
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StatusPolicy extends Pipeable, Status.Table {}

const PolicyProto = {
  pipe() {
    return pipeArguments(this, arguments)
  }
}

/**
 * Builds a policy from the statuses to retry; statuses below 400 are never failures, whatever the lists say.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * const policy = StatusPolicy.make({ throttled: [429], transient: [404, 503] })
 * assert.strictEqual(StatusPolicy.classify(policy, 404), "transient")
 * assert.strictEqual(StatusPolicy.classify(policy, 500), "permanent")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: {
  readonly throttled: Iterable<number>
  readonly transient: Iterable<number>
}): StatusPolicy => fromTable(Status.make(options.throttled, options.transient))

const fromTable = (table: Status.Table): StatusPolicy => Object.assign(Object.create(PolicyProto), table)

const isPolicy = (u: unknown): u is StatusPolicy => hasProperty(u, "table") && u.table instanceof Uint8Array

/**
 * The default policy: 429 throttled; 408, 500, 502, 503, 504 transient; every other 4xx and 5xx permanent.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * assert.strictEqual(StatusPolicy.classify(StatusPolicy.defaultPolicy, 501), "permanent")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultPolicy: StatusPolicy = make({
  throttled: Status.DEFAULT_THROTTLED,
  transient: Status.DEFAULT_TRANSIENT
})

/**
 * What a status means under a policy: a success below 400.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * assert.strictEqual(StatusPolicy.classify(StatusPolicy.defaultPolicy, 200), "success")
 * assert.strictEqual(StatusPolicy.classify(StatusPolicy.defaultPolicy, 429), "throttled")
 * ```
 *
 * @since 0.1.0
 * @category classification
 */
export const classify = (policy: StatusPolicy, status: number): Outcome => Status.classify(policy.table, status)

/**
 * The statuses a policy retries with its transient or throttled failures: `"transient"` (the default) or
 * `"throttled"`.
 *
 * @example
 * ```ts
 * import type { StatusPolicy } from "@effect-retry/effect4"
 *
 * const as: StatusPolicy.RetryableOutcome = "throttled"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type RetryableOutcome = "throttled" | "transient"

/**
 * Adds statuses to the retried ones, as transient (the default) or throttled; a status retried the other way is
 * moved.
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404, 425]))
 * assert.strictEqual(StatusPolicy.classify(policy, 404), "transient")
 * const throttled = StatusPolicy.retrying(StatusPolicy.defaultPolicy, [503], "throttled")
 * assert.strictEqual(StatusPolicy.classify(throttled, 503), "throttled")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const retrying: {
  (statuses: Iterable<number>, as?: RetryableOutcome): (self: StatusPolicy) => StatusPolicy
  (self: StatusPolicy, statuses: Iterable<number>, as?: RetryableOutcome): StatusPolicy
} = dual(
  (args) => isPolicy(args[0]),
  (self: StatusPolicy, statuses: Iterable<number>, as: RetryableOutcome = "transient"): StatusPolicy =>
    fromTable(Status.retrying(self, statuses, as))
)

/**
 * Removes statuses from the retried ones, so they fail as permanent (the status table calls retrying 500
 * optional).
 *
 * @example
 * ```ts
 * import { StatusPolicy } from "@effect-retry/effect4"
 *
 * const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.notRetrying([500]))
 * assert.strictEqual(StatusPolicy.classify(policy, 500), "permanent")
 * assert.strictEqual(StatusPolicy.classify(policy, 503), "transient")
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const notRetrying: {
  (statuses: Iterable<number>): (self: StatusPolicy) => StatusPolicy
  (self: StatusPolicy, statuses: Iterable<number>): StatusPolicy
} = dual(
  2,
  (self: StatusPolicy, statuses: Iterable<number>): StatusPolicy => fromTable(Status.notRetrying(self, statuses))
)
