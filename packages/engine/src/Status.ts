/**
 * The status table: which HTTP statuses are throttled, transient or permanent failures, their reason phrases and the tags of their error classes.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Status } from "@effect-retry/engine"
 *
 * const table = Status.make(Status.DEFAULT_THROTTLED, Status.DEFAULT_TRANSIENT)
 * assert.strictEqual(Status.classify(table.table, 429), "throttled")
 * assert.strictEqual(Status.classify(table.table, 503), "transient")
 * assert.strictEqual(Status.classify(table.table, 501), "permanent")
 * assert.strictEqual(Status.classify(table.table, 204), "success")
 * // a 503 that asks for a pause is throttled
 * assert.strictEqual(Status.kindOf("transient", 120_000), "throttled")
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Builds a status policy's table and classifies a status with it; names the error class of each status.
 *
 * @example
 * ```ts
 * import { Status } from "@effect-retry/engine"
 *
 * assert.strictEqual(Status.RETRYABLE_TAGS[503], "ServiceUnavailable")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/status.js"
