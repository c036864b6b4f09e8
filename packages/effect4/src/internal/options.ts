import * as Backoff from "@effect-retry/engine/Backoff"
import * as Methods from "@effect-retry/engine/Methods"
import * as Redaction from "@effect-retry/engine/Redaction"
import type * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"
import type * as StatusRetry from "../StatusRetry.js"
import * as StatusPolicy from "../StatusPolicy.js"

/** @internal */
export class InvalidRetryOptions extends Data.TaggedError("InvalidRetryOptions")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message(): string {
    return `invalid retry options: ${this.problems.join("; ")}`
  }
}

/** The longest sleep a JavaScript timer holds: 2^31 - 1 ms (about 24.8 days). @internal */
export const MAX_TIMER_MILLIS = 2 ** 31 - 1

/** @internal */
export const defaults = {
  maxAttempts: 10,
  maxTransientAttempts: 4,
  timeout: "30 seconds",
  maxRetryAfter: "30 seconds",
  backoff: { baseDelay: "100 millis", throttledBaseDelay: "1 second", maxDelay: "10 seconds", jitter: "full" },
  retryAfterSpread: 0.02,
  maxRetryAfterSpread: "1 second",
  methods: Methods.IDEMPOTENT_METHODS,
  idempotencyKey: false,
  body: { maxErrorSize: 64 * 1024 }
} as const

/** @internal */
export interface Settings {
  readonly policy: RetryDecision.Policy
  readonly statusPolicy: StatusPolicy.StatusPolicy
  /** For requests with an Idempotency-Key: 409 (the same key still in flight) is transient. */
  readonly keyedPolicy: StatusPolicy.StatusPolicy
  readonly attemptTimeout: number | undefined
  readonly methods: ReadonlySet<string>
  readonly idempotencyKey: (() => string) | undefined
  readonly maxErrorBodySize: number
  readonly redactHeaders: ReadonlyArray<string | RegExp>
  readonly redactQueryParams: ReadonlyArray<string>
  readonly classify: ((attempt: StatusRetry.Attempt) => StatusPolicy.Outcome | undefined) | undefined
  /** The rules for the names of the calling fiber's `Headers.CurrentRedactedNames`, built once per list. */
  readonly rules: (names: ReadonlyArray<string | RegExp>) => Redaction.Redactor
}

/** @internal */
export const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  if (typeof u === "bigint") return `${u}n`
  try {
    return JSON.stringify(u) ?? String(u)
  } catch {
    return String(u)
  }
}

/** @internal */
export const millis = (problems: Array<string>, name: string, value: unknown, fallback: Duration.Input): number => {
  const input = value === undefined ? fallback : value
  const negative = (typeof input === "number" && input < 0) ||
    (typeof input === "string" && input.trim().startsWith("-"))
  const decoded = negative || (typeof input === "number" && Number.isNaN(input))
    ? Option.none()
    : Duration.fromInput(input as Duration.Input)
  const ms = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : NaN
  if (!(ms >= 0 && ms <= MAX_TIMER_MILLIS)) {
    problems.push(`${name} must be a duration from 0 to ${MAX_TIMER_MILLIS} ms, got ${show(input)}`)
    return NaN
  }
  return ms
}

/** @internal */
export const count = (problems: Array<string>, name: string, value: unknown, fallback: number, min: number): number => {
  const n = value === undefined ? fallback : value
  if (typeof n !== "number" || !Number.isInteger(n) || n < min) {
    problems.push(`${name} must be a whole number of at least ${min}, got ${show(n)}`)
    return NaN
  }
  return n
}

/** @internal */
export const between = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number
): number => {
  const n = value === undefined ? fallback : value
  if (typeof n !== "number" || !(n >= min && n <= max)) {
    problems.push(`${name} must be a number from ${min} to ${max}, got ${show(n)}`)
    return NaN
  }
  return n
}

const fraction = (problems: Array<string>, name: string, value: unknown, fallback: number): number =>
  between(problems, name, value, fallback, 0, 1)

/** The retry options `withStatusRetry` and `RetryPolicy.schedule` share. @internal */
export type RetryOptions = Pick<
  StatusRetry.Options,
  | "maxAttempts"
  | "maxTransientAttempts"
  | "timeout"
  | "maxRetryAfter"
  | "retryAfterSpread"
  | "maxRetryAfterSpread"
  | "backoff"
>

/** @internal */
export const resolvePolicy = (problems: Array<string>, options: RetryOptions): RetryDecision.Policy => {
  const b = options.backoff ?? {}
  const baseDelay = millis(problems, "backoff.baseDelay", b.baseDelay, defaults.backoff.baseDelay)
  const throttledBaseDelay = millis(
    problems,
    "backoff.throttledBaseDelay",
    b.throttledBaseDelay,
    defaults.backoff.throttledBaseDelay
  )
  const maxDelay = millis(problems, "backoff.maxDelay", b.maxDelay, defaults.backoff.maxDelay)
  const jitter = b.jitter ?? defaults.backoff.jitter
  if (!Backoff.JITTERS.includes(jitter)) {
    problems.push(`backoff.jitter must be one of ${Backoff.JITTERS.map(show).join(", ")}, got ${show(jitter)}`)
  }
  if (baseDelay === 0 || throttledBaseDelay === 0) problems.push("backoff base delays must be more than zero")
  if (maxDelay < Math.max(baseDelay, throttledBaseDelay)) {
    problems.push(`backoff.maxDelay (${maxDelay} ms) must be at least the base delays`)
  }
  return {
    maxAttempts: count(problems, "maxAttempts", options.maxAttempts, defaults.maxAttempts, 1),
    maxTransientAttempts: count(
      problems,
      "maxTransientAttempts",
      options.maxTransientAttempts,
      defaults.maxTransientAttempts,
      1
    ),
    timeout: millis(problems, "timeout", options.timeout, defaults.timeout),
    maxRetryAfter: millis(problems, "maxRetryAfter", options.maxRetryAfter, defaults.maxRetryAfter),
    retryAfterSpread: fraction(problems, "retryAfterSpread", options.retryAfterSpread, defaults.retryAfterSpread),
    maxRetryAfterSpread: millis(
      problems,
      "maxRetryAfterSpread",
      options.maxRetryAfterSpread,
      defaults.maxRetryAfterSpread
    ),
    transientBackoff: { jitter, baseDelay, maxDelay, factor: 2 },
    throttledBackoff: { jitter, baseDelay: throttledBaseDelay, maxDelay, factor: 2 }
  }
}

/** @internal */
export const policyOf = (options: RetryOptions = {}): RetryDecision.Policy => {
  const problems: Array<string> = []
  const policy = resolvePolicy(problems, options)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  return policy
}

/** @internal */
export const resolve = (options: StatusRetry.Options = {}): Settings => {
  const problems: Array<string> = []
  const policy = resolvePolicy(problems, options)
  const attemptTimeout = options.attemptTimeout === undefined
    ? undefined
    : millis(problems, "attemptTimeout", options.attemptTimeout, 0)
  const methods = new Set<string>()
  for (const method of options.methods ?? defaults.methods) {
    if (typeof method !== "string" || !/^[A-Za-z]+$/.test(method)) {
      problems.push(`methods: ${show(method)} is no method`)
    } else methods.add(method.toUpperCase())
  }
  const key = options.idempotencyKey ?? defaults.idempotencyKey
  const maxErrorBodySize = options.body?.maxErrorSize ?? defaults.body.maxErrorSize
  if (!(typeof maxErrorBodySize === "number" && maxErrorBodySize >= 0)) {
    problems.push(`body.maxErrorSize must be a number of bytes, got ${show(maxErrorBodySize)}`)
  }
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  const statusPolicy = options.statusPolicy ?? StatusPolicy.defaultPolicy
  const redactHeaders = options.redact?.headers ?? []
  const redactQueryParams = options.redact?.queryParams ?? []
  const cache = new WeakMap<ReadonlyArray<string | RegExp>, Redaction.Redactor>()
  return {
    policy,
    statusPolicy,
    keyedPolicy: StatusPolicy.make({
      throttled: statusPolicy.throttled,
      transient: [...statusPolicy.transient, 409]
    }),
    attemptTimeout,
    methods,
    idempotencyKey: key === false ? undefined : key === true ? () => globalThis.crypto.randomUUID() : key,
    maxErrorBodySize,
    redactHeaders,
    redactQueryParams,
    classify: options.classify,
    rules: (names) => {
      let rules = cache.get(names)
      if (rules === undefined) {
        rules = Redaction.make([...redactHeaders, ...names], redactQueryParams)
        cache.set(names, rules)
      }
      return rules
    }
  }
}
