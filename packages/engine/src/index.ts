/**
 * The engine of effect-retry: header parsing, HTTP-dates, rate-limit fields, redaction rules, backoff arithmetic and
 * the coordinator's state machine, on plain values. It imports nothing from `effect`; the Effect 3 and Effect 4
 * lines of the toolkit both build on it.
 *
 * @since 0.1.0
 */

/**
 * Response headers as the engine reads them: a record of lower-case names, one value read at a time.
 *
 * @since 0.1.0
 */
export * as Headers from "./Headers.js"

/**
 * HTTP-dates (RFC 9110): the IMF-fixdate, RFC 850 and asctime forms, parsed to epoch milliseconds and formatted back.
 *
 * @since 0.1.0
 */
export * as HttpDate from "./HttpDate.js"

/**
 * Rate-limit response fields: the IETF `RateLimit` and `RateLimit-Policy` structured fields and the `X-RateLimit-*` headers.
 *
 * @since 0.1.0
 */
export * as RateLimit from "./RateLimit.js"

/**
 * Redaction rules: which header values, URL parts and query parameters never reach an error, a log line or a span.
 *
 * @since 0.1.0
 */
export * as Redaction from "./Redaction.js"

/**
 * Response bodies read part by part up to a cap: the start of a failure's body kept on its error, or a whole body of at most so many bytes.
 *
 * @since 0.1.0
 */
export * as Body from "./Body.js"

/**
 * Exponential backoff with jitter on plain milliseconds: the strategies of "Exponential Backoff and Jitter" (none, full, equal, decorrelated) plus a ×0.8–1.2 spread.
 *
 * @since 0.1.0
 */
export * as Backoff from "./Backoff.js"

/**
 * The coordinator's state machine: per-origin routes, cooldowns, learned pacing and probes, a clock reading in and a decision out.
 *
 * @since 0.1.0
 */
export * as CoordinatorState from "./CoordinatorState.js"

/**
 * A server's hint, read from a response's headers once: `Retry-After` (delay-seconds or an HTTP-date), `Retry-After-Ms`, then the rate-limit fields when no request remains.
 *
 * @since 0.1.0
 */
export * as ServerHint from "./ServerHint.js"

/**
 * The server's clock as its `Date` headers tell it: bounds that narrow with each answer, so an instant given against
 * `Date` can be read sooner and never early.
 *
 * @since 0.1.0
 */
export * as ServerClock from "./ServerClock.js"

/**
 * Checks of numeric options that both lines make, each reporting a problem in the same words.
 *
 * @since 0.1.0
 */
export * as OptionChecks from "./OptionChecks.js"

/**
 * The pure retry decision: after a failed attempt, retry after how many milliseconds, or stop and why, from the policy, the loop's state, the server's hint, the time and a random draw.
 *
 * @since 0.1.0
 */
export * as RetryDecision from "./RetryDecision.js"

/**
 * The status table: which HTTP statuses are throttled, transient or permanent failures, their reason phrases and the tags of their error classes.
 *
 * @since 0.1.0
 */
export * as Status from "./Status.js"

/**
 * Method and idempotency safety: which requests may be sent again once they left, and which failures prove a request never left.
 *
 * @since 0.1.0
 */
export * as Methods from "./Methods.js"

/**
 * What the coordinator learns from an answer: the origin of a URL, and an answer's status, hints and rate-limit fields as its state machine takes them.
 *
 * @since 0.1.0
 */
export * as CoordinatorAnswer from "./CoordinatorAnswer.js"

/**
 * What a coordinator does around its state machine: the request of a URL, the step after `admit` (go, stop or wait, until when, in which group, what to log), the held calls by group, its options checked and its metrics named.
 *
 * @since 0.1.0
 */
export * as CoordinatorPlan from "./CoordinatorPlan.js"
