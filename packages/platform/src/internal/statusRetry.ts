import * as Cookies from "@effect/platform/Cookies"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Coordinator from "@effect-retry/core/Coordinator"
import * as RetryPolicy from "@effect-retry/core/RetryPolicy"
import * as StatusError from "@effect-retry/core/StatusError"
import * as StatusPolicy from "@effect-retry/core/StatusPolicy"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Metric from "effect/Metric"
import * as Random from "effect/Random"
import * as Stream from "effect/Stream"
import type * as StatusRetry from "../StatusRetry.js"

/** @internal */
export const IDEMPOTENT_METHODS: ReadonlyArray<string> = ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]
const KEYED_METHODS: ReadonlySet<string> = new Set(["POST", "PATCH"])
const IDEMPOTENCY_KEY = "idempotency-key"

/** Error codes that prove the request never left: nothing reached the server, so any method may be retried. */
const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT"
])

/** @internal */
export interface Settings {
  readonly retry: RetryPolicy.RetryPolicy
  readonly policy: StatusPolicy.StatusPolicy
  /** The policy for requests with an Idempotency-Key: 409 (the same key still in flight) is transient. */
  readonly keyedPolicy: StatusPolicy.StatusPolicy
  readonly attemptTimeout: Duration.Duration | undefined
  readonly methods: ReadonlySet<string>
  readonly idempotencyKey: (() => string) | undefined
  readonly readBody: boolean
  readonly redactHeaders: ReadonlyArray<string> | undefined
}

/** @internal */
export const retries = Metric.counter("http_client_retries_total", {
  description: "Retries made by withStatusRetry, by failure kind and delay source",
  incremental: true
})

/** @internal */
export const giveUps = Metric.counter("http_client_retry_give_ups_total", {
  description: "Calls withStatusRetry stopped retrying, by reason",
  incremental: true
})

const show = (u: unknown): string => (typeof u === "string" ? JSON.stringify(u) : String(u))

/** @internal */
export const resolve = (options: StatusRetry.Options = {}): Settings => {
  const { attemptTimeout, idempotencyKey, methods, policy, readBody, redactHeaders, ...retryOptions } = options
  const problems: Array<string> = []
  const retry = RetryPolicy.validate({ ...retryOptions, classify })
  if (Either.isLeft(retry)) problems.push(...retry.left.problems)
  let timeout: Duration.Duration | undefined = undefined
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
      timeout = Duration.isFinite(decoded.value) ? decoded.value : undefined
    }
  }
  const methodSet = new Set<string>()
  for (const method of methods ?? IDEMPOTENT_METHODS) {
    if (typeof method !== "string" || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) problems.push(`methods: ${show(method)} is not a method`)
    else methodSet.add(method.toUpperCase())
  }
  if (idempotencyKey !== undefined && typeof idempotencyKey !== "boolean" && typeof idempotencyKey !== "function") {
    problems.push(`idempotencyKey must be true, false or a function returning a key, got ${show(idempotencyKey)}`)
  }
  if (policy !== undefined && !(policy.table instanceof Uint8Array)) {
    problems.push("policy must be a StatusPolicy (StatusPolicy.make or StatusPolicy.defaultPolicy)")
  }
  if (problems.length > 0) throw new RetryPolicy.InvalidRetryOptions({ problems })
  const statusPolicy = policy ?? StatusPolicy.defaultPolicy
  return {
    retry: (retry as Either.Right<never, RetryPolicy.RetryPolicy>).right,
    policy: statusPolicy,
    keyedPolicy: StatusPolicy.retrying(statusPolicy, [409]),
    attemptTimeout: timeout,
    methods: methodSet,
    idempotencyKey: idempotencyKey === true
      ? () => globalThis.crypto.randomUUID()
      : typeof idempotencyKey === "function"
      ? idempotencyKey
      : undefined,
    readBody: readBody === true,
    redactHeaders
  }
}

/** Transport failures and per-attempt timeouts are transient; body read failures too (when the body is read). */
const classify = (error: unknown): "transient" | undefined => {
  if (!HttpClientError.isHttpClientError(error)) return undefined
  if (error._tag === "RequestError") return error.reason === "Transport" ? "transient" : undefined
  return error.reason === "Decode" ? "transient" : undefined
}

/** @internal */
export const neverSent = (error: unknown): boolean => {
  if (!HttpClientError.isHttpClientError(error) || error._tag !== "RequestError" || error.reason !== "Transport") {
    return false
  }
  let cause: unknown = error.cause
  for (let depth = 0; depth < 5 && typeof cause === "object" && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string" && NEVER_SENT_CODES.has(code)) return true
    cause = (cause as { cause?: unknown }).cause
  }
  return false
}

/** Reads and discards a body so its connection goes back to the pool; gives up (and aborts) after a second. */
const discard = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> =>
  response.stream.pipe(Stream.runDrain, Effect.timeout("1 second"), Effect.ignore)

const NO_BODY: ReadonlySet<number> = new Set([204, 205, 304])

const buffered = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.ResponseError> =>
  response.status < 200 || NO_BODY.has(response.status) || request.method === "HEAD"
    ? Effect.succeed(response)
    : Effect.map(response.arrayBuffer, (body) => {
      const headers = new globalThis.Headers()
      for (const [name, value] of Object.entries(response.headers)) {
        if (name !== "set-cookie") headers.set(name, value)
      }
      // Each cookie keeps its own Set-Cookie line, as the server sent them.
      for (const cookie of Cookies.toSetCookieHeaders(response.cookies)) headers.append("set-cookie", cookie)
      return HttpClientResponse.fromWeb(request, new Response(body, { status: response.status, headers }))
    })

/** @internal */
export const retryRequest = <E, R>(
  settings: Settings,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<
  HttpClientResponse.HttpClientResponse,
  E | StatusRetry.RetryError,
  R
> => {
  type Err = E | StatusRetry.RetryError
  const keyed = request.headers[IDEMPOTENCY_KEY] !== undefined && KEYED_METHODS.has(request.method)
  const policy = keyed ? settings.keyedPolicy : settings.policy
  const repeatable = request.body._tag !== "Stream" && (keyed || settings.methods.has(request.method))
  const timeout = settings.attemptTimeout

  const check = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, Err> => {
    if (response.status < 400) return settings.readBody ? buffered(request, response) : Effect.succeed(response)
    return Effect.flatMap(Clock.currentTimeMillis, (receivedAt) => {
      const error = StatusError.fromResponse(
        { status: response.status, method: request.method, url: request.url, headers: response.headers, receivedAt },
        settings.redactHeaders === undefined ? { policy } : { policy, redactHeaders: settings.redactHeaders }
      )
      return error._tag === "None"
        ? Effect.succeed(response)
        : error.value.kind === "permanent"
        // Nothing will be sent again: drain in the background and let the error surface now.
        ? Effect.zipRight(Effect.forkDaemon(discard(response)), Effect.fail(error.value))
        : Effect.zipRight(discard(response), Effect.fail(error.value))
    })
  }

  const timed: Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> = timeout === undefined
    ? send
    : Effect.timeoutFail(send, {
      duration: timeout,
      onTimeout: () =>
        new HttpClientError.RequestError({
          request,
          reason: "Transport",
          description: `no response within the attempt timeout of ${Duration.format(timeout)}`
        })
    })
  const once: Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> = Effect.flatMap(timed, check)

  const attempt = (resends: number): Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> =>
    resends === 0 ? once : Effect.annotateSpans(once, "http.request.resend_count", resends)

  /** Runs the next attempt, and decides what follows a failure. Built when the attempt is due: it reads the clock. */
  const loop = (
    state: RetryPolicy.RetryState,
    coordinator: Coordinator.Coordinator | undefined,
    kind: Coordinator.RequestInfo["attempt"],
    previous: Err | undefined
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, Err, R> =>
    Effect.catchAll(
      coordinator === undefined
        ? attempt(state.attempts)
        : coordinated(coordinator, state.attempts, kind, state.startedAt + settings.retry.budget),
      (error) =>
        Effect.flatMap(
          Effect.zip(Clock.currentTimeMillis, Random.next),
          ([now, random]) => {
            let [decision, next] = RetryPolicy.decide(settings.retry, state, error, now, random)
            if (error instanceof Coordinator.OriginHeld) {
              // Held past this call's budget, or a retry the budget refused: nothing to wait for.
              decision = {
                _tag: "Stop",
                reason: error.reason === "retry-budget" ? "retry-budget" : "budget",
                attempts: decision.attempts - 1
              }
            }
            if (decision._tag === "Retry" && !repeatable && !neverSent(error)) {
              decision = { _tag: "Stop", reason: "unsafe-method", attempts: decision.attempts }
            }
            // A retry the coordinator would not let go: the error that asked for it is the one to report.
            const reported = error instanceof Coordinator.OriginHeld && previous !== undefined ? previous : error
            return decision._tag === "Stop"
              ? giveUp(decision, reported)
              : retryAfter(decision, error, next, coordinator)
          }
        )
    )

  const giveUp = (decision: Extract<RetryPolicy.Decision, { _tag: "Stop" }>, error: Err) => {
    const reason = decision.reason
    return Effect.logDebug(`giving up on ${request.method} ${request.url}: ${reason}`).pipe(
      Effect.annotateLogs({ attempts: decision.attempts, reason }),
      Effect.zipRight(Metric.increment(Metric.tagged(giveUps, "reason", reason))),
      Effect.zipRight(
        Effect.fail(
          StatusError.isStatusError(error) ? StatusError.withStop(error, decision.attempts, reason) as Err : error
        )
      )
    )
  }

  const retryAfter = (
    decision: Extract<RetryPolicy.Decision, { _tag: "Retry" }>,
    error: Err,
    next: RetryPolicy.RetryState,
    coordinator: Coordinator.Coordinator | undefined
  ) => {
    const { delay, kind, source } = decision
    return Effect.logDebug(
      `retrying ${request.method} ${request.url} in ${Math.round(Duration.toMillis(delay))} ms (${source})`
    ).pipe(
      Effect.annotateLogs({
        attempt: decision.attempts + 1,
        delayMillis: Duration.toMillis(delay),
        source,
        kind,
        status: StatusError.isStatusError(error) ? error.status : "transport"
      }),
      Effect.zipRight(Metric.increment(Metric.tagged(Metric.tagged(retries, "kind", kind), "source", source))),
      Effect.zipRight(Effect.sleep(delay)),
      Effect.zipRight(
        Effect.suspend(() => loop(next, coordinator, source === "backoff" ? "retry" : "retry-after-hint", error))
      )
    )
  }

  /**
   * One attempt under the coordinator: run under its permit, and every answer it wants reported back. The permit is
   * handed back however the attempt ends. Every step here runs before each request: keep it short.
   */
  const coordinated = (
    coordinator: Coordinator.Coordinator,
    resends: number,
    kind: Coordinator.RequestInfo["attempt"],
    deadline: number
  ) =>
    coordinator.withPermit(
      { method: request.method, url: request.url, headers: request.headers, attempt: kind, deadline },
      (permit) => {
        const sent = Effect.flatMap(timed, (response) =>
          !permit.learn && response.status < 400
            // A success the coordinator does not need is not reported: its header record is never built.
            ? check(response)
            : Effect.clockWith((clock) =>
              Effect.zipRight(
                coordinator.observe(permit, {
                  status: response.status,
                  headers: response.headers,
                  receivedAt: clock.unsafeCurrentTimeMillis()
                }),
                check(response)
              )
            ))
        return resends === 0 ? sent : Effect.annotateSpans(sent, "http.request.resend_count", resends)
      }
    )

  return Effect.flatMap(Coordinator.current, (coordinator) =>
    Effect.clockWith((clock) =>
      loop(
        RetryPolicy.initialState(settings.retry, clock.unsafeCurrentTimeMillis()),
        coordinator._tag === "None" ? undefined : coordinator.value,
        "first",
        undefined
      )
    ))
}

/** @internal */
export const make = (options?: StatusRetry.Options) => {
  const settings = resolve(options)
  const addKey = settings.idempotencyKey
  return <E, R>(
    self: HttpClient.HttpClient.With<E, R>
  ): HttpClient.HttpClient.With<
    E | StatusRetry.RetryError,
    R
  > => {
    const client = addKey === undefined ? self : HttpClient.mapRequest(self, (request) =>
      KEYED_METHODS.has(request.method) && request.headers[IDEMPOTENCY_KEY] === undefined
        ? HttpClientRequest.setHeader(request, IDEMPOTENCY_KEY, addKey())
        : request)
    return HttpClient.transform(client, (send, request) => retryRequest(settings, send, request))
  }
}
