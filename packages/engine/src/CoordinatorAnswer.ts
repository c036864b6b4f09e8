/**
 * What the coordinator learns from an answer: the origin of a URL, and an answer's status, hints and rate-limit fields as its state machine takes them.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { CoordinatorAnswer } from "@effect-retry/engine"
 *
 * assert.strictEqual(CoordinatorAnswer.originOf("https://api.example.com:443/items?page=2"), "https://api.example.com")
 * const answer = CoordinatorAnswer.answerOf({ status: 429, headers: { "retry-after": "5" }, receivedAt: 1_000 })
 * assert.deepStrictEqual([answer.status, answer.hintAt, answer.hintFromDate], [429, 6_000, false])
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Reads the origin of a URL (scheme, host and port, as the URL parser writes it) and turns an answer into the state machine's `Answer`.
 *
 * @example
 * ```ts
 * import { CoordinatorAnswer } from "@effect-retry/engine"
 *
 * assert.strictEqual(CoordinatorAnswer.originOf("not a url"), "not a url")
 * // A 404 that says nothing of limits is, to the state machine, what a success is.
 * assert.strictEqual(CoordinatorAnswer.saysNothing({ status: 404, headers: {}, receivedAt: 0 }), true)
 * assert.strictEqual(CoordinatorAnswer.saysNothing({ status: 403, headers: { "retry-after": "60" }, receivedAt: 0 }), false)
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/coordinatorAnswer.js"
