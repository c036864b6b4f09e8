import * as EngineBackoff from "@effect-retry/engine/Backoff"
import * as Methods from "@effect-retry/engine/Methods"
import * as OptionChecks from "@effect-retry/engine/OptionChecks"
import * as Redaction from "@effect-retry/engine/Redaction"
import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as RetryPolicy from "../RetryPolicy.js"
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
  body: { read: false, maxSize: 4 * 1024 * 1024, maxErrorSize: 64 * 1024 },
  redact: { headers: [], queryParams: [] }
} as const

/** @internal */
export interface Settings {
  /** The options these settings were resolved from: a per-call override is merged over them. */
  readonly options: StatusRetry.Options
  readonly policy: RetryDecision.Policy
  /**
   * The same under a coordinator: its retry budget guards the server, so unless the options say otherwise a call may
   * meet more transient failures (the engine's `COORDINATED_TRANSIENT_ATTEMPTS`, within `maxAttempts`).
   */
  readonly policyCoordinated: RetryDecision.Policy
  /** The backoff `Schedule` given in the options, if any. */
  readonly backoff: Backoff | undefined
  readonly statusPolicy: StatusPolicy.StatusPolicy
  /** For requests with an Idempotency-Key: 409 (the same key still in flight) is transient. */
  readonly keyedPolicy: StatusPolicy.StatusPolicy
  readonly attemptTimeout: number | undefined
  readonly methods: ReadonlySet<string>
  readonly idempotencyKey: (() => string) | undefined
  readonly bodyRead: boolean
  /** Bytes; Infinity for no cap. */
  readonly bodyMaxSize: number
  readonly maxErrorBodySize: number
  readonly redactHeaders: ReadonlyArray<string | RegExp>
  readonly redactQueryParams: ReadonlyArray<string>
  readonly classify: ((attempt: StatusRetry.Attempt) => StatusPolicy.Outcome | undefined) | undefined
  readonly onRetry: ((info: RetryPolicy.RetryInfo) => Effect.Effect<unknown>) | undefined
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
export const count = (problems: Array<string>, name: string, value: unknown, fallback: number, min: number): number =>
  OptionChecks.wholeNumber(problems, name, value, fallback, min, show)

/** @internal */
export const between = (
  problems: Array<string>,
  name: string,
  value: unknown,
  fallback: number,
  min: number,
  max: number
): number => OptionChecks.numberBetween(problems, name, value, fallback, min, max, show)

/** A backoff `Schedule`, stepped by each failure with no server hint. @internal */
export type Backoff = Schedule.Schedule<unknown, never>

/** The options grouped under one name, and the keys each group holds. */
const GROUPS = {
  backoff: ["baseDelay", "throttledBaseDelay", "maxDelay", "jitter"],
  body: ["read", "maxSize", "maxErrorSize"],
  redact: ["headers", "queryParams"]
} as const

type Group = keyof typeof GROUPS

/** Whether a value is a group of settings (a backoff `Schedule` is not: it replaces, it is not merged). */
const isGroup = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Schedule.isSchedule(u)

/** The settings of a group (none when absent), a problem for anything else or an unknown key. */
const group = <A>(problems: Array<string>, name: Group, value: unknown): A => {
  // A backoff `Schedule` holds no settings: the defaults are kept for what it does not decide.
  if (value === undefined || (name === "backoff" && Schedule.isSchedule(value))) return {} as A
  if (!isGroup(value)) {
    const what = name === "backoff" ? "a Schedule or { " : "{ "
    problems.push(`${name} must be ${what}${GROUPS[name].join(", ")} }, got ${show(value)}`)
    return {} as A
  }
  for (const key of Object.keys(value)) {
    if (!(GROUPS[name] as ReadonlyArray<string>).includes(key)) problems.push(`${name}.${key} is not an option`)
  }
  return value as A
}

/**
 * Options over others: a group of settings (`backoff`, `body`, `redact`) adds to the group below it, key by key;
 * any other option, a backoff `Schedule` included, replaces the one below.
 * @internal
 */
export const merge = <A extends StatusRetry.CallOptions>(below: A, above: StatusRetry.CallOptions): A => {
  const merged: Record<string, unknown> = { ...below, ...above }
  for (const name of Object.keys(GROUPS)) {
    const lower: unknown = (below as Record<string, unknown>)[name]
    const upper: unknown = (above as Record<string, unknown>)[name]
    if (isGroup(lower) && isGroup(upper)) merged[name] = { ...lower, ...upper }
  }
  return merged as A
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
  const b = group<StatusRetry.BackoffOptions>(problems, "backoff", options.backoff)
  const baseDelay = millis(problems, "backoff.baseDelay", b.baseDelay, defaults.backoff.baseDelay)
  const throttledBaseDelay = millis(
    problems,
    "backoff.throttledBaseDelay",
    b.throttledBaseDelay,
    defaults.backoff.throttledBaseDelay
  )
  const maxDelay = millis(problems, "backoff.maxDelay", b.maxDelay, defaults.backoff.maxDelay)
  const jitter = b.jitter ?? defaults.backoff.jitter
  if (!EngineBackoff.JITTERS.includes(jitter)) {
    problems.push(`backoff.jitter must be one of ${EngineBackoff.JITTERS.map(show).join(", ")}, got ${show(jitter)}`)
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

/** The backoff `Schedule` of the options, if they give one. @internal */
export const scheduleOf = (options: RetryOptions): Backoff | undefined =>
  Schedule.isSchedule(options.backoff) ? options.backoff as Backoff : undefined

const onRetryProblem = (problems: Array<string>, onRetry: unknown): void => {
  if (onRetry !== undefined && typeof onRetry !== "function") {
    problems.push(`onRetry must be a function returning an Effect, got ${show(onRetry)}`)
  }
}

/** Throws when `onRetry` is given and is not a function. @internal */
export const checkOnRetry = (onRetry: unknown): void => {
  const problems: Array<string> = []
  onRetryProblem(problems, onRetry)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
}

/** @internal */
export const policyOf = (options: RetryOptions = {}): RetryDecision.Policy => {
  const problems: Array<string> = []
  const policy = resolvePolicy(problems, options)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  return policy
}

/** Every option `withStatusRetry` reads: anything else is a typo. */
const KNOWN_OPTIONS: ReadonlyArray<string> = [
  "statusPolicy",
  "maxAttempts",
  "maxTransientAttempts",
  "timeout",
  "maxRetryAfter",
  "retryAfterSpread",
  "maxRetryAfterSpread",
  "backoff",
  "attemptTimeout",
  "methods",
  "idempotencyKey",
  "body",
  "redact",
  "classify",
  "onRetry"
]

/** The options one call may not override: how its requests are built, and what is redacted. */
const CLIENT_OPTIONS: ReadonlyArray<string> = ["idempotencyKey", "redact"]

/** The problems of options that are not an object, or that hold a key that is not an option (of one call). */
const unknownKeys = (problems: Array<string>, options: unknown, call: boolean): void => {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new InvalidRetryOptions({ problems: [`options must be an object, got ${show(options)}`] })
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.includes(key)) problems.push(`${JSON.stringify(key)} is not an option of withStatusRetry`)
    else if (call && CLIENT_OPTIONS.includes(key)) {
      problems.push(`${JSON.stringify(key)} is an option of the client, not of one call`)
    }
  }
}

/** @internal */
export const resolve = (options: StatusRetry.Options = {}): Settings => {
  const problems: Array<string> = []
  unknownKeys(problems, options, false)
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
  const body = group<StatusRetry.BodyOptions>(problems, "body", options.body)
  const bodyRead = body.read ?? defaults.body.read
  if (typeof bodyRead !== "boolean") problems.push(`body.read must be true or false, got ${show(bodyRead)}`)
  const bodyMaxSize = body.maxSize ?? defaults.body.maxSize
  if (
    !(typeof bodyMaxSize === "number" && bodyMaxSize >= 1 &&
      (Number.isInteger(bodyMaxSize) || bodyMaxSize === Infinity))
  ) {
    problems.push(
      `body.maxSize must be a whole number of bytes of at least 1 (Infinity for no cap), got ${show(bodyMaxSize)}`
    )
  }
  const maxErrorBodySize = body.maxErrorSize ?? defaults.body.maxErrorSize
  if (!(typeof maxErrorBodySize === "number" && maxErrorBodySize >= 0 && Number.isInteger(maxErrorBodySize))) {
    problems.push(`body.maxErrorSize must be a whole number of bytes (0 for none), got ${show(maxErrorBodySize)}`)
  }
  const redact = group<StatusRetry.RedactOptions>(problems, "redact", options.redact)
  if (options.classify !== undefined && typeof options.classify !== "function") {
    problems.push(`classify must be a function, got ${show(options.classify)}`)
  }
  onRetryProblem(problems, options.onRetry)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  const statusPolicy = options.statusPolicy ?? StatusPolicy.defaultPolicy
  const redactHeaders = redact.headers ?? defaults.redact.headers
  const redactQueryParams = redact.queryParams ?? defaults.redact.queryParams
  const cache = new WeakMap<ReadonlyArray<string | RegExp>, Redaction.Redactor>()
  return {
    options,
    policy,
    policyCoordinated: options.maxTransientAttempts === undefined
      ? {
        ...policy,
        maxTransientAttempts: Math.min(RetryDecision.COORDINATED_TRANSIENT_ATTEMPTS, policy.maxAttempts)
      }
      : policy,
    backoff: scheduleOf(options),
    statusPolicy,
    keyedPolicy: StatusPolicy.retrying(statusPolicy, [409]),
    attemptTimeout,
    methods,
    idempotencyKey: key === false ? undefined : key === true ? () => globalThis.crypto.randomUUID() : key,
    bodyRead,
    bodyMaxSize,
    maxErrorBodySize,
    redactHeaders,
    redactQueryParams,
    classify: options.classify,
    onRetry: options.onRetry,
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

/** Options of one call, checked where they are written: a bad one throws there. @internal */
export const checkCall = (options: StatusRetry.CallOptions): void => {
  const problems: Array<string> = []
  unknownKeys(problems, options, true)
  if (problems.length > 0) throw new InvalidRetryOptions({ problems })
  resolve(options)
}
