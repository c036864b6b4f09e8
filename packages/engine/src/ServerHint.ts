/**
 * A server's hint, read from a response's headers once: `Retry-After` (delay-seconds or an HTTP-date), `Retry-After-Ms`, then the rate-limit fields when no request remains.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { ServerHint } from "@effect-retry/engine"
 *
 * const now = Date.UTC(2026, 0, 1)
 * assert.deepStrictEqual(ServerHint.fromHeaders({ "retry-after": "7" }, now), {
 *   source: "retry-after",
 *   millis: 7_000,
 *   at: now + 7_000
 * })
 * assert.strictEqual(ServerHint.retryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now, undefined), 30_000)
 * assert.strictEqual(ServerHint.retryAfter("soon", now, undefined), undefined)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Reads the hint of a response (its source, the delay in milliseconds and the instant to wait for) and `Retry-After` alone.
 *
 * @example
 * ```ts
 * import { ServerHint } from "@effect-retry/engine"
 *
 * assert.strictEqual(ServerHint.fromHeaders({ "content-type": "text/plain" }, Date.now()), undefined)
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/serverHint.js"
