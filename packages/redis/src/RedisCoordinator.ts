/**
 * Fleet mode for the coordinator: one view of each rate-limit bucket across every process, shared through Redis.
 *
 * Per bucket (origin, `key` and the bucket the server names, as the in-memory coordinator computes them), one Redis
 * hash holds the cooldown a 429/503 hint gave, the epoch (id) of the current window, its limit, its remaining quota
 * and its end. Each admission and each answer that teaches something is one `EVALSHA` of one Lua script (loaded
 * again on `NOSCRIPT`), timed by Redis `TIME`, every key expiring (`PEXPIRE`) soon after the last instant it holds,
 * in one cluster hash tag per bucket. The admissions a process asks for at once share one call: one round trip
 * admits a burst, and a process has at most one admission per bucket in flight. A window's quota is decremented
 * atomically, so the processes together send at most the server's limit per window; when it is spent they wait for
 * its end, and one request of the whole fleet opens the next window (and a bucket nobody knows yet) while the others
 * wait for its answer. The script publishes the bucket on a channel (`<prefix>:opened`) when that answer comes (or its
 * opener gives up), and each process listens on a second connection: its held calls ask again at once, together,
 * rather than at their next poll (every 10 to 20 ms, which stays as the fallback when a message is lost). The quota
 * and reset of an answer from an older window are dropped; a 429/503 hint, an instant the server told, holds every
 * process whatever window it came from (also from a request decided alone while Redis was slow). A limit told in
 * `coordinator.limits` is one quota for the whole fleet, per window, counted in one hash per origin (and `key`)
 * whatever buckets the server names.
 *
 * The in-memory coordinator stays the first layer. Each Redis call waits `timeout` at most; a call asks again after
 * up to three slow replies (its deadline allowing), then the request is decided locally, at this process's share of
 * the last known limit (the limit over the processes that asked lately, per window, its requests evenly spaced over the
 * window). A lost connection is logged once, and sharing resumes when Redis answers again.
 *
 * @since 0.1.0
 */
import type * as Coordinator from "@effect-retry/core/Coordinator"
import { Coordinator as CoordinatorTag } from "@effect-retry/core/Coordinator"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Metric from "effect/Metric"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/redisCoordinator.js"

/**
 * Options of a Redis-backed coordinator, each with a documented default.
 *
 * @example
 * ```ts
 * import type { RedisCoordinator } from "@effect-retry/redis"
 *
 * const options: RedisCoordinator.Options = {
 *   url: "redis://127.0.0.1:6379",
 *   prefix: "billing-workers",
 *   timeout: "75 millis",
 *   coordinator: {
 *     releaseSpread: "20 millis",
 *     limits: { "https://api.example.com": { requests: 100, window: "1 minute" } }
 *   }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The Redis server, `redis://[user:password@]host:port[/db]` or `rediss://`. Default: `redis://127.0.0.1:6379`. */
  readonly url?: string
  /** Prefix of every key written; processes share state only under the same prefix. Default: `"effect-retry"`. */
  readonly prefix?: string
  /**
   * Each Redis call waits this long at most; then the request is decided locally (fail open, never unlimited).
   * Default: 75 millis.
   */
  readonly timeout?: Duration.DurationInput
  /**
   * When a window ends (or nobody knows a bucket yet), one request of the fleet goes first and the others wait for
   * its answer, at most this long: then another one goes. Default: 1 second.
   */
  readonly openerTimeout?: Duration.DurationInput
  /**
   * Options of the in-memory coordinator each process keeps as its first layer (its retry budget and inferred rates
   * stay per process; while Redis keeps a bucket's windows, successes do not teach it the quota); its
   * `releaseSpread` spreads the calls held while Redis does not answer (the calls Redis held go at the instant it
   * names: Redis lets one of them open the window), and its `maxSharedCooldown` caps the cooldowns shared through
   * Redis too. Its `limits` are quotas of the whole fleet, one per origin (and `key`) whatever buckets the server
   * names: a told window opens with the fleet's first admission after the last one ended and admits the told
   * requests across every process, with no opener to wait for; it ends a window after its first answer (with
   * `backToBack`, the windows after one so measured follow it, and a 429 within the quota has the next one measured
   * again); the rate-limit fields of answers that name no bucket narrow its end, and the limit they state replaces
   * the told one from the next window. Each process also keeps to the told limit alone, and, while Redis does not answer,
   * to its share of it (the limit over the processes Redis last counted; all of it before Redis ever answered). A
   * told `burst` is refused: spacing the fleet's requests evenly would need a round trip to Redis per request.
   * Default: `Coordinator.layer()`'s defaults,
   * except `cautiousStart: false`: Redis lets one request of the whole fleet go first, and the window its answer
   * opens admits its quota at once, where a cautious start would ramp each process up over several round trips of
   * its own (and push the window's last request, and so the next window, later).
   */
  readonly coordinator?: Coordinator.CoordinatorOptions
}

/**
 * Makes a coordinator that shares each bucket's state with the other processes through Redis, for the life of the
 * scope (the connection closes with it); throws `InvalidRetryOptions` for bad options.
 *
 * @example
 * ```ts
 * import { RedisCoordinator } from "@effect-retry/redis"
 * import { Effect } from "effect"
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const coordinator = yield* RedisCoordinator.make({ url: "redis://127.0.0.1:6379" })
 *   return yield* coordinator.size
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options?: Options): Effect.Effect<Coordinator.Coordinator, never, Scope.Scope> =>
  internal.make(internal.resolve(options))

/**
 * Provides the `Coordinator` service backed by Redis: every `withStatusRetry` client of every process that uses the
 * same Redis and prefix shares one view of each bucket. Bad options throw `InvalidRetryOptions` when built.
 *
 * @example
 * ```ts
 * import { RedisCoordinator } from "@effect-retry/redis"
 * import { Effect } from "effect"
 *
 * const program: Effect.Effect<void> = Effect.void
 * const shared = program.pipe(Effect.provide(RedisCoordinator.layer({ url: "redis://127.0.0.1:6379" })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Coordinator.Coordinator> => {
  const settings = internal.resolve(options)
  return Layer.scoped(CoordinatorTag, internal.make(settings))
}

/**
 * Counts what a process decided without Redis because Redis failed or did not answer within `timeout`: each request it
 * admitted alone (once, however often it asked Redis first; a slow reply asked again and answered counts nothing),
 * and each report of an outcome (an answer, an opener given up) that got no reply in time or was not sent while Redis
 * was taken for down.
 *
 * @example
 * ```ts
 * import { RedisCoordinator } from "@effect-retry/redis"
 * import { Effect, Metric } from "effect"
 *
 * const local = Effect.map(Metric.value(RedisCoordinator.fallbacks), (state) => state.count)
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const fallbacks: Metric.Metric.Counter<number> = internal.fallbacks
