import * as Body from "@effect-retry/engine/Body"
import * as CoordinatorAnswer from "@effect-retry/engine/CoordinatorAnswer"
import * as Methods from "@effect-retry/engine/Methods"
import * as Redaction from "@effect-retry/engine/Redaction"
import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as ServerClock from "@effect-retry/engine/ServerClock"
import * as ServerHint from "@effect-retry/engine/ServerHint"
import * as Status from "@effect-retry/engine/Status"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Cookies from "effect/http/Cookies"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as UrlParams from "effect/http/UrlParams"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Coordinator from "../Coordinator.js"
import * as StatusError from "../StatusError.js"
import * as StatusPolicy from "../StatusPolicy.js"
import type * as StatusRetry from "../StatusRetry.js"
import * as options from "./options.js"
import * as RetryLoop from "./retryLoop.js"
import * as statusErrors from "./statusError.js"

const RESEND_COUNT = "http.request.resend_count"

/** @internal */
export class BodyTooLarge extends Data.TaggedError("BodyTooLarge")<{
  readonly method: string
  /** The request's URL, redacted. */
  readonly url: string
  readonly status: number
  /** The `body.maxSize` in force, in bytes. */
  readonly maxSize: number
}> {
  override get message(): string {
    return `the body of ${this.status} ${this.method} ${this.url} is larger than body.maxSize (${this.maxSize} bytes)`
  }
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

/** Each tagged counter is built once: a new one would be a new key to hash on every update. */
const counters = new Map<string, Metric.Counter<number>>()
const counter = (metric: Metric.Counter<number>, attributes: Readonly<Record<string, string>>) => {
  const key = `${metric.id} ${Object.values(attributes).join(" ")}`
  let tagged = counters.get(key)
  if (tagged === undefined) counters.set(key, tagged = Metric.withAttributes(metric, attributes))
  return tagged
}

/** The URL a request goes to, with its URL parameters (the fragment is never sent). */
const fullUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = UrlParams.toString(request.urlParams)
  return query === "" ? request.url : `${request.url}${request.url.includes("?") ? "&" : "?"}${query}`
}

/** The rules of the calling fiber: the options' names, and those of `Headers.CurrentRedactedNames`. */
const rulesOf = (settings: options.Settings): Effect.Effect<Redaction.Redactor> =>
  Effect.map(Effect.service(Headers.CurrentRedactedNames), settings.rules)

/** A copy of a request that is safe to show: no body, its URL and header values redacted. */
const safeRequest = (
  request: HttpClientRequest.HttpClientRequest,
  rules: Redaction.Redactor
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.setHeaders(
    HttpClientRequest.make(request.method as "GET")(Redaction.url(fullUrl(request), rules)),
    Redaction.headers(request.headers, rules)
  )

/** The class of each reason of an `HttpClientError`, to build it again with a safe request. */
const REASONS: { readonly [Tag in HttpClientError.HttpClientErrorReason["_tag"]]: unknown } = {
  TransportError: HttpClientError.TransportError,
  EncodeError: HttpClientError.EncodeError,
  InvalidUrlError: HttpClientError.InvalidUrlError,
  StatusCodeError: HttpClientError.StatusCodeError,
  DecodeError: HttpClientError.DecodeError,
  EmptyBodyError: HttpClientError.EmptyBodyError
}

/**
 * An error of the client below, shown with a safe copy of the request this client was given (and a safe response):
 * its URL, headers and body would otherwise reach the error's fields, `Cause.pretty` and every log of it. A
 * description that quotes the URL quotes it redacted.
 */
const sanitize = <E>(error: E, sent: HttpClientRequest.HttpClientRequest, rules: Redaction.Redactor): E => {
  if (!HttpClientError.isHttpClientError(error)) return error
  const reason = error.reason
  const request = safeRequest(sent, rules)
  const raws = [fullUrl(reason.request), fullUrl(sent)]
  const description = reason.description === undefined ? undefined : Redaction.text(reason.description, rules, raws)
  const cause = Redaction.cause(reason.cause, rules, raws)
  const fields = {
    request,
    ...(cause === undefined ? {} : { cause }),
    ...(description === undefined ? {} : { description })
  }
  const Reason = REASONS[reason._tag] as new(fields: object) => HttpClientError.HttpClientErrorReason
  if (!("response" in reason)) return new HttpClientError.HttpClientError({ reason: new Reason(fields) }) as E
  const status = reason.response.status
  const headers = Redaction.headers(reason.response.headers, rules)
  const response = HttpClientResponse.fromWeb(request, new Response(null, { status, headers }))
  return new HttpClientError.HttpClientError({ reason: new Reason({ ...fields, response }) }) as E
}

/** The failure of an attempt cut by the attempt timeout or the call's timeout: its request is safe to show. */
const cut = (
  request: HttpClientRequest.HttpClientRequest,
  rules: Redaction.Redactor,
  description: string
): HttpClientError.HttpClientError =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({ request: safeRequest(request, rules), description })
  })

const decoder = new TextDecoder()

/**
 * Reads a body straight from the runtime's response (see `Body.readText`), its first `max` bytes as text, at a
 * fraction of the cost of the client's stream; stopped (which ends the connection) when interrupted.
 */
const readSource = (source: Body.Source, max: number): Effect.Effect<string | undefined> =>
  Effect.callback<string | undefined>((resume) =>
    Effect.sync(Body.readText(source, max, (text) => resume(Effect.succeed(text))))
  )

/**
 * Reads and drops, in a fiber of its own, the body of a response nobody will read, for at most a second (an event
 * stream never ends: it is then cut), so its connection goes back to the pool instead of being held until collected.
 */
const drop = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<void> => {
  const source = Body.sourceOf(response)
  const drain = source === undefined ? Stream.runDrain(response.stream) : readSource(source, 0)
  return Effect.asVoid(Effect.forkDetach(Effect.ignore(Effect.timeoutOption(drain, DRAIN_MILLIS))))
}

/** How long a dropped body is read before its request is cut. */
const DRAIN_MILLIS = Duration.seconds(1)

/**
 * The start of a failure's body as text: its first `max` bytes (the rest is read and dropped), within a second and
 * `left` ms; undefined when there is none to read (an event stream, a HEAD, `max` 0), and then it is drained in the
 * background, or when it did not come in time.
 */
const errorBody = (
  response: HttpClientResponse.HttpClientResponse,
  method: string,
  max: number,
  left: number
): Effect.Effect<string | undefined> => {
  if (
    max === 0 || !(left > 0) || method === "HEAD" || Body.NO_BODY.has(response.status) ||
    (response.headers["content-type"] ?? "").startsWith("text/event-stream")
  ) {
    return Effect.as(drop(response), undefined)
  }
  const source = Body.sourceOf(response)
  if (source !== undefined) {
    return Effect.map(
      Effect.timeoutOption(readSource(source, max), Duration.millis(Math.min(1000, left))),
      (read) => Option.isNone(read) ? undefined : read.value
    )
  }
  return Effect.suspend(() => {
    const start = Body.prefix(max)
    // The rest is read and dropped, so the connection can serve another request.
    return Stream.runForEach(response.stream, (part) => Effect.sync(() => start.add(part))).pipe(
      Effect.timeoutOption(Duration.millis(Math.min(1000, left))),
      Effect.map((read) => Option.isNone(read) ? undefined : decoder.decode(start.bytes())),
      Effect.catch(() => Effect.succeed(undefined))
    )
  })
}

/**
 * Reads a whole body, at most `max` bytes: past that (by its Content-Length, or once that many bytes have come) the
 * read stops and the attempt fails with `tooLarge`. The response handed back holds the body read.
 */
const buffered = (
  request: HttpClientRequest.HttpClientRequest,
  response: HttpClientResponse.HttpClientResponse,
  max: number,
  tooLarge: Effect.Effect<never, BodyTooLarge>
): Effect.Effect<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError | BodyTooLarge> => {
  const { headers, status } = response
  if (status < 200 || Body.NO_BODY.has(status) || request.method === "HEAD") return Effect.succeed(response)
  // Reading one part and stopping ends the request: the connection is not kept for a body nobody reads.
  if (Body.declaredOver(headers["content-length"], max)) {
    return Effect.andThen(Effect.ignore(Stream.runHead(response.stream)), tooLarge)
  }
  return Effect.suspend(() => {
    const body = Body.whole(max)
    return Effect.flatMap(Stream.runForEachWhile(response.stream, (part) => Effect.sync(() => body.add(part))), () => {
      if (body.size() > max) return tooLarge
      // Each cookie keeps its own Set-Cookie line, as the server sent them.
      const copied = new globalThis.Headers(Object.entries(headers).filter(([name]) => name !== "set-cookie"))
      for (const cookie of Cookies.toSetCookieHeaders(response.cookies)) copied.append("set-cookie", cookie)
      const bytes = body.size() === 0 ? null : body.bytes() as Uint8Array<ArrayBuffer>
      return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(bytes, { status, headers: copied })))
    })
  })
}

/** What a failure that is not a status error means by default. */
const kindOf = (error: unknown): RetryDecision.Kind | undefined => {
  if (error instanceof BodyTooLarge) return "permanent"
  if (!HttpClientError.isHttpClientError(error)) return undefined
  // A transport failure, or a body that broke while it was read under `body.read`.
  const tag = error.reason._tag
  return tag === "TransportError" || tag === "DecodeError" ? "transient" : undefined
}

/**
 * A failure status whose error nothing reads before the retry decision (no `onRetry`, no backoff `Schedule`, no
 * coordinator): what the decision reads (the outcome, the server's hint, read once), and what its error is built
 * from, its body read then, if the call gives up on it. A retried one is drained, and its error never built.
 */
class UnseenStatus {
  constructor(
    readonly outcome: "throttled" | "transient" | "permanent",
    readonly hint: ServerHint.Hint | undefined,
    readonly response: HttpClientResponse.HttpClientResponse,
    readonly headers: Headers.Headers,
    readonly receivedAt: number
  ) {}
}

type Failure = StatusError.StatusError | UnseenStatus | HttpClientError.HttpClientError | BodyTooLarge

/** @internal */
export const retryRequest = <E, R>(
  settings: options.Settings,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  request: HttpClientRequest.HttpClientRequest,
  clocks: ServerClock.Clocks
): Effect.Effect<HttpClientResponse.HttpClientResponse, E | StatusRetry.RetryError, R> => {
  const keyed = Methods.isKeyed(request.method, request.headers)
  const statusPolicy = keyed ? settings.keyedPolicy : settings.statusPolicy
  const resendable = Methods.resendable(request.method, keyed, settings.methods, request.body._tag === "Stream")
  const policy = settings.policy
  /** The call's deadline (its `timeout` from the start), epoch milliseconds: no attempt or wait runs past it. */
  let deadline = Infinity
  /** The request's origin, read once per call when an answer is first read for its server's clock. */
  let origin: string | undefined
  /** The wait a redirect's `Retry-After` asks for, waited once the attempt is over (no attempt timeout cuts it). */
  let redirectWait: number | undefined
  /**
   * The instant the last answer's hint is, as the server's clock learned from earlier answers reads it (the
   * coordinator's, or the client's own): sooner than that answer's `Date` alone could tell, and never early.
   */
  let hintAt: number | undefined
  /** The coordinator paces the retry of the last answer (a throttle without a hint): it needs no backoff. */
  let paced = false
  /**
   * Whether a failure's error is built, its body read, before the retry decision: when user code sees the error of a
   * retried attempt (an `onRetry` hook, a backoff `Schedule`) or the coordinator may report it after a refused retry.
   * Otherwise a failure is an `UnseenStatus` until the call gives up on it.
   */
  let errorSeen = true

  /**
   * A redirect that says when to follow it (RFC 9110 section 10.2.3: `307` + `Location` + `Retry-After` during a
   * maintenance): handed back once its instant has come, so whatever follows it (`HttpClient.followRedirects`
   * applied after this client) follows it no sooner; the wait comes after the attempt, so no attempt timeout cuts
   * it. A wait longer than `maxRetryAfter` or past the deadline fails
   * with a `RetryableStatus` that carries the instant, and the decision stops on it as on any other hint.
   */
  const redirectAfter = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, StatusError.StatusError> =>
    Effect.flatMap(Clock.currentTimeMillis, (receivedAt) => {
      const hint = ServerHint.fromHeaders(response.headers, receivedAt)
      if (hint === undefined || hint.source !== "retry-after" || !(hint.millis > 0)) return Effect.succeed(response)
      if (hint.millis <= policy.maxRetryAfter && hint.at <= deadline) {
        redirectWait = hint.at - receivedAt
        return Effect.succeed(response)
      }
      // The redirect is not followed: its body is drained, so its connection serves the next request.
      return Effect.flatMap(Effect.andThen(drop(response), rulesOf(settings)), (rules) =>
        Effect.fail(
          new StatusError.RetryableStatus({
            status: response.status,
            kind: "throttled",
            method: request.method,
            url: Redaction.url(fullUrl(request), rules),
            headers: Redaction.headers(response.headers, rules),
            retryAfter: Option.some({ source: hint.source, delay: Duration.millis(hint.millis), at: hint.at }),
            receivedAt,
            attempts: 1,
            stopReason: Option.none(),
            body: Option.none()
          })
        ))
    })

  /** What an answer means: the response back, or its typed error (an `UnseenStatus` while nothing reads it). */
  const check = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, StatusError.StatusError | UnseenStatus> => {
    const status = response.status
    if (status < 300 && settings.classify === undefined) return Effect.succeed(response)
    const headers = response.headers
    const outcome = settings.classify?.({ _tag: "Response", status, headers })
    if (outcome === "success" || (outcome === undefined && status < 400)) {
      return outcome === undefined && headers["retry-after"] !== undefined && headers.location !== undefined
        ? redirectAfter(response)
        : Effect.succeed(response)
    }
    const judged = outcome ?? StatusPolicy.classify(statusPolicy, status)
    // (No policy makes a status from 400 up a success; the type allows it.)
    if (judged === "success") return Effect.succeed(response)
    return Effect.flatMap(
      Clock.currentTimeMillis,
      (receivedAt): Effect.Effect<never, StatusError.StatusError | UnseenStatus> => {
        if (!errorSeen) {
          // Nothing reads a retried failure's error: it is built when the call gives up on it, and never if it is retried.
          const hint = judged === "permanent" ? undefined : ServerHint.fromHeaders(headers, receivedAt)
          return Effect.fail(new UnseenStatus(judged, hint, response, headers, receivedAt))
        }
        return Effect.flatMap(
          errorBody(response, request.method, settings.maxErrorBodySize, deadline - receivedAt),
          (body) => Effect.flatMap(errorOf(response, headers, receivedAt, judged, body), Effect.fail)
        )
      }
    )
  }

  /** The typed error of a failure status, with its body when it was read (its header record read once, by `check`). */
  const errorOf = (
    response: HttpClientResponse.HttpClientResponse,
    headers: Headers.Headers,
    receivedAt: number,
    outcome: "throttled" | "transient" | "permanent",
    body: string | undefined
  ): Effect.Effect<StatusError.StatusError> =>
    Effect.map(rulesOf(settings), (redaction) =>
      Option.getOrThrow(StatusError.fromResponse(
        {
          status: response.status,
          method: request.method,
          url: fullUrl(request),
          headers,
          receivedAt,
          ...(body === undefined ? {} : { body })
        },
        { outcome, redaction }
      )))

  /** The error of a failure nothing has read yet, built now that the call fails with it: its body is read for it. */
  const built = (unseen: UnseenStatus): Effect.Effect<StatusError.StatusError> =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.flatMap(
        errorBody(unseen.response, request.method, settings.maxErrorBodySize, deadline - now),
        (body) => errorOf(unseen.response, unseen.headers, unseen.receivedAt, unseen.outcome, body)
      ))

  const tooLarge = (status: number) =>
    Effect.flatMap(rulesOf(settings), (rules) =>
      Effect.fail(
        new BodyTooLarge({
          method: request.method,
          url: Redaction.url(fullUrl(request), rules),
          status,
          maxSize: settings.bodyMaxSize
        })
      ))

  /**
   * The request as the client below answers it. A failure status that a `filterStatusOk` (or `filterStatus`) below
   * turned into an error is taken back as the response it was, so it is classified like any other.
   */
  const sent: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R> = Effect.catch(
    send,
    (error) =>
      HttpClientError.isHttpClientError(error) && error.reason._tag === "StatusCodeError" &&
        error.reason.response.status >= 400
        ? Effect.succeed(error.reason.response)
        : Effect.fail(error)
  )

  /** One request, its body read too under `body.read`. */
  const read: Effect.Effect<
    HttpClientResponse.HttpClientResponse,
    E | HttpClientError.HttpClientError | BodyTooLarge,
    R
  > = settings.bodyRead
    ? Effect.flatMap(sent, (response) =>
      response.status < 400
        ? buffered(request, response, settings.bodyMaxSize, tooLarge(response.status))
        : Effect.succeed(response))
    : sent

  /** What a failed attempt means for the decision. */
  const classify = (error: unknown): RetryDecision.Classified<"retry-budget" | "timeout"> => {
    if (error instanceof Coordinator.OriginHeld) return RetryDecision.held(error.reason)
    const seen = hintAt
    const pacedRetry = paced
    hintAt = undefined
    paced = false
    if (error instanceof UnseenStatus || StatusError.isStatusError(error)) {
      const classified: RetryDecision.Classified = error instanceof UnseenStatus
        ? { kind: Status.kindOf(error.outcome, error.hint?.millis), hint: error.hint, resendable, stop: undefined }
        : statusErrors.classified(error, resendable)
      const hint = classified.hint
      const read = hint !== undefined && seen !== undefined && seen < hint.at
        ? { ...classified, hint: { ...hint, at: seen } }
        : classified
      return pacedRetry ? { ...read, paced: true } : read
    }
    const user = settings.classify?.({ _tag: "Failure", error })
    const transport = HttpClientError.isHttpClientError(error) && error.reason._tag === "TransportError"
    return {
      kind: user === "success" ? undefined : user ?? kindOf(error),
      hint: undefined,
      // A failure that proves the request never left may be retried for any method.
      resendable: resendable || (transport && Methods.neverSent((error as HttpClientError.HttpClientError).cause)),
      stop: undefined
    }
  }

  /** Logs and counts a retry, before its wait; drains the body of a failure retried out of sight, which nothing reads. */
  const announce = (made: Extract<RetryDecision.Decision, { _tag: "Retry" }>, error: unknown) =>
    Effect.flatMap(
      error instanceof UnseenStatus ? Effect.andThen(drop(error.response), rulesOf(settings)) : rulesOf(settings),
      (rules) =>
        Effect.logDebug(
          `retrying ${request.method} ${Redaction.url(fullUrl(request), rules)} in ${
            Math.round(made.delay)
          } ms (${made.source})`
        ).pipe(
          Effect.annotateLogs({
            attempt: made.attempts + 1,
            delayMillis: made.delay,
            source: made.source,
            kind: made.kind,
            status: error instanceof UnseenStatus
              ? error.response.status
              : StatusError.isStatusError(error)
              ? error.status
              : "transport"
          }),
          Effect.andThen(Metric.update(counter(retries, { kind: made.kind, source: made.source }), 1))
        )
    )

  /** Logs and counts the stop, and fails with the error the call ends with, redacted. */
  const giveUp = (
    made: Extract<RetryDecision.Decision<"retry-budget" | "timeout">, { _tag: "Stop" }>,
    error: unknown
  ): Effect.Effect<never, E | StatusRetry.RetryError> =>
    Effect.flatMap(
      rulesOf(settings),
      (rules) =>
        Effect.logDebug(`giving up on ${request.method} ${Redaction.url(fullUrl(request), rules)}: ${made.reason}`)
          .pipe(
            Effect.annotateLogs({ attempts: made.attempts, reason: made.reason }),
            Effect.andThen(Metric.update(counter(giveUps, { reason: made.reason }), 1)),
            Effect.andThen(
              error instanceof UnseenStatus
                ? Effect.flatMap(built(error), (final) =>
                  Effect.fail(StatusError.withStop(final, made.attempts, made.reason)))
                : Effect.fail(
                  StatusError.isStatusError(error)
                    ? StatusError.withStop(error, made.attempts, made.reason)
                    : sanitize(error as E | StatusRetry.RetryError, request, rules)
                )
            )
          )
    )

  return Effect.flatMap(Effect.zip(Clock.currentTimeMillis, Effect.serviceOption(Coordinator.Coordinator)), ([
    startedAt,
    coordinated
  ]) => {
    deadline = startedAt + policy.timeout
    errorSeen = Option.isSome(coordinated) || settings.onRetry !== undefined || settings.backoff !== undefined

    /** One attempt, bounded by the attempt timeout and the call's timeout; a resend tells its span how many came before. */
    const attempt = (
      kind: Coordinator.RequestInfo["attempt"],
      resends: number
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | Failure | Coordinator.OriginHeld, R> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const left = deadline - now
        const byTimeout = settings.attemptTimeout === undefined || left <= settings.attemptTimeout
        const limit = byTimeout ? left : settings.attemptTimeout!
        const counted = resends === 0 ? read : Effect.annotateSpans(read, RESEND_COUNT, resends)
        // Under a coordinator, the attempt waits for its permit, and the coordinator hears every answer it asks for.
        const checked = Effect.flatMap(
          Effect.serviceOption(Coordinator.Coordinator),
          (coordinator) =>
            Option.isNone(coordinator)
              ? Effect.flatMap(counted, (response) =>
                Effect.flatMap(Clock.currentTimeMillis, (receivedAt) => {
                  // Without the coordinator, the client learns each origin's clock from its answers' Date.
                  origin ??= CoordinatorAnswer.originOf(request.url)
                  if (clocks.wants(origin, response.status, receivedAt)) {
                    hintAt = clocks.observe(origin, response.status, response.headers, now, receivedAt)
                  }
                  return check(response)
                }))
              : coordinator.value.withPermit(
                { url: fullUrl(request), method: request.method, headers: request.headers, attempt: kind, deadline },
                (permit) =>
                  Effect.flatMap(counted, (response) =>
                    !permit.learn && response.status < 400
                      // A success the coordinator does not need is not reported: its header record is never built.
                      ? check(response)
                      : Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
                        Effect.andThen(
                          Effect.map(
                            coordinator.value.observe(permit, {
                              status: response.status,
                              headers: response.headers,
                              receivedAt
                            }),
                            () => {
                              hintAt = permit.hintAt
                              paced = permit.paced
                            }
                          ),
                          check(response)
                        )))
              )
        )
        const bounded = Effect.timeoutOrElse(checked, {
          duration: Duration.millis(Math.max(0, limit)),
          orElse: () =>
            Effect.flatMap(rulesOf(settings), (rules) =>
              Effect.fail(
                cut(
                  request,
                  rules,
                  byTimeout
                    ? `no response before the call's timeout of ${Duration.format(Duration.millis(policy.timeout))}`
                    : `no response within the attempt timeout of ${
                      Duration.format(Duration.millis(settings.attemptTimeout!))
                    }`
                )
              ))
        })
        return Effect.flatMap(bounded, (response) => {
          const wait = redirectWait
          if (wait === undefined) return Effect.succeed(response)
          redirectWait = undefined
          return Effect.as(Effect.sleep(Duration.millis(wait)), response)
        })
      })

    /** The last status error: when the coordinator will not let its retry go, it is the one to report. */
    let previous: StatusError.StatusError | undefined
    /** How the coordinator is told the next attempt: set by the decision that asks for it. */
    let kind: Coordinator.RequestInfo["attempt"] = "first"
    return RetryLoop.run({
      policy: Option.isSome(coordinated) ? settings.policyCoordinated : policy,
      backoff: settings.backoff,
      startedAt,
      attempt: (attempts) => attempt(kind, attempts),
      classify: (error) => {
        const classified = classify(error)
        if (StatusError.isStatusError(error)) previous = error
        return classified
      },
      observe: (made, error) => {
        kind = RetryDecision.coordinatedAttempt(made.source)
        return announce(made, error)
      },
      onRetry: settings.onRetry,
      stop: (made, error) =>
        giveUp(made, error instanceof Coordinator.OriginHeld && previous !== undefined ? previous : error)
    })
  })
}

/** @internal */
export interface Override {
  readonly options: StatusRetry.CallOptions
  /** The settings of each client under this override, resolved once. */
  readonly resolved: WeakMap<options.Settings, options.Settings>
  /** This override inside each other one, merged once. */
  readonly within: WeakMap<Override, Override>
}

/** The per-call override in force, if any. */
const CurrentOverride = Context.Reference<Override | undefined>("@effect-retry/effect4/StatusRetry/CurrentOverride", {
  defaultValue: () => undefined
})

/**
 * The request the innermost running `withStatusRetry` is driving. A `withStatusRetry` below it that gets the same
 * request sends it once and leaves the retrying to the one above: the configuration applied last wins.
 */
const CurrentRequest = Context.Reference<HttpClientRequest.HttpClientRequest | undefined>(
  "@effect-retry/effect4/StatusRetry/CurrentRequest",
  { defaultValue: () => undefined }
)

const makeOverride = (input: StatusRetry.CallOptions): Override => {
  // Checked alone now, so a mistake shows where the override is written.
  options.checkCall(input)
  return { options: input, resolved: new WeakMap(), within: new WeakMap() }
}

const applyOverride = (settings: options.Settings, override: Override): options.Settings => {
  let resolved = override.resolved.get(settings)
  if (resolved === undefined) {
    // The client's rules are kept: they may have compiled the fiber's redacted names already.
    resolved = { ...options.resolve(options.merge(settings.options, override.options)), rules: settings.rules }
    override.resolved.set(settings, resolved)
  }
  return resolved
}

const locally = <A, E, R>(self: Effect.Effect<A, E, R>, override: Override): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.service(CurrentOverride), (outer) => {
    let effective = override
    if (outer !== undefined) {
      // An override inside another one adds to it.
      effective = override.within.get(outer) ?? makeOverride(options.merge(outer.options, override.options))
      override.within.set(outer, effective)
    }
    return Effect.provideService(self, CurrentOverride, effective)
  })

/** @internal */
export const withOptions: {
  (input: StatusRetry.CallOptions): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, input: StatusRetry.CallOptions): Effect.Effect<A, E, R>
} = function(this: unknown) {
  if (arguments.length >= 2) return locally(arguments[0], makeOverride(arguments[1]))
  // Checked once, here, and resolved once per client it meets.
  const override = makeOverride(arguments[0])
  return <A, E, R>(self: Effect.Effect<A, E, R>) => locally(self, override)
} as any

const disabledOverride = makeOverride({ maxAttempts: 1 })

/** @internal */
export const disabled = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  locally(self, disabledOverride)

/** @internal */
export const withStatusRetry = (input?: StatusRetry.Options) => {
  const settings = options.resolve(input)
  /** What the origins' answers told of their clocks, shared by every call of the client. */
  const clocks = new ServerClock.Clocks()
  return <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ): HttpClient.HttpClient.With<E | StatusRetry.RetryError, R> => {
    const retrying = HttpClient.transform(
      client,
      (send, request) =>
        Effect.flatMap(Effect.service(CurrentRequest), (current) =>
          // A withStatusRetry above this one drives this request: send it once, as it is (the one applied last wins).
          current === request ? send : Effect.flatMap(
            Effect.service(CurrentOverride),
            (override) =>
              Effect.provideService(
                retryRequest(
                  override === undefined ? settings : applyOverride(settings, override),
                  send,
                  request,
                  clocks
                ),
                CurrentRequest,
                request
              )
          ))
    )
    const addKey = settings.idempotencyKey
    if (addKey === undefined) return retrying
    return HttpClient.mapRequest(
      retrying,
      (request) =>
        Methods.KEYED_METHODS.has(request.method) && request.headers[Methods.IDEMPOTENCY_KEY] === undefined
          ? HttpClientRequest.setHeader(request, Methods.IDEMPOTENCY_KEY, addKey())
          : request
    )
  }
}
