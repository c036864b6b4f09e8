/**
 * Checks of numeric options that both lines of the toolkit make, each reporting a problem in the same words: a whole
 * number of at least a minimum, a number within a range.
 *
 * Plain functions on numbers: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { OptionChecks } from "@effect-retry/engine"
 *
 * const problems: Array<string> = []
 * assert.strictEqual(OptionChecks.wholeNumber(problems, "maxAttempts", undefined, 10, 1, String), 10)
 * assert.ok(Number.isNaN(OptionChecks.numberBetween(problems, "retryAfterSpread", 2, 0.02, 0, 1, String)))
 * assert.deepStrictEqual(problems, ["retryAfterSpread must be a number from 0 to 1, got 2"])
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Checks a whole number of at least a minimum, or a number within a range, falling back to a default when absent.
 *
 * @example
 * ```ts
 * import { OptionChecks } from "@effect-retry/engine"
 *
 * const problems: Array<string> = []
 * OptionChecks.wholeNumber(problems, "maxOrigins", 0.5, 10_000, 1, String)
 * assert.deepStrictEqual(problems, ["maxOrigins must be a whole number of at least 1, got 0.5"])
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/optionChecks.js"
