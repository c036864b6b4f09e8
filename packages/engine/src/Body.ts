/**
 * Response bodies read part by part up to a cap: the start of a failure's body kept on its error, or a whole body
 * of at most so many bytes; and read straight from the runtime's own response (a web `Response`, a Node.js message),
 * which costs a fraction of an HTTP client's body effects.
 *
 * Plain functions on byte arrays and the runtime's own response objects: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { Body } from "@effect-retry/engine"
 *
 * const start = Body.prefix(4)
 * assert.strictEqual(start.add(new TextEncoder().encode("abc")), true)
 * assert.strictEqual(start.add(new TextEncoder().encode("def")), false)
 * assert.strictEqual(new TextDecoder().decode(start.bytes()), "abcd")
 *
 * const capped = Body.whole(4)
 * assert.strictEqual(capped.add(new Uint8Array(5)), false)
 * assert.strictEqual(capped.size(), 5)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Gathers a body's parts up to a cap (`prefix` keeps the first bytes, `whole` stops past the cap), says which
 * statuses have no body, and reads a body straight from the runtime's response (`sourceOf`, `readText`).
 *
 * @example
 * ```ts
 * import { Body } from "@effect-retry/engine"
 *
 * assert.strictEqual(Body.NO_BODY.has(204), true)
 * assert.strictEqual(Body.declaredOver("2048", 1024), true)
 * assert.strictEqual(Body.declaredOver(undefined, 1024), false)
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/body.js"
