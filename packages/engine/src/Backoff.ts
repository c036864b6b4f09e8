/**
 * Exponential backoff with jitter on plain milliseconds: the strategies of "Exponential Backoff and Jitter" (none, full, equal, decorrelated) plus a ×0.8–1.2 spread.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/engine"
 *
 * // the third retry (n = 2) without jitter: 100 * 2^2
 * assert.strictEqual(Backoff.delay("none", 100, 10_000, 2, 2, 0.5, 0), 400)
 * // full jitter: uniform in [0, 400], here the middle
 * assert.strictEqual(Backoff.delay("full", 100, 10_000, 2, 2, 0.5, 0), 200)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Computes one backoff delay in milliseconds from the strategy, the base, the cap, the factor, the retry number and a random draw in [0, 1).
 *
 * @example
 * ```ts
 * import { Backoff } from "@effect-retry/engine"
 *
 * assert.deepStrictEqual(Backoff.JITTERS, ["none", "full", "equal", "decorrelated", "proportional"])
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/backoff.js"
