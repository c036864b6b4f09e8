/**
 * Method and idempotency safety: which requests may be sent again once they left, and which failures prove a request never left.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Methods } from "@effect-retry/engine"
 *
 * const methods = new Set(Methods.IDEMPOTENT_METHODS)
 * assert.strictEqual(Methods.resendable("GET", false, methods, false), true)
 * assert.strictEqual(Methods.resendable("POST", false, methods, false), false)
 * assert.strictEqual(Methods.resendable("POST", Methods.isKeyed("POST", { "idempotency-key": "k1" }), methods, false), true)
 * assert.strictEqual(Methods.neverSent({ cause: { code: "ECONNREFUSED" } }), true)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Says whether a request may be re-sent, from its method, its `Idempotency-Key` and its body, and whether a failure's cause proves nothing was sent.
 *
 * @example
 * ```ts
 * import { Methods } from "@effect-retry/engine"
 *
 * assert.strictEqual(Methods.IDEMPOTENCY_KEY, "idempotency-key")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/methods.js"
