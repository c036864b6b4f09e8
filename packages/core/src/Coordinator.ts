/**
 * Herd control: one shared view, per origin, of when to come back. A shared cooldown after a server hint, pacing
 * from rate-limit headers, and a retry budget, so concurrent calls stop learning the server's limit alone.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import * as internal from "./internal/coordinator.js"
import type * as headers from "./internal/headers.js"

/**
 * The right to send one request to an origin, given by `admit`; hand it back with `observe` or `release`.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const permit: Coordinator.Permit = { origin: "https://api.example.com", generation: 0, probe: false, learn: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Permit {
  /** The origin the request goes to. */
  readonly origin: string
  /** Which of the origin's rate-limit windows it was admitted in. */
  readonly generation: number
  /**
   * This request is the first to an origin that has never answered, and the other calls wait for what its answer
   * teaches: hand it back however the request ends, interruption included. (If it is lost, another request goes
   * after five seconds.)
   */
  readonly probe: boolean
  /**
   * The coordinator wants this answer even when it succeeds (its rate-limit headers pace the origin). When false, a
   * success need not be reported: reading a response's headers has a cost, and this origin has sent no rate-limit
   * headers so far. Failures (4xx, 5xx) are always worth reporting.
   */
  readonly learn: boolean
}

/**
 * Why the coordinator holds a request: the origin's cooldown after a server hint, its quota for the window is
 * spent, or a first request is learning its budget.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const reason: Coordinator.HoldReason = "cooldown"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type HoldReason = "cooldown" | "pacing" | "learning"

/**
 * A call failed at once because requests to its origin are held past the call's deadline (its retry budget): the
 * server asked every client to wait longer than this call may. `until` is the instant, so a job can be re-scheduled.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * declare const call: Effect.Effect<string, Coordinator.OriginHeld>
 * call.pipe(Effect.catchTag("OriginHeld", (e) => Effect.succeed(`retry at ${new Date(e.until).toISOString()}`)))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export const OriginHeld: typeof internal.OriginHeld = internal.OriginHeld

/**
 * The type of `OriginHeld` errors.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const until = (e: Coordinator.OriginHeld): number => e.until
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type OriginHeld = internal.OriginHeld

/**
 * What a coordinator needs to know of a response.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const seen: Coordinator.Observed = { status: 429, headers: { "retry-after": "1" }, receivedAt: Date.now() }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Observed {
  readonly status: number
  /** Response headers with lower-case names. */
  readonly headers: headers.HeaderRecord
  /** When it arrived, epoch milliseconds on the local clock. */
  readonly receivedAt: number
}

/**
 * The coordinator service: `withStatusRetry` asks it before every attempt and tells it every answer. `make` and
 * `layer` give the in-memory one; a store shared by several processes can implement the same interface.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const send = <A, E>(origin: string, request: Effect.Effect<A, E>) =>
 *   Effect.gen(function*() {
 *     const coordinator = yield* Coordinator.Coordinator
 *     const permit = yield* coordinator.admit(origin, true)
 *     return yield* Effect.onExit(request, () => coordinator.release(permit))
 *   })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Coordinator {
  /**
   * Waits until a request to the origin may go (no cooldown, quota left, not learning) and returns its permit.
   * `first` tells a first attempt from a retry (retry budgets are a fraction of first attempts). A hold that would
   * end past `deadline` (epoch milliseconds; default none) fails at once with `OriginHeld`. Interrupting a waiting
   * call releases its place.
   */
  readonly admit: (origin: string, first: boolean, deadline?: number) => Effect.Effect<Permit, OriginHeld>
  /**
   * The permit of a request that may go right now (at `now`, epoch milliseconds), or `undefined` when it would be
   * held: then call `admit`. A synchronous fast path for callers on a hot path; it takes the permit as `admit` would.
   */
  readonly unsafeAdmit: (origin: string, first: boolean, now: number) => Permit | undefined
  /** Learns from an answer: rate-limit headers pace the origin, a 429 or 503 hint holds it until its instant. */
  readonly observe: (permit: Permit, response: Observed) => Effect.Effect<void>
  /**
   * Hands back a permit whose request got no answer (a transport failure, a timeout, an interruption). Required for
   * a `probe` permit; for the others it keeps the pacing exact.
   */
  readonly release: (permit: Permit) => Effect.Effect<void>
  /** Whether the origin's retry budget allows one more retry (and takes it). */
  readonly allowRetry: (origin: string) => Effect.Effect<boolean>
  /** How many origins it holds state for. */
  readonly size: Effect.Effect<number>
}

/**
 * The service tag of the coordinator.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const origins = Effect.flatMap(Coordinator.Coordinator, (c) => c.size)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const Coordinator: Context.Tag<Coordinator, Coordinator> = internal.tag

/**
 * Options of a coordinator, each with a documented default.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const options: Coordinator.CoordinatorOptions = {
 *   limits: { "https://api.example.com": { requests: 10, window: "1 second" } },
 *   retryBudget: { ratio: 0.1, minRetries: 3, window: "10 seconds" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CoordinatorOptions {
  /**
   * Calls held by a cooldown or an empty quota are released at random over this window after the instant, not all
   * at once. Default: 20 millis.
   */
  readonly releaseSpread?: Duration.DurationInput
  /**
   * While an origin has never answered, let one request go first and hold the rest until its answer says what
   * the budget is. Default: `true`.
   */
  readonly cautiousStart?: boolean
  /**
   * Known limits per origin (`"https://api.example.com"`): no more than `requests` per `window` are sent, from the
   * very first request; when the server's rate-limit headers say otherwise, they take over. Default: none (limits
   * are learned from the rate-limit headers).
   */
  readonly limits?: Readonly<Record<string, { readonly requests: number; readonly window: Duration.DurationInput }>>
  /**
   * Retries of transient failures to an origin may add at most `ratio` of its first attempts plus `minRetries`, per
   * `window`; past that a call fails at once with `stopReason` "retry-budget". Retries the server paced with a hint
   * (429, 503 with Retry-After) are not counted: the cooldown already spaces them. `false` turns it off.
   * Default: `{ ratio: 0.1, minRetries: 3, window: "10 seconds" }`.
   */
  readonly retryBudget?:
    | false
    | {
      readonly ratio?: number
      readonly minRetries?: number
      readonly window?: Duration.DurationInput
    }
  /** An origin unused this long is forgotten. Default: 5 minutes. */
  readonly originTtl?: Duration.DurationInput
  /** At most this many origins are remembered; the least recently used go first. Default: 10 000. */
  readonly maxOrigins?: number
}

/**
 * Makes an in-memory coordinator; throws `InvalidRetryOptions` for bad options.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const program = Effect.gen(function*() {
 *   const coordinator = yield* Coordinator.make({ releaseSpread: "100 millis" })
 *   return yield* coordinator.size
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: CoordinatorOptions): Effect.Effect<Coordinator> => {
  const settings = internal.resolve(options)
  return internal.make(settings)
}

/**
 * Provides an in-memory coordinator shared by every client in the program; bad options throw
 * `InvalidRetryOptions` when the layer is built.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * // Every withStatusRetry() client used by `program` now shares one view of each origin.
 * declare const program: Effect.Effect<string>
 * const coordinated = program.pipe(Effect.provide(Coordinator.layer()))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: CoordinatorOptions): Layer.Layer<Coordinator> => {
  const settings = internal.resolve(options)
  return Layer.effect(Coordinator, internal.make(settings))
}

/**
 * The origin of a URL (`https://api.example.com:8443`), as the coordinator keys its state.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 *
 * Coordinator.originOf("https://api.example.com/items?page=2") // "https://api.example.com"
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const originOf: (url: string) => string = internal.originOf

/**
 * Counts requests held, tagged `reason`: `cooldown`, `pacing` or `learning`.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect, Metric } from "effect"
 *
 * const held = Effect.map(Metric.value(Coordinator.holds), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const holds: Metric.Metric.Counter<number> = internal.holds

/**
 * Counts held requests released.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect, Metric } from "effect"
 *
 * const released = Effect.map(Metric.value(Coordinator.releases), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const releases: Metric.Metric.Counter<number> = internal.releases

/**
 * Counts retries refused because an origin's retry budget was empty.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect, Metric } from "effect"
 *
 * const refused = Effect.map(Metric.value(Coordinator.refusals), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const refusals: Metric.Metric.Counter<number> = internal.refusals

/**
 * Reads the coordinator if one is provided, without requiring it.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect, Option } from "effect"
 *
 * const provided = Effect.map(Coordinator.current, Option.isSome)
 * ```
 *
 * @since 0.1.0
 * @category utils
 */
export const current: Effect.Effect<Option.Option<Coordinator>> = internal.current
