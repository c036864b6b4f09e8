/**
 * Response headers as the engine reads them: a record of lower-case names, one value read at a time.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Headers } from "@effect-retry/engine"
 *
 * assert.strictEqual(Headers.get({ "retry-after": ["1", "2"] }, "retry-after"), "1, 2")
 * assert.strictEqual(Headers.decimal(" 1.5 "), 1.5)
 * assert.ok(Number.isNaN(Headers.decimal("-1")))
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Reads a header's value (a repeated header joined with commas) and parses a non-negative decimal.
 *
 * @example
 * ```ts
 * import { Headers } from "@effect-retry/engine"
 *
 * assert.strictEqual(Headers.get({ date: "Sun, 06 Nov 1994 08:49:37 GMT" }, "date"), "Sun, 06 Nov 1994 08:49:37 GMT")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/headers.js"
