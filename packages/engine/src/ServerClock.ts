/**
 * The server's clock as its `Date` headers tell it: bounds on its offset from ours that narrow with each answer, so an
 * instant it gives against `Date` (an HTTP-date `Retry-After`, an epoch reset), which `Date`'s whole seconds make up
 * to a second late, can be read sooner and never early.
 *
 * Plain functions on numbers and records: this module imports nothing from `effect`.
 *
 * @example
 * ```ts
 * import { ServerClock } from "@effect-retry/engine"
 *
 * const clock = ServerClock.unknown()
 * // `Date: ... 10:00:00` arrived at 10:00:00.900 (offset -900), then `Date: ... 10:00:01` at 10:00:01.010 (offset -10):
 * // the server's clock is at least ours less 10 ms.
 * ServerClock.learn(clock, -900, 9_999_895, 10_000_900)
 * ServerClock.learn(clock, -10, 10_001_005, 10_001_010)
 * assert.deepStrictEqual([clock.offsetLow, clock.offsetHigh], [-10, 995])
 * // An epoch reset measured against an answer whose Date dropped 900 ms may be read 890 ms sooner.
 * assert.strictEqual(ServerClock.correction(clock, -900), 890)
 * ```
 *
 * @since 0.1.0
 * @category modules
 */

/**
 * Bounds on a server's clock less ours, how to narrow them with an answer, and how much sooner an instant measured
 * against `Date` may be read.
 *
 * @example
 * ```ts
 * import { ServerClock } from "@effect-retry/engine"
 *
 * assert.strictEqual(ServerClock.dateOffset({ date: "Thu, 01 Jan 1970 00:00:01 GMT" }, 1_250), -250)
 * assert.strictEqual(ServerClock.uncertainty(ServerClock.unknown()), Infinity)
 * ```
 *
 * @since 0.1.0
 * @category exports
 */
export * from "./internal/serverClock.js"
