/**
 * Rate-limit response fields: the IETF `RateLimit` and `RateLimit-Policy` structured fields and the `X-RateLimit-*` headers.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-retry/engine"
 *
 * const info = RateLimit.parse({ "ratelimit": "\"default\";r=0;t=30" }, Date.now())
 * assert.strictEqual(info?.remaining, 0)
 * assert.strictEqual(info?.resetMillis, 30_000)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Reads the remaining quota, the reset and the bucket of an answer (undefined when it has no rate-limit field).
 *
 * @example
 * ```ts
 * import { RateLimit } from "@effect-retry/engine"
 *
 * assert.strictEqual(RateLimit.parse({ "content-type": "text/plain" }, Date.now()), undefined)
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/rateLimit.js"
