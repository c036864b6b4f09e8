/**
 * The coordinator's state machine: per-origin routes, cooldowns, learned pacing and probes, a clock reading in and a decision out.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { CoordinatorState } from "@effect-retry/engine"
 *
 * assert.strictEqual(CoordinatorState.routeOf("https://api.example.com/v1/items/42?page=2"), "/v1/items/:")
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Builds the state of one coordinator, which admits each request or holds it, and learns from each answer.
 *
 * @example
 * ```ts
 * import { CoordinatorState } from "@effect-retry/engine"
 *
 * assert.strictEqual(CoordinatorState.routeOf("https://api.example.com/"), "/")
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/coordinatorState.js"
