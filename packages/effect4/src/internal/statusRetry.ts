import * as Methods from "@effect-retry/engine/Methods"
import * as Redaction from "@effect-retry/engine/Redaction"
import * as RetryDecision from "@effect-retry/engine/RetryDecision"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Headers from "effect/http/Headers"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import type * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as UrlParams from "effect/http/UrlParams"
import * as Coordinator from "../Coordinator.js"
import * as StatusError from "../StatusError.js"
import type * as StatusRetry from "../StatusRetry.js"
import * as options from "./options.js"
import * as statusErrors from "./statusError.js"

/** The URL a request goes to, with its URL parameters (the fragment is never sent). */
const fullUrl = (request: HttpClientRequest.HttpClientRequest): string => {
  const query = UrlParams.toString(request.urlParams)
  return query === "" ? request.url : `${request.url}${request.url.includes("?") ? "&" : "?"}${query}`
}

/** The rules of the calling fiber: the options' names, and those of `Headers.CurrentRedactedNames`. */
const rulesOf = (settings: options.Settings): Effect.Effect<Redaction.Redactor> =>
  Effect.map(Effect.service(Headers.CurrentRedactedNames), settings.rules)

/** The failure of an attempt cut by the attempt timeout or the call's timeout: its request is safe to show. */
const cut = (
  request: HttpClientRequest.HttpClientRequest,
  rules: Redaction.Redactor,
  description: string
): HttpClientError.HttpClientError =>
  new HttpClientError.HttpClientError({
    reason: new HttpClientError.TransportError({
      request: HttpClientRequest.make(request.method as "GET")(Redaction.url(fullUrl(request), rules)),
      description
    })
  })

/** The start of a failure's body as text (at most `max` bytes, within a second); undefined when not read. */
const errorBody = (
  response: HttpClientResponse.HttpClientResponse,
  method: string,
  max: number
): Effect.Effect<string | undefined> => {
  if (max === 0 || method === "HEAD" || response.status === 204 || response.status === 304) {
    return Effect.succeed(undefined)
  }
  if ((response.headers["content-type"] ?? "").startsWith("text/event-stream")) return Effect.succeed(undefined)
  return response.arrayBuffer.pipe(
    Effect.map((buffer) => new TextDecoder().decode(new Uint8Array(buffer, 0, Math.min(max, buffer.byteLength)))),
    Effect.timeoutOption("1 second"),
    Effect.map(Option.getOrUndefined),
    Effect.catch(() => Effect.succeed(undefined))
  )
}

type Failure = StatusError.StatusError | HttpClientError.HttpClientError

/** @internal */
export const retryRequest = <E, R>(
  settings: options.Settings,
  send: Effect.Effect<HttpClientResponse.HttpClientResponse, E, R>,
  request: HttpClientRequest.HttpClientRequest
): Effect.Effect<HttpClientResponse.HttpClientResponse, E | StatusRetry.RetryError, R> => {
  const keyed = Methods.isKeyed(request.method, request.headers)
  const statusPolicy = keyed ? settings.keyedPolicy : settings.statusPolicy
  const resendable = Methods.resendable(request.method, keyed, settings.methods, request.body._tag === "Stream")
  const policy = settings.policy

  /** What an answer means: the response back, or its typed error. */
  const check = (
    response: HttpClientResponse.HttpClientResponse
  ): Effect.Effect<HttpClientResponse.HttpClientResponse, StatusError.StatusError> => {
    const status = response.status
    if (status < 400 && settings.classify === undefined) return Effect.succeed(response)
    const outcome = settings.classify?.({ _tag: "Response", status, headers: response.headers })
    if (outcome === "success" || (outcome === undefined && status < 400)) return Effect.succeed(response)
    return Effect.gen(function*() {
      const receivedAt = yield* Clock.currentTimeMillis
      const body = yield* errorBody(response, request.method, settings.maxErrorBodySize)
      const redaction = yield* rulesOf(settings)
      const error = StatusError.fromResponse(
        {
          status,
          method: request.method,
          url: fullUrl(request),
          headers: response.headers,
          receivedAt,
          ...(body === undefined ? {} : { body })
        },
        outcome === undefined ? { statusPolicy, redaction } : { outcome, redaction }
      )
      if (Option.isNone(error)) return response
      return yield* Effect.fail(error.value)
    })
  }

  /** What a failed attempt means for the decision. */
  const classify = (error: unknown): RetryDecision.Classified<"retry-budget" | "timeout"> => {
    if (error instanceof Coordinator.OriginHeld) return RetryDecision.held(error.reason)
    if (StatusError.isStatusError(error)) return statusErrors.classified(error, resendable)
    const user = settings.classify?.({ _tag: "Failure", error })
    if (HttpClientError.isHttpClientError(error) && error.reason._tag === "TransportError") {
      return {
        kind: user === "success" ? undefined : user ?? "transient",
        hint: undefined,
        // A failure that proves the request never left may be retried for any method.
        resendable: resendable || Methods.neverSent(error.reason.cause),
        stop: undefined
      }
    }
    return { kind: user === "success" ? undefined : user, hint: undefined, resendable, stop: undefined }
  }

  return Effect.flatMap(Clock.currentTimeMillis, (startedAt) => {
    const deadline = startedAt + policy.timeout

    /** One attempt, bounded by the attempt timeout and the call's timeout. */
    const attempt = (
      kind: Coordinator.RequestInfo["attempt"]
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | Failure | Coordinator.OriginHeld, R> =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const left = deadline - now
        const byTimeout = settings.attemptTimeout === undefined || left <= settings.attemptTimeout
        const limit = byTimeout ? left : settings.attemptTimeout!
        // Under a coordinator, the attempt waits for its permit, and the coordinator hears every answer.
        const checked = Effect.flatMap(
          Effect.serviceOption(Coordinator.Coordinator),
          (coordinator) =>
            Option.isNone(coordinator)
              ? Effect.flatMap(send, check)
              : coordinator.value.withPermit({ url: fullUrl(request), attempt: kind, deadline }, (permit) =>
                Effect.flatMap(send, (response) =>
                  Effect.flatMap(Clock.currentTimeMillis, (receivedAt) =>
                    Effect.andThen(
                      coordinator.value.observe(permit, {
                        status: response.status,
                        headers: response.headers,
                        receivedAt
                      }),
                      check(response)
                    ))))
        )
        return Effect.timeoutOrElse(checked, {
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
      })

    /** The last status error: when the coordinator will not let its retry go, it is the one to report. */
    let previous: StatusError.StatusError | undefined
    const loop = (
      state: RetryDecision.State,
      kind: Coordinator.RequestInfo["attempt"]
    ): Effect.Effect<HttpClientResponse.HttpClientResponse, E | StatusRetry.RetryError, R> =>
      Effect.catch(
        attempt(kind),
        (error) =>
          Effect.flatMap(Clock.currentTimeMillis, (now) =>
            Effect.flatMap(Random.next, (random) => {
              const [made, next] = RetryDecision.decide(policy, state, classify(error), now, random)
              if (StatusError.isStatusError(error)) previous = error
              if (made._tag === "Retry") {
                const after = made.source === "backoff" ? "retry" : "retry-after-hint"
                return Effect.flatMap(Effect.sleep(Duration.millis(made.delay)), () => loop(next, after))
              }
              const reported = error instanceof Coordinator.OriginHeld && previous !== undefined ? previous : error
              return Effect.fail(
                StatusError.isStatusError(reported)
                  ? StatusError.withStop(reported, made.attempts, made.reason)
                  : reported
              )
            }))
      )
    return loop(RetryDecision.initialState(policy, startedAt), "first")
  })
}

/** @internal */
export const withStatusRetry = (input?: StatusRetry.Options) => {
  const settings = options.resolve(input)
  return <E, R>(
    client: HttpClient.HttpClient.With<E, R>
  ): HttpClient.HttpClient.With<E | StatusRetry.RetryError, R> => {
    const retrying = HttpClient.transform(client, (send, request) => retryRequest(settings, send, request))
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
