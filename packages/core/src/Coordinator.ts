/**
 * Herd control: one shared view, per bucket, of when to come back. A shared cooldown after a server hint, pacing
 * from rate-limit headers, a rate inferred when the server throttles without a word, and an adaptive retry budget,
 * so concurrent calls stop learning the server's limit alone.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/coordinator.js"
import type * as headers from "@effect-retry/engine/Headers"

/**
 * The right to send one request, handed out by `withPermit` or `permit` and settled when the request ends.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const wantsAnswer = (permit: Coordinator.Permit) => permit.learn
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Permit {
  /** The origin and the user's key the request was counted under. */
  readonly partition: string
  /** The bucket it was admitted in ("" for its origin's own). */
  readonly bucket: string
  /** Its route: the path with the segments that name one item among many written ":". */
  readonly route: string
  /**
   * The coordinator wants this answer even when it succeeds (its rate-limit headers may pace the bucket). When false,
   * a success need not be reported: reading a response's headers has a cost. Failures are always worth reporting.
   */
  readonly learn: boolean
  /** An answer was observed, or the permit handed back. */
  readonly settled: boolean
  /**
   * The instant the observed answer asked to come back at, as the coordinator reads it: an HTTP-date or an epoch
   * reset is measured with what it learned of the server's clock from earlier answers (never before the server's
   * instant, and up to a second sooner than the answer's `Date` alone tells).
   */
  readonly hintAt: number | undefined
  /**
   * The observed answer was a limiter's throttle without a hint, and the coordinator now paces its bucket to a rate
   * it inferred (at most 100 per second): a retry waits for its turn there, with no backoff of its own. Absent or
   * false otherwise.
   */
  readonly paced?: boolean | undefined
}

/**
 * What the coordinator needs to know of a request before it goes.
 *
 * @example
 * ```ts
 * import type { Coordinator } from "@effect-retry/core"
 *
 * const request: Coordinator.RequestInfo = {
 *   method: "GET",
 *   url: "https://api.example.com/items/1",
 *   headers: {},
 *   attempt: "first"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RequestInfo {
  readonly method: string
  readonly url: string
  /** Request headers with lower-case names (read only by a `key` function of the options). */
  readonly headers: headers.HeaderRecord
  /**
   * A first attempt, a retry after a backoff (subject to the retry budget), or a retry at the instant a server hint
   * gave (never refused: the server asked for it).
   */
  readonly attempt: "first" | "retry" | "retry-after-hint"
  /** A hold that would end past this instant (epoch milliseconds) fails at once with `OriginHeld`. Default: none. */
  readonly deadline?: number
}

/**
 * Why the coordinator holds or refuses a request: a cooldown the server gave, a quota or rate to keep to, a first
 * request whose answer the others wait for, or a retry refused because the server accepts too few requests.
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
export type HoldReason = "cooldown" | "pacing" | "learning" | "retry-budget"

export {
  /**
   * A call failed at once because requests to its origin are held past the call's deadline (its `timeout`): the
   * server asked every client to wait longer than this call may; or because the retry budget refused a retry
   * (`reason: "retry-budget"`). `until` is the instant, so a job can be re-scheduled.
   *
   * @example
   * ```ts
   * import { Coordinator } from "@effect-retry/core"
   * import { Effect } from "effect"
   *
   * const call: Effect.Effect<string, Coordinator.OriginHeld> = Effect.succeed("ok")
   * call.pipe(Effect.catchTag("OriginHeld", (e) => Effect.succeed(`retry at ${new Date(e.until).toISOString()}`)))
   * ```
   *
   * @since 0.1.0
   * @category errors
   */
  OriginHeld
} from "./internal/coordinator.js"

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
 * The coordinator service: `withStatusRetry` runs every attempt under one of its permits and tells it every answer
 * it asks for. `make` and `layer` give the in-memory one; a store shared by several processes can implement the
 * same interface.
 *
 * @example
 * ```ts
 * import { Coordinator } from "@effect-retry/core"
 * import { Effect } from "effect"
 *
 * const send = <A, E>(url: string, request: Effect.Effect<A, E>) =>
 *   Effect.flatMap(Coordinator.Coordinator, (coordinator) =>
 *     coordinator.withPermit({ method: "GET", url, headers: {}, attempt: "first" }, () => request))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Coordinator {
  /**
   * Waits until the request may go (no cooldown, quota or rate to wait for), runs `use` with its permit, and hands
   * the permit back however `use` ends. A hold that would end past the request's deadline fails at once with
   * `OriginHeld`, and so does a retry the retry budget refuses (`reason: "retry-budget"`). Interrupting a waiting call
   * gives up its place.
   */
  readonly withPermit: <A, E, R>(
    request: RequestInfo,
    use: (permit: Permit) => Effect.Effect<A, E, R>
  ) => Effect.Effect<A, E | internal.OriginHeld, R>
  /** The same permit as a scoped resource: handed back when the scope closes. */
  readonly permit: (request: RequestInfo) => Effect.Effect<Permit, internal.OriginHeld, Scope.Scope>
  /**
   * Learns from an answer: rate-limit headers pace its bucket, a 429 or 503 hint holds it until its instant, a
   * throttle without a hint slows the bucket to the rate the server accepts.
   */
  readonly observe: (permit: Permit, response: Observed) => Effect.Effect<void>
  /** How many origins (and keys) it holds state for. */
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
 *   retryBudget: { k: 2, minRequests: 20, window: "1 minute" }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CoordinatorOptions {
  /**
   * Calls held by a cooldown or an empty quota are released at random over this window after the instant, not all
   * at once (a rate inferred from throttling lets one request go at a time, on time). Default: 20 millis.
   */
  readonly releaseSpread?: Duration.DurationInput
  /**
   * While a bucket has never answered, one request goes first and the others follow its answer, ramping up as
   * answers come (twice as many in flight as answered), and so again when an idle bucket forgets a rate it inferred
   * from throttles without a hint; a new route of a known origin ramps up the same way (four in flight per accepted
   * answer). Default: `true`.
   */
  readonly cautiousStart?: boolean
  /**
   * Known limits per origin (`"https://api.example.com"`): no more than `requests` per `window` are sent, from the
   * very first request; when the server's rate-limit headers say otherwise, they take over. It is the quota of each
   * bucket of the origin: its own, and each one its answers name (an IETF policy name, `x-ratelimit-resource`).
   * `burst` (default: `requests`) sends at most that many at once and spaces the others evenly over the window, as a
   * limiter such as nginx's `limit_req` admits them (`burst: 1` for `rate=10r/s` with no burst). Default: none
   * (limits are learned from the rate-limit headers).
   *
   * `backToBack: true` says the server's windows follow each other back to back, one every `window` (a counter per
   * interval of its clock, such as a key per window in a shared store): once an answer has bounded a window's end,
   * each next window's quota goes at the last one's end, and that window lasts a window from its first request,
   * without waiting for its answers (a 429 within the quota turns this off). Default: `false`,
   * for servers whose window starts with the first request after the last one expired (the memory stores of
   * express-rate-limit and @fastify/rate-limit): each window's end is measured again from its first answer, which
   * costs that answer's time once per window.
   */
  readonly limits?: Readonly<
    Record<
      string,
      {
        readonly requests: number
        readonly window: Duration.DurationInput
        readonly burst?: number
        readonly backToBack?: boolean
      }
    >
  >
  /**
   * Adaptive client-side throttling of retries after a backoff (Google SRE): over a sliding `window`, a retry is
   * refused with probability max(0, (requests - k x accepts) / (requests + 1)), once at least `minRequests` were
   * answered, per origin and per route, and by the same formula over the origin's last two seconds (a healthy minute
   * buys no retries from a server that has just stopped answering). A server that accepts most requests gets every
   * retry; a dead one almost none.
   * Retries at the instant a server hint gave are never refused. A refused call stops with `stopReason`
   * "retry-budget". `false` turns it off. Default: `{ k: 2, minRequests: 20, window: "1 minute" }`.
   */
  readonly retryBudget?:
    | false
    | {
      readonly k?: number
      readonly minRequests?: number
      readonly window?: Duration.DurationInput
    }
  /**
   * A cooldown the server gives is shared with the other calls up to this long; a longer hint holds only the call
   * that received it (it fails fast past its `maxRetryAfter`, with the instant). Default: 1 minute.
   */
  readonly maxSharedCooldown?: Duration.DurationInput
  /**
   * A key of the request's own, such as a hash of its credential: requests with different keys to one origin
   * share nothing (each API key has its own limit). Default: none (state per origin).
   */
  readonly key?: (request: RequestInfo) => string | undefined
  /** An origin unused this long is forgotten, whatever it learned. Default: 5 minutes. */
  readonly originTtl?: Duration.DurationInput
  /** At most this many origins (and keys) are remembered; the least recently used go first. Default: 10 000. */
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
 * const program: Effect.Effect<string> = Effect.succeed("ok")
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
