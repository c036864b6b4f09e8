import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Coordinator from "@effect-retry/core/Coordinator"
import * as Redaction from "@effect-retry/core/Redaction"
import * as ServerHint from "@effect-retry/core/ServerHint"
import * as RetryPolicy from "@effect-retry/core/RetryPolicy"
import * as StatusError from "@effect-retry/core/StatusError"
import * as StatusPolicy from "@effect-retry/core/StatusPolicy"
import * as Body from "@effect-retry/engine/Body"
import * as CoordinatorAnswer from "@effect-retry/engine/CoordinatorAnswer"
import * as methods from "@effect-retry/engine/Methods"
import * as Redact from "@effect-retry/engine/Redaction"
import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as ServerClock from "@effect-retry/engine/ServerClock"
import * as Status from "@effect-retry/engine/Status"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as MetricKey from "effect/MetricKey"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as StatusRetry from "../StatusRetry.js"

/** @internal */
export const IDEMPOTENT_METHODS: ReadonlyArray<string> = methods.IDEMPOTENT_METHODS
const RESEND_COUNT = "http.request.resend_count"

/** @internal */
export interface Settings {
  /** The options these settings were resolved from (a per-call override is merged into them). */
  readonly options: StatusRetry.Options
  readonly retry: RetryPolicy.RetryPolicy
  /**
   * The same under a coordinator: its retry budget guards the server, so unless the options say otherwise a call may
   * meet more transient failures (the engine's `COORDINATED_TRANSIENT_ATTEMPTS`, within `maxAttempts`).
   */
  readonly retryCoordinated: RetryPolicy.RetryPolicy
  readonly policy: StatusPolicy.StatusPolicy
  /** The policy for requests with an Idempotency-Key: 409 (the same key still in flight) is transient. */
  readonly keyedPolicy: StatusPolicy.StatusPolicy
  /** Milliseconds, or undefined for none. */
  readonly attemptTimeout: number | undefined
  readonly methods: ReadonlySet<string>
  readonly idempotencyKey: (() => string) | undefined
  readonly bodyRead: boolean
  /** Bytes; Infinity for no cap. */
  readonly bodyMaxSize: number
  /** Bytes of a failure's body kept on its error; 0 for none. */
  readonly bodyMaxErrorSize: number
  /** The rules, given the names of `Headers.currentRedactedNames` in the calling fiber. */
  readonly rules: (names: ReadonlyArray<string | RegExp>) => Redaction.Redactor
  /** The user's classification, if any. */
  readonly classify: ((attempt: StatusRetry.Attempt) => StatusPolicy.Outcome | undefined) | undefined
}

/** @internal */
export const defaults = {
  ...RetryPolicy.defaults,
  statusPolicy: StatusPolicy.defaultPolicy,
  attemptTimeout: Duration.infinity,
  /** The idempotent methods of RFC 9110 section 9.2.2. */
  methods: ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"] as ReadonlyArray<string>,
  idempotencyKey: false,
  body: {
    read: false,
    maxSize: 4 * 1024 * 1024,
    maxErrorSize: 64 * 1024
  },
  redact: {
    headers: [],
    queryParams: []
  }
} as const

const retriesKey = MetricKey.counter("http_client_retries_total", {
  description: "Retries made by withStatusRetry, by failure kind and delay source",
  incremental: true
})

/** @internal */
export const retries = Metric.fromMetricKey(retriesKey)

const giveUpsKey = MetricKey.counter("http_client_retry_give_ups_total", {
  description: "Calls withStatusRetry stopped retrying, by reason",
  incremental: true
})

/** @internal */
export const giveUps = Metric.fromMetricKey(giveUpsKey)

/** Whether the fiber writes debug log lines. */
const debugging = (fiber: { readonly getFiberRef: <A>(ref: FiberRef.FiberRef<A>) => A }): boolean =>
  LogLevel.lessThanEqual(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), LogLevel.Debug)

/**
 * A counter of each tag value, made once. Each is made from a key that carries its tags: `Metric.tagged` would build
 * and hash a new key on every update (about 5 µs each).
 */
const tagged = <A>(make: (key: string) => A): (key: string) => A => {
  const made = new Map<string, A>()
  return (key) => {
    let metric = made.get(key)
    if (metric === undefined) made.set(key, metric = make(key))
    return metric
  }
}

const retriesByKey = tagged((key) => {
  const [kind, source] = key.split(" ") as [string, string]
  return Metric.fromMetricKey(MetricKey.tagged(MetricKey.tagged(retriesKey, "kind", kind), "source", source))
})
const retriesBy = (kind: string, source: string) => retriesByKey(`${kind} ${source}`)
const giveUpsBy = tagged((reason) => Metric.fromMetricKey(MetricKey.tagged(giveUpsKey, "reason", reason)))

/** @internal */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{
  readonly method: string
  readonly url: string
  readonly status: number
  /** The `body.maxSize` in force, in bytes. */
  readonly maxSize: number
}> {
  override get message(): string {
    return `the body of ${this.status} ${this.method} ${this.url} is larger than body.maxSize (${this.maxSize} bytes)`
  }
}

const show = (u: unknown): string => {
  if (typeof u === "string") return JSON.stringify(u)
  if (typeof u === "function") return "a function"
  if (typeof u === "symbol" || u instanceof RegExp) return String(u)
  if (Array.isArray(u)) return `[${u.map(show).join(",")}]`
  if (typeof u === "object" && u !== null) {
    try {
      return JSON.stringify(u) ?? String(u)
    } catch {
      return String(u)
    }
  }
  return String(u)
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** Every option withStatusRetry reads: anything else is a typo. */
const KNOWN_OPTIONS: ReadonlySet<string> = new Set([
  "maxAttempts",
  "maxTransientAttempts",
  "timeout",
  "maxRetryAfter",
  "backoff",
  "retryAfterSpread",
  "maxRetryAfterSpread",
  "onRetry",
  "statusPolicy",
  "attemptTimeout",
  "methods",
  "idempotencyKey",
  "body",
  "classify",
  "redact"
])

/** The options grouped under one name, and what each group holds. */
const GROUPS: Readonly<Record<"body" | "redact", ReadonlySet<string>>> = {
  body: new Set(["read", "maxSize", "maxErrorSize"]),
  redact: new Set(["headers", "queryParams"])
}

/** A group of options (`body`, `redact`): an object of known keys, or a problem. */
const group = <A extends object>(problems: Array<string>, name: keyof typeof GROUPS, value: unknown): A => {
  if (value === undefined) return {} as A
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`${name} must be an object { ${[...GROUPS[name]].join(", ")} }, got ${show(value)}`)
    return {} as A
  }
  for (const key of Object.keys(value)) {
    if (!GROUPS[name].has(key)) problems.push(`${name}.${key} is not an option of withStatusRetry`)
  }
  return value as A
}

/** Whether an option is a group of settings to merge key by key (a backoff `Schedule` replaces, it is not merged). */
const isGroup = (u: unknown): u is object =>
  typeof u === "object" && u !== null && !Array.isArray(u) && !Schedule.isSchedule(u)

/**
 * Options over others: a group (`backoff` settings, `body`, `redact`) adds to the group below it, key by key; any
 * other option replaces.
 * @internal
 */
export const merge = <A extends StatusRetry.CallOptions>(below: A, above: StatusRetry.CallOptions): A => {
  const merged: Record<string, unknown> = { ...below, ...above }
  for (const key of ["backoff", "body", "redact"] as const) {
    const a = (below as Record<string, unknown>)[key]
    const b = (above as Record<string, unknown>)[key]
    if (isGroup(a) && isGroup(b)) merged[key] = { ...a, ...b }
  }
  return merged as A
}

/** A list option: an array (or other iterable that is not a string) of entries, each checked by `valid`. */
const list = <A>(
  problems: Array<string>,
  name: string,
  value: unknown,
  what: string,
  valid: (entry: unknown) => entry is A
): ReadonlyArray<A> | undefined => {
  if (value === undefined) return undefined
  if (typeof value === "string" || typeof value !== "object" || value === null || !(Symbol.iterator in value)) {
    problems.push(`${name} must be a list of ${what}s (an array), got ${show(value)}`)
    return undefined
  }
  const out: Array<A> = []
  for (const entry of value as Iterable<unknown>) {
    if (valid(entry)) out.push(entry)
    else problems.push(`${name}: ${show(entry)} is not a ${what}`)
  }
  return out
}

const isToken = (u: unknown): u is string => typeof u === "string" && TOKEN.test(u)
const isHeaderName = (u: unknown): u is string | RegExp => isToken(u) || u instanceof RegExp
const isParamName = (u: unknown): u is string => typeof u === "string" && u.length > 0

/**
 * Checks every option and collects every problem, so one `InvalidRetryOptions` names them all.
 * @internal
 */
export const resolve = (options: StatusRetry.Options = {}): Settings => {
  const problems: Array<string> = []
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RetryPolicy.InvalidRetryOptions({ problems: [`options must be an object, got ${show(options)}`] })
  }
  const {
    attemptTimeout,
    body: bodyOptions,
    classify,
    idempotencyKey,
    methods,
    redact,
    statusPolicy: policy,
    ...retryOptions
  } = options
  const { maxErrorSize, maxSize, read } = group<StatusRetry.BodyOptions>(problems, "body", bodyOptions)
  const { headers: redactHeaders, queryParams: redactQueryParams } = group<StatusRetry.RedactOptions>(
    problems,
    "redact",
    redact
  )
  const classifyRetry = classify === undefined ? classifyOther : (error: unknown) => {
    const outcome = classify({ _tag: "Failure", error })
    return outcome === undefined ? classifyOther(error) : outcome === "success" ? undefined : outcome
  }
  const retry = RetryPolicy.validate({ ...retryOptions, classify: classifyRetry })
  if (classify !== undefined && typeof classify !== "function") {
    problems.push(`classify must be a function, got ${show(classify)}`)
  }
  if (Either.isLeft(retry)) { for (const problem of retry.left.problems) problems.push(problem) }
  let timeout: number | undefined = undefined
  if (attemptTimeout !== undefined) {
    const decoded = Duration.decodeUnknown(attemptTimeout)
    // Effect reads negative and NaN inputs as zero: any zero here was a mistake.
    const bad = decoded._tag === "None" || !(Duration.toMillis(decoded.value) > 0) ||
      (typeof attemptTimeout === "string" && attemptTimeout.trim().startsWith("-"))
    if (bad) {
      problems.push(
        `attemptTimeout must be a positive duration (Duration.infinity for none), got ${show(attemptTimeout)}`
      )
    } else {
      timeout = Duration.isFinite(decoded.value) ? Duration.toMillis(decoded.value) : undefined
    }
  }
  const methodSet = new Set<string>()
  for (const method of list(problems, "methods", methods, "method", isToken) ?? defaults.methods) {
    methodSet.add(method.toUpperCase())
  }
  if (idempotencyKey !== undefined && typeof idempotencyKey !== "boolean" && typeof idempotencyKey !== "function") {
    problems.push(`idempotencyKey must be true, false or a function returning a key, got ${show(idempotencyKey)}`)
  }
  if (policy !== undefined && !(typeof policy === "object" && policy !== null && policy.table instanceof Uint8Array)) {
    problems.push("statusPolicy must be a StatusPolicy (StatusPolicy.make or StatusPolicy.defaultPolicy)")
  }
  if (read !== undefined && typeof read !== "boolean") {
    problems.push(`body.read must be true or false, got ${show(read)}`)
  }
  if (
    maxSize !== undefined &&
    !(typeof maxSize === "number" && maxSize >= 1 && (Number.isInteger(maxSize) || maxSize === Infinity))
  ) {
    problems.push(
      `body.maxSize must be a whole number of bytes of at least 1 (Infinity for no cap), got ${show(maxSize)}`
    )
  }
  if (
    maxErrorSize !== undefined &&
    !(typeof maxErrorSize === "number" && maxErrorSize >= 0 && Number.isInteger(maxErrorSize))
  ) {
    problems.push(`body.maxErrorSize must be a whole number of bytes (0 for none), got ${show(maxErrorSize)}`)
  }
  const headerNames = list(problems, "redact.headers", redactHeaders, "header name", isHeaderName) ??
    defaults.redact.headers
  const queryParams = list(problems, "redact.queryParams", redactQueryParams, "query parameter name", isParamName) ??
    defaults.redact.queryParams
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) problems.push(`${JSON.stringify(key)} is not an option of withStatusRetry`)
  }
  if (problems.length > 0) throw new RetryPolicy.InvalidRetryOptions({ problems })
  const statusPolicy = policy ?? defaults.statusPolicy
  const retryPolicy = (retry as Either.Right<never, RetryPolicy.RetryPolicy>).right
  return {
    options,
    retry: retryPolicy,
    retryCoordinated: retryOptions.maxTransientAttempts === undefined
      ? RetryPolicy.make({
        ...retryOptions,
        maxTransientAttempts: Math.min(RetryDecision.COORDINATED_TRANSIENT_ATTEMPTS, retryPolicy.maxAttempts),
        classify: classifyRetry
      })
      : retryPolicy,
    policy: statusPolicy,
    keyedPolicy: StatusPolicy.retrying(statusPolicy, [409]),
    attemptTimeout: timeout,
    methods: methodSet,
    idempotencyKey: (idempotencyKey ?? defaults.idempotencyKey) === true
      ? () => globalThis.crypto.randomUUID()
      : typeof idempotencyKey === "function"
      ? idempotencyKey
      : undefined,
    bodyRead: read ?? defaults.body.read,
    bodyMaxSize: maxSize ?? defaults.body.maxSize,
    bodyMaxErrorSize: maxErrorSize ?? defaults.body.maxErrorSize,
    classify,
    rules: rulesCache(headerNames, queryParams)
  }
}

/**
 * The rules for the names of `Headers.currentRedactedNames`: built again only when a fiber sets other names, so the
 * common case (the names never change) compiles them once per client.
 */
const rulesCache = (
  headers: ReadonlyArray<string | RegExp>,
  queryParams: ReadonlyArray<string>
): (names: ReadonlyArray<string | RegExp>) => Redaction.Redactor => {
  let lastNames: ReadonlyArray<string | RegExp> | undefined
  let lastRules = Redaction.make({ headers, queryParams })
  return (names) => {
    if (names !== lastNames) {
      lastNames = names
      lastRules = Redaction.make({ headers: [...headers, ...names], queryParams })
    }
    return lastRules
  }
}

/** A `ResponseError` that a `filterStatus` below made of a failure status (400 and up). */
const isFailureStatusError = (error: unknown): error is HttpClientError.ResponseError =>
  HttpClientError.isHttpClientError(error) && error._tag === "ResponseError" && error.reason === "StatusCode" &&
  error.response.status >= 400

/** Transport failures and per-attempt timeouts are transient; body read failures too (when the body is read). */
const classifyOther = (error: unknown): "transient" | "permanent" | undefined => {
  if (error instanceof BodyTooLarge) return "permanent"
  if (!HttpClientError.isHttpClientError(error)) return undefined
  if (error._tag === "RequestError") return error.reason === "Transport" ? "transient" : undefined
  return error.reason === "Decode" ? "transient" : undefined
}

/** @internal */
export const neverSent = (error: unknown): boolean => {
  if (!HttpClientError.isHttpClientError(error) || error._tag !== "RequestError" || error.reason !== "Transport") {
    return false
  }
  return methods.neverSent(error.cause)
}

/**
 * A failure status whose error nothing reads before the retry decision (no `onRetry`, no backoff `Schedule`, no
 * coordinator): what the decision reads (the outcome, the server's hint, read once), and what its error is built
 * from, its body read then, if the call gives up on it. A retried one is drained, and its error never built.
 */
class UnseenStatus {
  constructor(
    readonly outcome: "throttled" | "transient" | "permanent",
    readonly hint: ServerHint.ServerHint | undefined,
    readonly response: HttpClientResponse.HttpClientResponse,
    readonly headers: Headers.Headers,
    readonly receivedAt: number
  ) {}
}

/** How long a body is read, for an error or to drain it, before its request is cut. */
const DRAIN_MILLIS = 1000

/**
 * Reads a body straight from the runtime's response (see `Body.readText`), its first `max` bytes as text, for at most
 * `millis`: then the read is stopped (which ends the connection) and the text is undefined, as it is when the body
 * broke off. A failure's body costs a fraction of the client's `text` this way (each response builds and runs a
 * cached effect for it: about 50 µs), and of its stream more still. On Effect's own clock it costs one timer; under
 * another clock (a TestClock), it is bounded by that clock.
 */
const readSource = (
  clock: Clock.Clock,
  source: Body.Source,
  max: number,
  millis: number
): Effect.Effect<string | undefined> => {
  if (clock.sleep !== liveSleep) {
    return Effect.timeoutTo(
      Effect.async<string | undefined>((resume) =>
        Effect.sync(Body.readText(source, max, (text) => resume(Effect.succeed(text))))
      ),
      { duration: millis, onSuccess: (text) => text, onTimeout: () => undefined }
    )
  }
  return Effect.async<string | undefined>((resume) =>
    Effect.sync(readWithin(source, max, millis, (text) => resume(Effect.succeed(text))))
  )
}

/**
 * `Body.readText` under a plain timer: after `millis` the read is stopped and `done` gets undefined. The function
 * handed back stops the read (and its timer) without calling `done`.
 */
const readWithin = (
  source: Body.Source,
  max: number,
  millis: number,
  done: (text: string | undefined) => void
): () => void => {
  // (`readText` never calls back before it returns: the timer is set by then.)
  const stop = Body.readText(source, max, (text) => {
    clearTimeout(timer)
    done(text)
  })
  const timer = setTimeout(() => {
    stop()
    done(undefined)
  }, millis)
  return () => {
    clearTimeout(timer)
    stop()
  }
}

/** Reads and discards a body so its connection goes back to the pool; gives up (and aborts) after a second. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.stream.pipe(Stream.runDrain, Effect.timeout(DRAIN_MILLIS), Effect.ignore)

/** The largest body drained by reading it whole rather than as a stream (which costs several times as much). */
const DRAINED_WHOLE = 64 * 1024

/**
 * Drains a discarded response in the background, for at most a second: straight from its source when it has one,
 * else read whole when its length is known and small, as a stream otherwise (never held whole). On Effect's own clock
 * the drain runs under a plain timer, in no fiber, or in a fiber of its own that copies none of the caller's
 * FiberRefs (it needs none); under another clock (a TestClock), in a daemon fiber that keeps them, under that clock.
 */
const drop = (
  clock: Clock.Clock,
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers
): Effect.Effect<void> => {
  const source = Body.sourceOf(response)
  if (clock.sleep !== liveSleep) {
    return Effect.asVoid(
      Effect.forkDaemon(source === undefined ? discard(response) : readSource(clock, source, 0, DRAIN_MILLIS))
    )
  }
  return Effect.sync(() => startDrain(response, headers, source))
}

/** Starts draining a discarded response on Effect's own clock, as `drop` does: nothing waits for it. */
const startDrain = (
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  source: Body.Source | undefined = Body.sourceOf(response)
): void => {
  if (source !== undefined) {
    readWithin(source, 0, DRAIN_MILLIS, () => {})
    return
  }
  const drain = Number(headers["content-length"]) <= DRAINED_WHOLE ? response.text : Stream.runDrain(response.stream)
  // Its outcome is a value: a failed fiber would log "unhandled error", cause (and request) and all.
  const fiber = Effect.runFork(Effect.exit(drain))
  const timer = setTimeout(() => fiber.unsafeInterruptAsFork(fiber.id()), DRAIN_MILLIS)
  fiber.addObserver(() => clearTimeout(timer))
}

/**
 * The body of a failure status as text, its first `max` bytes (the rest is read and dropped, so the connection goes
 * back to the pool), within a second and `left` ms; undefined when there is none to read (an event stream, a HEAD,
 * `max` 0) or it did not come in time, and then it is drained in the background.
 */
const errorBody = (
  clock: Clock.Clock,
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  headers: Headers.Headers,
  max: number,
  left: number
): Effect.Effect<string | undefined> => {
  if (
    max === 0 || !(left > 0) || Body.NO_BODY.has(response.status) || request.method === "HEAD" ||
    (headers["content-type"] ?? "").startsWith("text/event-stream")
  ) {
    return Effect.as(drop(clock, response, headers), undefined)
  }
  const millis = Math.min(DRAIN_MILLIS, left)
  const source = Body.sourceOf(response)
  if (source !== undefined) return readSource(clock, source, max, millis)
  if (Number(headers["content-length"]) <= max) {
    // A length known and within the cap: read whole, which costs a fraction of reading it as a stream.
    return alone(clock, response.text, millis)
  }
  // A read that fails ends a fiber of the stream with the client's error, request and all: no log line of it.
  return Effect.locally(
    Effect.suspend(() => {
      const start = Body.prefix(max)
      return response.stream.pipe(
        Stream.runForEach((part) => Effect.sync(() => start.add(part))),
        (read) => bounded(clock, read, millis, Effect.fail("timeout" as const)),
        Effect.match({ onFailure: () => undefined, onSuccess: () => decoder.decode(start.bytes()) })
      )
    }),
    FiberRef.unhandledErrorLogLevel,
    Option.none()
  )
}

const decoder = new TextDecoder()

/**
 * Reads a whole body as a stream, at most `max` bytes: past that, reading stops (which aborts the request) and the
 * body is never held whole. A Content-Length over the cap fails before any byte is kept.
 */
const buffered = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  tooLarge: Effect.Effect<never, BodyTooLarge>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.ResponseError | BodyTooLarge> => {
  if (response.status < 200 || Body.NO_BODY.has(response.status) || request.method === "HEAD") {
    return Effect.succeed(response)
  }
  if (Body.declaredOver(response.headers["content-length"], max)) {
    // Reading one chunk and stopping aborts the request: the connection is not kept for a body nobody reads.
    return Effect.zipRight(Effect.ignore(Stream.runHead(response.stream)), tooLarge)
  }
  // A body read that fails ends a fiber of the stream with the client's error, request and all: that fiber's
  // "unhandled error" log line would show them, and the failure is handled here anyway.
  return Effect.locally(
    Effect.suspend(() => {
      const body = Body.whole(max)
      return Effect.flatMap(
        Stream.runForEachWhile(response.stream, (part) => Effect.sync(() => body.add(part))),
        () => {
          if (body.size() > max) return tooLarge
          const headers = new globalThis.Headers()
          for (const [name, value] of Object.entries(response.headers)) {
            if (name !== "set-cookie") headers.set(name, value)
          }
          // Each cookie keeps its own Set-Cookie line, as the server sent them.
          for (const cookie of Cookies.toSetCookieHeaders(response.cookies)) headers.append("set-cookie", cookie)
          const bytes = body.bytes() as Uint8Array<ArrayBuffer>
          return Effect.succeed(
            HttpClientResponse.fromWeb(request, new Response(bytes, { status: response.status, headers }))
          )
        }
      )
    }),
    FiberRef.unhandledErrorLogLevel,
    Option.none()
  )
}

/** The sleep of Effect's own clock; any other clock (a TestClock) is bounded through `Effect.timeoutTo`. */
const liveSleep = Clock.make().sleep

/**
 * Runs `effect` for at most `millis`, then interrupts it and fails with `onTimeout`. On Effect's own clock it costs
 * one fiber and one timer (`Effect.timeoutTo` races two fibers and joins their FiberRefs back: about twice the time
 * and allocation per request). The attempt's FiberRef changes are not joined back: a client's send keeps none.
 */
const bounded = <A, E, R, E2>(
  clock: Clock.Clock,
  effect: Effect.Effect<A, E, R>,
  millis: number,
  onTimeout: Effect.Effect<never, E2>
): Effect.Effect<A, E | E2, R> => {
  if (!(millis > 0)) return onTimeout
  if (clock.sleep !== liveSleep) {
    return Effect.flatten(
      Effect.timeoutTo(effect, { duration: millis, onSuccess: Effect.succeed, onTimeout: () => onTimeout })
    )
  }
  return Effect.uninterruptibleMask((restore) =>
    // The attempt's fiber ends with its outcome as a value: a failed fiber would log "unhandled error", cause and all.
    Effect.flatMap(Effect.fork(Effect.exit(restore(effect))), (fiber) =>
      Effect.onInterrupt(
        restore(Effect.async<A, E | E2>((resume) => {
          let done = false
          const timer = setTimeout(() => {
            if (done) return
            done = true
            resume(Effect.zipRight(Fiber.interrupt(fiber), onTimeout))
          }, millis)
          fiber.addObserver((exit) => {
            if (done) return
            done = true
            clearTimeout(timer)
            resume(
              Exit.isSuccess(exit) ? exit.value : exit as Exit.Exit<never>
            )
          })
          return Effect.sync(() => {
            done = true
            clearTimeout(timer)
          })
        })),
        () => Fiber.interrupt(fiber)
      ))
  )
}

/**
 * Runs `effect`, which needs no service nor any setting of the calling fiber (a response's body read), for at most
 * `millis`: its value, or undefined when it failed or took longer. On Effect's own clock it runs in a fiber of its
 * own that copies none of the caller's FiberRefs (a fork copies them all, which costs as much as the read itself).
 */
const alone = <A, E>(
  clock: Clock.Clock,
  effect: Effect.Effect<A, E>,
  millis: number
): Effect.Effect<A | undefined> => {
  if (clock.sleep !== liveSleep) {
    return Effect.match(bounded(clock, effect, millis, Effect.fail("timeout" as const)), {
      onFailure: () => undefined,
      onSuccess: (a) => a
    })
  }
  return Effect.async<A | undefined>((resume) => {
    let done = false
    // Its outcome is a value: a failed fiber would log "unhandled error", cause (and request) and all.
    const fiber = Effect.runFork(Effect.exit(effect))
    const timer = setTimeout(() => {
      if (done) return
      done = true
      fiber.unsafeInterruptAsFork(fiber.id())
      resume(Effect.succeed(undefined))
    }, millis)
    fiber.addObserver((exit) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(Effect.succeed(Exit.isSuccess(exit) && Exit.isSuccess(exit.value) ? exit.value.value : undefined))
    })
    return Effect.sync(() => {
      if (done) return
      done = true
      clearTimeout(timer)
      fiber.unsafeInterruptAsFork(fiber.id())
    })
  })
}

/** The URL a request goes to, with its URL parameters (the fragment is never sent). */
const fullUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const params = UrlParams.toString(request.urlParams)
  return params === "" ? request.url : `${request.url}${request.url.includes("?") ? "&" : "?"}${params}`
}

/** A copy of the request that is safe to show: no body, the URL and the header values redacted. */
const safeRequest = (
  request: HttpClientRequest.HttpClientRequest,
  rules: Redaction.Redactor
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.setHeaders(
    HttpClientRequest.make(request.method)(Redaction.url(fullUrl(request), rules)),
    Redaction.headers(request.headers, rules)
  )

/**
 * The client's own errors are shown with a safe request (and response): their URL, headers and body would otherwise
 * reach `toJSON`, `Cause.pretty` and every log of them.
 */
const sanitize = <E>(error: E, request: HttpClientRequest.HttpClientRequest, rules: Redaction.Redactor): E => {
  if (!HttpClientError.isHttpClientError(error)) return error
  const safe = safeRequest(request, rules)
  // Its description and cause may quote the URL (fetch does, password included, when it refuses one): redacted.
  const urls = [fullUrl(error.request), fullUrl(request)]
  const cause = Redact.cause(error.cause, rules, urls)
  const description = error.description === undefined ? undefined : Redact.text(error.description, rules, urls)
  if (error._tag === "RequestError") {
    return new HttpClientError.RequestError({
      request: safe,
      reason: error.reason,
      cause,
      ...(description === undefined ? {} : { description })
    }) as E
  }
  let response: HttpClientResponse.HttpClientResponse
  try {
    response = HttpClientResponse.fromWeb(
      safe,
      new Response(null, { status: error.response.status, headers: Redaction.headers(error.response.headers, rules) })
    )
  } catch {
    response = HttpClientResponse.fromWeb(safe, new Response(null, { status: 500 }))
  }
  return new HttpClientError.ResponseError({
    request: safe,
    response,
    reason: error.reason,
    cause,
    ...(description === undefined ? {} : { description })
  }) as E
}

/** @internal */
export const retryRequest = <E, R>(
  settings: Settings,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  request: HttpClientRequest.HttpClientRequest,
  clocks: ServerClock.Clocks
): Effect.Effect<
  HttpClientResponse.HttpClientResponse,
  E | StatusRetry.RetryError,
  R
> => {
  type Err = E | StatusRetry.RetryError
  const keyed = methods.isKeyed(request.method, request.headers)
  const policy = keyed ? settings.keyedPolicy : settings.policy
  const repeatable = methods.resendable(request.method, keyed, settings.methods, request.body._tag === "Stream")
  /** The call's deadline (its `timeout` from the start), epoch milliseconds: no attempt runs past it. */
  let deadline = Infinity
  /** The request's origin, read once per call when an answer is first read for its server's clock. */
  let origin: string | undefined
  /**
   * Whether a failure's error is built, its body read, before the retry decision: when user code sees the error of a
   * retried attempt (an `onRetry` hook, a backoff `Schedule`) or the coordinator may report it after a refused retry.
   * Otherwise a failure is an `UnseenStatus` until the call gives up on it.
   */
  let errorSeen = true

  /** Runs `f` with the redaction rules of the calling fiber (its `Headers.currentRedactedNames` included). */
  const withRules = <A, E2, R2>(f: (rules: Redaction.Redactor) => Effect.Effect<A, E2, R2>) =>
    Effect.withFiberRuntime<A, E2, R2>((fiber) => f(settings.rules(fiber.getFiberRef(Headers.currentRedactedNames))))

  /**
   * What an answer means, and its error when it failed, given the instant it arrived (read here when not given). A
   * response builds its header record anew on each read: it is read once here, or handed in by the attempt that read
   * it already (for the server's clock, or the coordinator), so its hints are parsed once (and again, by the same
   * rules, when the error of an `UnseenStatus` is built for the call to fail with).
   */
  const check = (
    response: HttpClientResponse.HttpClientResponse,
    receivedAt?: number,
    given?: Headers.Headers
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, Err> => {
    const status = response.status
    if (status < 300 && settings.classify === undefined) return Effect.succeed(response)
    const headers = given ?? response.headers
    const outcome = settings.classify?.({ _tag: "Response", status, headers })
    if (outcome === "success" || (outcome === undefined && status < 400)) {
      return status >= 300 && status < 400 && outcome === undefined && headers["retry-after"] !== undefined &&
          headers.location !== undefined
        ? redirectAfter(response, headers)
        : Effect.succeed(response)
    }
    const judged = outcome ?? StatusPolicy.classify(policy, status)
    // (No policy makes a status from 400 up a success; the type allows it.)
    if (judged === "success") return Effect.succeed(response)
    return Effect.withFiberRuntime((fiber) => {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const at = receivedAt ?? clock.unsafeCurrentTimeMillis()
      if (!errorSeen) {
        // Nothing reads a retried failure's error: it is built when the call gives up on it, and never if it is retried.
        const hint = judged === "permanent" ? undefined : Option.getOrUndefined(ServerHint.fromHeaders(headers, at))
        return Effect.fail(new UnseenStatus(judged, hint, response, headers, at) as unknown as Err)
      }
      // The body is read for the error (and so drained), for at most a second and never past the deadline.
      return Effect.flatMap(
        errorBody(clock, request, response, headers, settings.bodyMaxErrorSize, deadline - at),
        (body) =>
          Effect.fail(
            errorOf(
              response,
              headers,
              at,
              judged,
              body,
              settings.rules(fiber.getFiberRef(Headers.currentRedactedNames))
            )
          )
      )
    })
  }

  /** The typed error of a failure status, with its body when it was read. */
  const errorOf = (
    response: HttpClientResponse.HttpClientResponse,
    headers: Headers.Headers,
    receivedAt: number,
    outcome: "throttled" | "transient" | "permanent",
    body: string | undefined,
    rules: Redaction.Redactor
  ): StatusError.StatusError =>
    Option.getOrThrow(StatusError.fromResponse(
      {
        status: response.status,
        method: request.method,
        url: fullUrl(request),
        headers,
        receivedAt,
        ...(body === undefined ? {} : { body })
      },
      { outcome, redaction: rules }
    ))

  /**
   * A redirect that says when to follow it (RFC 9110 section 10.2.3: `307` + `Location` + `Retry-After` during a
   * maintenance): handed back once its instant has come, so whatever follows it (`HttpClient.followRedirects` applied
   * after this client) follows it no sooner. A wait longer than `maxRetryAfter` or past the deadline fails at once
   * with a `RetryableStatus` that carries the instant, as any other hint would.
   */
  const redirectAfter = (
    response: HttpClientResponse.HttpClientResponse,
    headers: Headers.Headers
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, Err> =>
    Effect.clockWith((clock) => {
      const receivedAt = clock.unsafeCurrentTimeMillis()
      const hint = Option.getOrUndefined(ServerHint.fromHeaders(headers, receivedAt))
      if (hint === undefined || hint.source !== "retry-after" || !Duration.greaterThan(hint.delay, Duration.zero)) {
        return Effect.succeed(response)
      }
      const tooLong = Duration.greaterThan(hint.delay, settings.retry.maxRetryAfter)
      if (!tooLong && hint.at <= deadline) {
        return Effect.as(Effect.sleep(Math.max(0, hint.at - receivedAt)), response)
      }
      return withRules((rules) =>
        Effect.zipRight(
          Effect.clockWith((clock) => drop(clock, response, headers)),
          Effect.fail(
            new StatusError.RetryableStatus({
              status: response.status,
              kind: "throttled",
              method: request.method,
              url: Redaction.url(fullUrl(request), rules),
              headers: Redaction.headers(headers, rules),
              retryAfter: Option.some(hint),
              receivedAt,
              attempts: 1,
              stopReason: Option.some(tooLong ? "retry-after-too-long" : "timeout"),
              body: Option.none()
            }) as Err
          )
        )
      )
    })

  /** The failure of an attempt cut by the attempt timeout or the call's timeout: its request is safe to show. */
  const cut = (byDeadline: boolean): Effect.Effect<never, HttpClientError.RequestError> =>
    withRules((rules) =>
      Effect.fail(
        new HttpClientError.RequestError({
          request: safeRequest(request, rules),
          reason: "Transport",
          description: byDeadline
            ? `no response before the call's timeout of ${Duration.format(settings.retry.timeout)} ran out`
            : `no response within the attempt timeout of ${Duration.format(settings.attemptTimeout!)}`
        })
      )
    )

  const tooLarge = (status: number) =>
    withRules((rules) =>
      Effect.fail(
        new BodyTooLarge({
          method: request.method,
          url: Redaction.url(fullUrl(request), rules),
          status,
          maxSize: settings.bodyMaxSize
        })
      )
    )

  /**
   * The request as the client below answers it. A failure status that a `filterStatusOk` (or `filterStatus`) below
   * turned into a `ResponseError` is taken back as the response it was, so it is classified like any other.
   */
  const sent: Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> = Effect.catchAll(
    send,
    (error) => isFailureStatusError(error) ? Effect.succeed(error.response) : Effect.fail(error)
  )

  /** One request, its body read too under `body.read`. */
  const read: Effect.Effect<HttpClientResponse.HttpClientResponse, Err | BodyTooLarge, R> = settings.bodyRead
    ? Effect.flatMap(sent, (response) =>
      response.status < 400
        ? buffered(request, response, settings.bodyMaxSize, tooLarge(response.status))
        : Effect.succeed(response))
    : sent

  /**
   * The request bounded by the attempt timeout and by the call's deadline, whichever comes first; a resend tells its
   * client span how many times the request was sent before it (`http.request.resend_count`).
   */
  const timed = (resends: number): Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> =>
    Effect.clockWith((clock) => {
      const left = deadline - clock.unsafeCurrentTimeMillis()
      const limit = settings.attemptTimeout
      const byDeadline = limit === undefined || left <= limit
      const counted = resends === 0
        ? read
        : clock.sleep === liveSleep
        // Set in the attempt's own fiber (see `bounded`), which ends with it: nothing to restore, no map copied twice.
        ? Effect.zipRight(
          FiberRef.update(FiberRef.currentTracerSpanAnnotations, HashMap.set<string, unknown>(RESEND_COUNT, resends)),
          read
        )
        : Effect.annotateSpans(read, RESEND_COUNT, resends)
      return bounded(clock, counted, byDeadline ? left : limit, cut(byDeadline)) as Effect.Effect<
        HttpClientResponse.HttpClientResponse,
        Err,
        R
      >
    })

  /**
   * One attempt without the coordinator. The client learns each origin's clock from its answers' `Date` (a success's
   * only while it is not known to 10 ms), so that an instant a failure gives against its `Date` (an HTTP-date, an
   * epoch reset), up to a second late by `Date`'s whole seconds, is waited for no longer than the server's clock
   * needs: as the coordinator does, and never early.
   */
  const attempt = (resends: number): Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> =>
    Effect.clockWith((clock) => {
      const sentAt = clock.unsafeCurrentTimeMillis()
      return Effect.flatMap(timed(resends), (response) => {
        const receivedAt = clock.unsafeCurrentTimeMillis()
        origin ??= CoordinatorAnswer.originOf(request.url)
        if (!clocks.wants(origin, response.status, receivedAt)) return check(response, receivedAt)
        const headers = response.headers
        hintAt = clocks.observe(origin, response.status, headers, sentAt, receivedAt)
        return check(response, receivedAt, headers)
      })
    })

  /** What a failed attempt means: read once, by the decision, the log line and the metrics. */
  const classify = (error: Err): RetryPolicy.Classification => {
    const seen = hintAt
    const pacedRetry = paced
    hintAt = undefined
    paced = false
    // Held past this call's deadline, or a retry the retry budget refused: nothing was sent, nothing to wait for.
    if (error instanceof Coordinator.OriginHeld) return { ...RetryDecision.held(error.reason), hint: undefined }
    const unseen = error instanceof UnseenStatus
    if (unseen || StatusError.isStatusError(error)) {
      let hint = unseen ? error.hint : Option.getOrUndefined(error.retryAfter)
      const kind = unseen
        ? Status.kindOf(error.outcome, hint === undefined ? undefined : Duration.toMillis(hint.delay))
        : error.kind
      // The coordinator (or, without it, the client) knows the server's clock from its earlier answers: the instant
      // read with it is as late as the server asked, and sooner than this answer's Date alone could tell.
      if (hint !== undefined && seen !== undefined && seen < hint.at) hint = { ...hint, at: seen }
      return { kind, hint, resendable: repeatable, stop: undefined, paced: pacedRetry }
    }
    return {
      kind: settings.retry.classify(error),
      hint: undefined,
      resendable: repeatable || neverSent(error),
      stop: undefined
    }
  }

  /** The error of a failure nothing has read yet, built now that the call fails with it: its body is read for it. */
  const built = (unseen: UnseenStatus, rules: Redaction.Redactor): Effect.Effect<StatusError.StatusError> =>
    Effect.clockWith((clock) =>
      Effect.map(
        errorBody(
          clock,
          request,
          unseen.response,
          unseen.headers,
          settings.bodyMaxErrorSize,
          deadline - clock.unsafeCurrentTimeMillis()
        ),
        (body) => errorOf(unseen.response, unseen.headers, unseen.receivedAt, unseen.outcome, body, rules)
      )
    )

  const giveUp = (decision: Extract<RetryPolicy.Decision, { _tag: "Stop" }>, failed: Err) => {
    const reason = decision.reason
    // A retry the coordinator would not let go: the error that asked for it is the one to report.
    const error = failed instanceof Coordinator.OriginHeld && previous !== undefined ? previous : failed
    const stopped = (final: StatusError.StatusError) =>
      Effect.fail(StatusError.withStop(final, decision.attempts, reason) as Err)
    return withRules((rules) => {
      const fail = error instanceof UnseenStatus
        ? Effect.flatMap(built(error, rules), stopped)
        : StatusError.isStatusError(error)
        ? stopped(error)
        : Effect.fail(sanitize(error, request, rules))
      const failure = Effect.zipRight(Metric.increment(giveUpsBy(reason)), fail)
      return Effect.withFiberRuntime<never, Err>((fiber) =>
        debugging(fiber)
          ? Effect.logDebug(`giving up on ${request.method} ${Redaction.url(fullUrl(request), rules)}: ${reason}`).pipe(
            Effect.annotateLogs({ attempts: decision.attempts, reason }),
            Effect.zipRight(failure)
          )
          : failure
      )
    })
  }

  /**
   * Counts a retry, and logs it when the fiber writes debug lines; drains the body of the failure retried, which
   * nothing will read; under the coordinator, keeps what the next attempt tells it. Below the debug level, on Effect's
   * own clock, nothing is left to run: the count is kept and the drain started at once.
   */
  const announce = (
    decision: Extract<RetryPolicy.Decision, { _tag: "Retry" }>,
    error: Err,
    fiber: Fiber.RuntimeFiber<unknown, unknown>
  ): Effect.Effect<void> | undefined => {
    const { attempts, delay, kind, source } = decision
    let drained: Effect.Effect<void> | undefined
    if (error instanceof UnseenStatus) {
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      if (clock.sleep === liveSleep) startDrain(error.response, error.headers)
      else drained = drop(clock, error.response, error.headers)
    }
    if (coordinator !== undefined) {
      // Under the coordinator the error is kept: a retry it refuses reports the error that asked for the retry.
      previous = error
      next = RetryDecision.coordinatedAttempt(source)
    }
    retriesBy(kind, source).unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
    if (!debugging(fiber)) return drained
    const status = error instanceof UnseenStatus
      ? error.response.status
      : StatusError.isStatusError(error)
      ? error.status
      : "transport"
    const rules = settings.rules(fiber.getFiberRef(Headers.currentRedactedNames))
    const logged = Effect.logDebug(
      `retrying ${request.method} ${Redaction.url(fullUrl(request), rules)} in ${
        Math.round(Duration.toMillis(delay))
      } ms (${source})`
    ).pipe(
      Effect.annotateLogs({ attempt: attempts + 1, delayMillis: Duration.toMillis(delay), source, kind, status })
    )
    return drained === undefined ? logged : Effect.zipRight(drained, logged)
  }

  let coordinator: Coordinator.Coordinator | undefined
  /** How the coordinator is told the next attempt, and the error of the retry it is asked for. */
  let next: Coordinator.RequestInfo["attempt"] = "first"
  let previous: Err | undefined

  /** The instant the coordinator read in the last answer's hint (it knows the server's clock). */
  let hintAt: number | undefined
  /** The coordinator paces the retry of the last answer (a throttle without a hint): it needs no backoff. */
  let paced = false
  /**
   * One attempt under the coordinator: run under its permit, and every answer it wants reported back. The permit is
   * handed back however the attempt ends. Every step here runs before each request: keep it short.
   */
  const coordinated = (
    coordinator: Coordinator.Coordinator,
    resends: number,
    kind: Coordinator.RequestInfo["attempt"]
  ) =>
    coordinator.withPermit(
      { method: request.method, url: request.url, headers: request.headers, attempt: kind, deadline },
      (permit) => {
        return Effect.flatMap(timed(resends), (response) =>
          !permit.learn && response.status < 400
            // A success the coordinator does not need is not reported: its header record is never built.
            ? check(response)
            : Effect.clockWith((clock) => {
              // One header record and one instant for the coordinator and the error: the hints are parsed once.
              const seen = { headers: response.headers, receivedAt: clock.unsafeCurrentTimeMillis() }
              return Effect.zipRight(
                Effect.map(
                  coordinator.observe(permit, { status: response.status, ...seen }),
                  () => {
                    hintAt = permit.hintAt
                    paced = permit.paced === true
                  }
                ),
                check(response, seen.receivedAt, seen.headers)
              )
            }))
      }
    )

  return Effect.flatMap(Coordinator.current, (current) =>
    Effect.clockWith((clock) => {
      const startedAt = clock.unsafeCurrentTimeMillis()
      deadline = startedAt + settings.retry.timeout
      coordinator = current._tag === "None" ? undefined : current.value
      next = "first"
      previous = undefined
      hintAt = undefined
      paced = false
      const by = coordinator
      const retry = by === undefined ? settings.retry : settings.retryCoordinated
      errorSeen = by !== undefined || retry.onRetry !== undefined || retry.backoff !== undefined
      return RetryPolicy.drive({
        policy: retry,
        startedAt,
        attempt: by === undefined
          ? (state) => attempt(state.attempts)
          : (state) => coordinated(by, state.attempts, next),
        classify,
        observe: announce,
        stop: giveUp
      })
    }))
}

/**
 * The request the innermost running `withStatusRetry` is driving. A `withStatusRetry` below it that gets the same
 * request sends it once and leaves the retrying to the one above: the configuration applied last wins.
 */
const currentRequest = FiberRef.unsafeMake<HttpClientRequest.HttpClientRequest | undefined>(undefined)

/** @internal */
export interface Override {
  readonly options: StatusRetry.CallOptions
  /** The settings of each client under this override, resolved once. */
  readonly resolved: WeakMap<Settings, Settings>
}

/** @internal */
export const currentOverride = FiberRef.unsafeMake<Override | undefined>(undefined)

/** Every option a call may override: what the call does, not how its requests are built or what is redacted. */
const CALL_OPTIONS: ReadonlySet<string> = new Set(
  [...KNOWN_OPTIONS].filter((name) => name !== "idempotencyKey" && name !== "redact")
)

/** @internal */
export const makeOverride = (options: StatusRetry.CallOptions): Override => {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new RetryPolicy.InvalidRetryOptions({ problems: [`options must be an object, got ${show(options)}`] })
  }
  const problems: Array<string> = []
  for (const key of Object.keys(options)) {
    if (!CALL_OPTIONS.has(key)) {
      problems.push(
        KNOWN_OPTIONS.has(key)
          ? `${JSON.stringify(key)} is an option of the client, not of one call`
          : `${JSON.stringify(key)} is not an option of withStatusRetry`
      )
    }
  }
  if (problems.length > 0) throw new RetryPolicy.InvalidRetryOptions({ problems })
  // Checked alone now, so a mistake shows where the override is written.
  resolve(options)
  return { options, resolved: new WeakMap() }
}

const applyOverride = (settings: Settings, override: Override): Settings => {
  let resolved = override.resolved.get(settings)
  if (resolved === undefined) {
    resolved = resolve(merge(settings.options, override.options))
    // The client's rules are kept: they may have compiled the fiber's redacted names already.
    resolved = { ...resolved, rules: settings.rules }
    override.resolved.set(settings, resolved)
  }
  return resolved
}

/** @internal */
export const withOptions = <A, E, R>(self: Effect.Effect<A, E, R>, override: Override): Effect.Effect<A, E, R> =>
  Effect.flatMap(FiberRef.get(currentOverride), (outer) =>
    Effect.locally(
      self,
      currentOverride,
      // An override inside another one adds to it.
      outer === undefined ? override : makeOverride(merge(outer.options, override.options))
    ))

/** @internal */
export const disabledOverride: Override = makeOverride({ maxAttempts: 1 })

/** @internal */
export const make = (options?: StatusRetry.Options) => {
  const settings = resolve(options)
  const addKey = settings.idempotencyKey
  /** What the origins' answers told of their clocks, shared by every call of the client. */
  const clocks = new ServerClock.Clocks()
  return <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ): HttpClient.HttpClient.With<
    E | StatusRetry.RetryError,
    R
  > => {
    const client = addKey === undefined ?
      self :
      HttpClient.mapRequest(
        self,
        (request) =>
          methods.KEYED_METHODS.has(request.method) && request.headers[methods.IDEMPOTENCY_KEY] === undefined
            ? HttpClientRequest.setHeader(request, methods.IDEMPOTENCY_KEY, addKey())
            : request
      )
    return HttpClient.transform(client, (send, request) =>
      Effect.withFiberRuntime((fiber) => {
        // A withStatusRetry above this one drives this request: send it once, as it is.
        if (fiber.getFiberRef(currentRequest) === request) return send
        const override = fiber.getFiberRef(currentOverride)
        const effective = override === undefined ? settings : applyOverride(settings, override)
        return Effect.locally(retryRequest(effective, send, request, clocks), currentRequest, request)
      }))
  }
}
