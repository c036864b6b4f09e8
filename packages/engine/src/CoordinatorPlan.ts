/**
 * What a coordinator does around its state machine, on plain values: the `Request` of a URL, the step after `admit`
 * (go, stop or wait, until when, in which group, what to log), the held calls by group, the options checked, and the
 * names of its metrics.
 *
 * Plain functions on strings, numbers and records: this module imports nothing from `effect`; each line of the
 * toolkit keeps only the waiting (on `Waiters.park` under Effect's own clock), the signals, the metrics and the logs
 * written with its own Effect.
 *
 * @example
 * ```ts
 * import { CoordinatorPlan, CoordinatorState } from "@effect-retry/engine"
 *
 * const request = CoordinatorPlan.requestOf("https://api.example.com/v1/items/42?page=2", "first", "team-a")
 * assert.deepStrictEqual(request, {
 *   partition: "https://api.example.com team-a",
 *   origin: "https://api.example.com",
 *   route: "/v1/items/:",
 *   attempt: "first"
 * })
 * const machine = new CoordinatorState.CoordinatorState({
 *   cautiousStart: false,
 *   limits: new Map(),
 *   maxSharedCooldown: 60_000,
 *   retryThrottle: undefined,
 *   ttl: 300_000,
 *   maxPartitions: 10_000
 * })
 * const step = CoordinatorPlan.plan(request, machine.admit(request, 0, 0), 0, Infinity, 20, undefined)
 * assert.strictEqual(step._tag, "Go")
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Builds a request for the state machine, decides the step after `admit`, keeps the held calls by group, reads the
 * options, and names the metrics, span events and log lines of a coordinator.
 *
 * @example
 * ```ts
 * import { CoordinatorPlan } from "@effect-retry/engine"
 *
 * assert.strictEqual(CoordinatorPlan.instant(0), "1970-01-01T00:00:00.000Z")
 * assert.strictEqual(CoordinatorPlan.HOLDS.name, "http_client_coordinator_holds_total")
 * const resolved = CoordinatorPlan.resolve({ maxOrigins: 0 }, {
 *   millis: (_problems, _name, value, fallback) => typeof value === "number" ? value : fallback,
 *   show: String
 * })
 * assert.deepStrictEqual(resolved, { _tag: "Problems", problems: ["maxOrigins must be a whole number of at least 1, got 0"] })
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/coordinatorPlan.js"
