import { Redaction, StatusError, StatusPolicy } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"

const ITEMS = "https://api.test/items"

const response = (
  status: number,
  headers: StatusError.ResponseLike["headers"] = {},
  extra: Partial<StatusError.ResponseLike> = {}
): StatusError.ResponseLike => ({ status, method: "GET", url: ITEMS, headers, receivedAt: 1_000, ...extra })

const errorOf = (
  status: number,
  headers?: StatusError.ResponseLike["headers"],
  options?: StatusError.FromResponseOptions
) => Option.getOrThrow(StatusError.fromResponse(response(status, headers), options))

describe("StatusError.fromResponse: classes and kinds", () => {
  const cases: ReadonlyArray<
    readonly [number, new(args: StatusError.StatusErrorFields) => StatusError.StatusError, string, string]
  > = [
    [400, StatusError.BadRequest, "BadRequest", "permanent"],
    [401, StatusError.Unauthorized, "Unauthorized", "permanent"],
    [403, StatusError.Forbidden, "Forbidden", "permanent"],
    [404, StatusError.NotFound, "NotFound", "permanent"],
    [405, StatusError.MethodNotAllowed, "MethodNotAllowed", "permanent"],
    [408, StatusError.RequestTimeout, "RequestTimeout", "transient"],
    [409, StatusError.Conflict, "Conflict", "permanent"],
    [422, StatusError.UnprocessableEntity, "UnprocessableEntity", "permanent"],
    [429, StatusError.TooManyRequests, "TooManyRequests", "throttled"],
    [500, StatusError.InternalServerError, "InternalServerError", "transient"],
    [502, StatusError.BadGateway, "BadGateway", "transient"],
    [503, StatusError.ServiceUnavailable, "ServiceUnavailable", "transient"],
    [504, StatusError.GatewayTimeout, "GatewayTimeout", "transient"],
    [410, StatusError.PermanentStatus, "PermanentStatus", "permanent"],
    [418, StatusError.PermanentStatus, "PermanentStatus", "permanent"],
    [501, StatusError.PermanentStatus, "PermanentStatus", "permanent"],
    [505, StatusError.PermanentStatus, "PermanentStatus", "permanent"],
    [599, StatusError.PermanentStatus, "PermanentStatus", "permanent"]
  ]

  for (const [status, Class, tag, kind] of cases) {
    it(`${status} is ${tag}, ${kind}`, () => {
      const error = errorOf(status)
      expect(error).toBeInstanceOf(Class)
      expect(error).toBeInstanceOf(Error)
      expect(error._tag).toBe(tag)
      expect(error.kind).toBe(kind)
      expect(error.status).toBe(status)
      expect(error.attempts).toBe(1)
      expect(error.stopReason).toStrictEqual(Option.none())
      expect(error.receivedAt).toBe(1_000)
      expect(StatusError.isStatusError(error)).toBe(true)
      expect(StatusError.isRetryable(error)).toBe(kind !== "permanent")
      expect(StatusError.isPermanent(error)).toBe(kind === "permanent")
    })
  }

  it("a status the policy adds is a RetryableStatus; a known class keeps its class whatever the policy says", () => {
    const policy = StatusPolicy.defaultPolicy.pipe(
      StatusPolicy.retrying([425, 404]),
      StatusPolicy.notRetrying([500])
    )
    const tooEarly = errorOf(425, {}, { statusPolicy: policy })
    expect(tooEarly).toBeInstanceOf(StatusError.RetryableStatus)
    expect([tooEarly._tag, tooEarly.kind, StatusError.isRetryable(tooEarly)]).toStrictEqual([
      "RetryableStatus",
      "transient",
      true
    ])
    const notFound = errorOf(404, {}, { statusPolicy: policy })
    // By kind, the policy in force: a NotFound it retries is retryable; by class, it is still of the Permanent union.
    expect([notFound._tag, notFound.kind, StatusError.isPermanent(notFound), StatusError.isRetryable(notFound)])
      .toStrictEqual(["NotFound", "transient", false, true])
    expect([StatusError.isPermanentClass(notFound), StatusError.isTransient(notFound)]).toStrictEqual([true, true])
    const internal = errorOf(500, {}, { statusPolicy: policy })
    expect([internal._tag, internal.kind, StatusError.isRetryable(internal), StatusError.isPermanent(internal)])
      .toStrictEqual(["InternalServerError", "permanent", false, true])
    expect(StatusError.isRetryableClass(internal)).toBe(true)
  })

  it("is None for statuses that are not failures", () => {
    for (const status of [100, 200, 201, 204, 301, 304, 399]) {
      expect(StatusError.fromResponse(response(status)), String(status)).toStrictEqual(Option.none())
    }
  })

  it("a transient status with a server hint is throttled, and carries the hint", () => {
    const withRetryAfter = errorOf(503, { "retry-after": "120" })
    expect(withRetryAfter.kind).toBe("throttled")
    expect(Option.map(withRetryAfter.retryAfter, (h) => [h.source, Duration.toMillis(h.delay), h.at])).toStrictEqual(
      Option.some(["retry-after", 120_000, 121_000])
    )
    const withRateLimit = errorOf(502, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "4" })
    expect(withRateLimit.kind).toBe("throttled")
    expect(Option.map(withRateLimit.retryAfter, (h) => [h.source, h.at])).toStrictEqual(
      Option.some(["x-ratelimit-reset", 5_000])
    )
    // A malformed Retry-After is no hint: still transient.
    const malformed = errorOf(503, { "retry-after": "soon" })
    expect([malformed.kind, malformed.retryAfter]).toStrictEqual(["transient", Option.none()])
  })

  it("a 429 is throttled with or without a hint", () => {
    expect(errorOf(429).retryAfter).toStrictEqual(Option.none())
    expect(Option.map(errorOf(429, { "retry-after": "7" }).retryAfter, (h) => h.at)).toStrictEqual(Option.some(8_000))
  })

  it("a permanent status carries no hint", () => {
    const error = errorOf(404, { "retry-after": "7" })
    expect([error.kind, error.retryAfter]).toStrictEqual(["permanent", Option.none()])
  })

  it("receivedAt defaults to the local clock", () => {
    const before = Date.now()
    const error = Option.getOrThrow(StatusError.fromResponse({ status: 500, method: "GET", url: ITEMS, headers: {} }))
    expect(error.receivedAt).toBeGreaterThanOrEqual(before)
    expect(error.receivedAt).toBeLessThanOrEqual(Date.now())
  })
})

describe("StatusError.fromResponse: redaction", () => {
  it("redacts credential headers and lower-cases every name", () => {
    const error = errorOf(500, {
      Authorization: "Bearer secret",
      "Set-Cookie": ["a=1", "b=2"],
      cookie: "session=abc",
      "proxy-authorization": "Basic xyz",
      "x-api-key": "k",
      "X-Auth-Token": "t",
      "Content-Type": "application/json",
      vary: ["accept", "origin"],
      "x-missing": undefined
    })
    expect(error.headers).toStrictEqual({
      authorization: "<redacted>",
      "set-cookie": "<redacted>",
      cookie: "<redacted>",
      "proxy-authorization": "<redacted>",
      "x-api-key": "<redacted>",
      "x-auth-token": "<redacted>",
      "content-type": "application/json",
      vary: "accept, origin"
    })
  })

  it("adds the names given in redactHeaders, in any case, to the ones always redacted", () => {
    const error = errorOf(
      500,
      { authorization: "Bearer secret", "x-session": "s", "x-secret": "t", accept: "*/*" },
      { redactHeaders: ["x-session", "X-Secret"] }
    )
    expect(error.headers).toStrictEqual({
      authorization: "<redacted>",
      "x-session": "<redacted>",
      "x-secret": "<redacted>",
      accept: "*/*"
    })
  })

  it("removes user:password@ from the URL, and nothing else", () => {
    const url = (u: string) => Option.getOrThrow(StatusError.fromResponse(response(500, {}, { url: u }))).url
    expect(url("https://user:pass@api.test/items?q=1")).toBe("https://<redacted>@api.test/items?q=1")
    expect(url("HTTP://token@api.test:8080/")).toBe("HTTP://<redacted>@api.test:8080/")
    // A password may contain "@": everything up to the last "@" before the path is userinfo.
    expect(url("https://user:p@ss@api.test/items")).toBe("https://<redacted>@api.test/items")
    expect(url("https://user:p@ss@api.test")).toBe("https://<redacted>@api.test")
    expect(url("https://api.test/items")).toBe("https://api.test/items")
    expect(url("https://api.test/users/a@b.test?to=c@d.test#e@f")).toBe(
      "https://api.test/users/a@b.test?to=c@d.test#e@f"
    )
    expect(url("https://api.test?next=https://x:y@evil.test/")).toBe("https://api.test?next=https://x:y@evil.test/")
    expect(url("/relative/a@b")).toBe("/relative/a@b")
  })
})

describe("StatusError guards", () => {
  it("recognise status errors only", () => {
    for (const value of [new Error("boom"), {}, null, undefined, "NotFound", { _tag: "NotFound", status: 404 }]) {
      expect(StatusError.isStatusError(value)).toBe(false)
      expect(StatusError.isRetryable(value)).toBe(false)
      expect(StatusError.isPermanent(value)).toBe(false)
      expect(StatusError.isThrottled(value)).toBe(false)
      expect(StatusError.isTransient(value)).toBe(false)
      expect(StatusError.isRetryableClass(value)).toBe(false)
      expect(StatusError.isPermanentClass(value)).toBe(false)
    }
  })

  it("the class guards answer as the unions do; under the default policy the kind guards agree", () => {
    expect(StatusError.isRetryableClass(errorOf(429))).toBe(true)
    expect(StatusError.isPermanentClass(errorOf(429))).toBe(false)
    expect(StatusError.isRetryableClass(errorOf(404))).toBe(false)
    expect(StatusError.isPermanentClass(errorOf(404))).toBe(true)
    expect([StatusError.isRetryable(errorOf(429)), StatusError.isThrottled(errorOf(429))]).toStrictEqual([true, true])
    expect([StatusError.isPermanent(errorOf(404)), StatusError.isTransient(errorOf(503))]).toStrictEqual([true, true])
  })

  it("each class of a known status has its literal status type", () => {
    const error = errorOf(429)
    if (!(error instanceof StatusError.TooManyRequests)) throw new Error("expected TooManyRequests")
    const status: 429 = error.status
    const notFound: StatusError.NotFound["status"] = 404
    expect([status, notFound]).toStrictEqual([429, 404])
  })
})

describe("StatusError.withStop", () => {
  it("keeps the class and every field, and records attempts and why retrying stopped", () => {
    const error = errorOf(429, { "retry-after": "7" })
    const stopped = StatusError.withStop(error, 3, "timeout")
    expect(stopped).toBeInstanceOf(StatusError.TooManyRequests)
    expect(stopped._tag).toBe("TooManyRequests")
    expect([stopped.attempts, stopped.stopReason]).toStrictEqual([3, Option.some("timeout")])
    expect([stopped.status, stopped.kind, stopped.method, stopped.url, stopped.receivedAt]).toStrictEqual([
      429,
      "throttled",
      "GET",
      ITEMS,
      1_000
    ])
    expect(stopped.headers).toStrictEqual(error.headers)
    expect(stopped.retryAfter).toStrictEqual(error.retryAfter)
    expect(StatusError.isStatusError(stopped)).toBe(true)
    // The original is unchanged.
    expect([error.attempts, error.stopReason]).toStrictEqual([1, Option.none()])
  })

  it("works data-last, on a generic class too", () => {
    const stopped = errorOf(418).pipe(StatusError.withStop(1, "permanent"))
    expect(stopped).toBeInstanceOf(StatusError.PermanentStatus)
    expect([stopped.status, stopped.attempts, stopped.stopReason]).toStrictEqual([418, 1, Option.some("permanent")])
  })
})

describe("StatusError.withBody", () => {
  it("keeps the class and every other field, and carries the body; data-first and data-last", () => {
    const error = errorOf(422)
    const withProblem = StatusError.withBody(error, `{"title":"Invalid order"}`)
    expect(withProblem).toBeInstanceOf(StatusError.UnprocessableEntity)
    expect(withProblem.body).toStrictEqual(Option.some(`{"title":"Invalid order"}`))
    expect({ ...withProblem, body: error.body }).toStrictEqual({ ...error })
    expect(error.body).toStrictEqual(Option.none())
    const stopped = errorOf(503).pipe(StatusError.withBody("busy"), StatusError.withStop(2, "attempts"))
    expect([stopped.body, stopped.attempts, stopped.stopReason]).toStrictEqual([
      Option.some("busy"),
      2,
      Option.some("attempts")
    ])
  })
})

describe("StatusError message", () => {
  it("reads as status, reason, request, hint and stop", () => {
    const error = errorOf(429, { "retry-after": "7" })
    expect(error.message).toBe(
      "429 Too Many Requests: GET https://api.test/items (server asked to wait 7s, from retry-after)"
    )
    expect(StatusError.withStop(error, 3, "retry-after-too-long").message).toBe(
      "429 Too Many Requests: GET https://api.test/items (server asked to wait 7s, from retry-after); gave up after 3 attempts: retry-after-too-long"
    )
    expect(StatusError.withStop(errorOf(404), 1, "permanent").message).toBe(
      "404 Not Found: GET https://api.test/items; gave up after 1 attempt: permanent"
    )
    expect(errorOf(418).message).toBe("418: GET https://api.test/items")
    expect(
      Option.getOrThrow(
        StatusError.fromResponse(response(503, {}, { method: "POST", url: "https://u:p@api.test/jobs" }))
      ).message
    ).toBe("503 Service Unavailable: POST https://<redacted>@api.test/jobs")
  })

  it("writes a delay over 10,000 years as such, however many digits the server sent", () => {
    const waitText = (retryAfter: string) =>
      /server asked to wait (.*), from/.exec(errorOf(503, { "retry-after": retryAfter }).message)?.[1]
    // 10,000 Gregorian years are 3,652,425 days: 315,569,520,000 seconds.
    expect(waitText("315569520000")).toBe("3652425d")
    expect(waitText("315569520001")).toBe("more than 10,000 years")
    expect(waitText("9".repeat(400))).toBe("more than 10,000 years")
    expect(waitText("86461")).toBe("1d 1m 1s")
  })
})

describe("StatusError in Effect", () => {
  it.effect("a status error is catchable by its tag", () =>
    Effect.gen(function*() {
      const failing: Effect.Effect<string, StatusError.StatusError> = Effect.fail(errorOf(404))
      const result = yield* failing.pipe(
        Effect.catchTag("NotFound", (e) => Effect.succeed(`not found: ${e.status} after ${e.attempts}`))
      )
      expect(result).toBe("not found: 404 after 1")
    }))

  it.effect("catchIf with a guard narrows to the other union", () =>
    Effect.gen(function*() {
      const failing: Effect.Effect<string, StatusError.StatusError> = Effect.fail(errorOf(409))
      const handled: Effect.Effect<string, StatusError.Retryable> = failing.pipe(
        Effect.catchIf(StatusError.isPermanentClass, (e) => Effect.succeed(`gave up: ${e._tag}`))
      )
      expect(yield* handled).toBe("gave up: Conflict")
    }))

  it.effect("a status error is yieldable", () =>
    Effect.gen(function*() {
      const error = errorOf(503)
      const exit = yield* Effect.exit(Effect.gen(function*() {
        return yield* error
      }))
      expect(exit._tag).toBe("Failure")
      const failure = yield* Effect.flip(Effect.gen(function*() {
        return yield* error
      }))
      expect(failure).toBe(error)
    }))
})

describe("StatusError: secrets never reach a field, the message or the JSON", () => {
  const SECRET = "s3cr3t-value"
  const leaks = (error: StatusError.StatusError): ReadonlyArray<string> =>
    [String(error), error.message, JSON.stringify(error), JSON.stringify(error.headers), error.url].filter((text) =>
      text.includes(SECRET)
    )

  it("redacts query tokens, x-amz-security-token and a signed Location by default", () => {
    const error = Option.getOrThrow(StatusError.fromResponse(response(503, {
      "x-amz-security-token": SECRET,
      location: `https://cdn.test/f?X-Amz-Signature=${SECRET}`,
      "retry-after": "1"
    }, { url: `https://me:${SECRET}@api.test/items?token=${SECRET}&page=2` })))
    expect(error.url).toBe("https://<redacted>@api.test/items?token=<redacted>&page=2")
    expect(error.headers["x-amz-security-token"]).toBe("<redacted>")
    expect(error.headers["location"]).toBe("https://cdn.test/f?X-Amz-Signature=<redacted>")
    expect(leaks(error)).toStrictEqual([])
    expect(leaks(StatusError.withStop(error, 3, "attempts"))).toStrictEqual([])
  })

  it("redactQueryParams adds query parameters; redaction takes rules built once", () => {
    const url = `https://api.test/items?session_id=${SECRET}`
    const byOption = Option.getOrThrow(
      StatusError.fromResponse(response(500, {}, { url }), { redactQueryParams: ["session_id"] })
    )
    expect(byOption.url).toBe("https://api.test/items?session_id=<redacted>")
    const rules = Redaction.make({ headers: ["x-session"], queryParams: ["session_id"] })
    const byRules = Option.getOrThrow(
      StatusError.fromResponse(response(500, { "x-session": SECRET }, { url }), { redaction: rules })
    )
    expect([byRules.url, byRules.headers["x-session"]]).toStrictEqual([
      "https://api.test/items?session_id=<redacted>",
      "<redacted>"
    ])
  })

  it("an error built by hand is redacted with the default rules too", () => {
    const error = new StatusError.NotFound({
      status: 404,
      kind: "permanent",
      method: "GET",
      url: `https://u:${SECRET}@api.test/x?access_token=${SECRET}`,
      headers: { authorization: SECRET, "x-request-id": "r1" },
      retryAfter: Option.none(),
      receivedAt: 0,
      attempts: 1,
      body: Option.none(),
      stopReason: Option.none()
    })
    expect(leaks(error)).toStrictEqual([])
    expect(error.headers).toStrictEqual({ authorization: "<redacted>", "x-request-id": "r1" })
  })
})
