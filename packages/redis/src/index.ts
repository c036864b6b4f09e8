/**
 * Fleet mode for effect-retry's coordinator: one view of each rate-limit bucket across every process, on Redis.
 *
 * @since 0.1.0
 */

/**
 * A `Coordinator` whose state is shared through Redis, with the in-memory one as its first layer.
 *
 * @since 0.1.0
 */
export * as RedisCoordinator from "./RedisCoordinator.js"
