/**
 * HTTP statuses as typed retryable and permanent errors, `Retry-After` and rate-limit parsing, and jittered retry
 * schedules for Effect.
 *
 * @since 0.1.0
 */

/**
 * Exponential backoff with jitter, as `Schedule`s.
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * Herd control: one shared view, per origin, of when to come back.
 *
 * @since 0.1.0
 */
export * as Coordinator from "./Coordinator.js"

/**
 * HTTP-dates: parse all three formats, format each of them.
 *
 * @since 0.1.0
 */
export * as HttpDate from "./HttpDate.js"

/**
 * Rate-limit response headers.
 *
 * @since 0.1.0
 */
export * as RateLimit from "./RateLimit.js"

/**
 * Redaction: the rules that keep credentials out of errors, log lines and spans.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * The `Retry-After` response header.
 *
 * @since 0.1.0
 */
export * as RetryAfter from "./RetryAfter.js"

/**
 * The retry decision, as a `Schedule` and a combinator.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * When the server asked the client to come back.
 *
 * @since 0.1.0
 */
export * as ServerHint from "./ServerHint.js"

/**
 * HTTP failure statuses as typed errors.
 *
 * @since 0.1.0
 */
export * as StatusError from "./StatusError.js"

/**
 * Which statuses are retried, and how.
 *
 * @since 0.1.0
 */
export * as StatusPolicy from "./StatusPolicy.js"
