import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as HttpClient from "effect/http/HttpClient"
import * as HttpClientError from "effect/http/HttpClientError"
import * as HttpClientRequest from "effect/http/HttpClientRequest"
import * as HttpClientResponse from "effect/http/HttpClientResponse"
import * as UrlParams from "effect/http/UrlParams"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as References from "effect/References"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/testing/TestClock"
import { describe, expect, it } from "vitest"
import * as Behaviour from "../../engine/test/shared/behaviour.js"
import type { RetryPolicy } from "../src/index.js"
import { Coordinator, StatusError, StatusRetry, withStatusRetry } from "../src/index.js"

/** One request as the scripted client saw it: when it was sent on the TestClock, and its method and headers. */
interface Sent {
  readonly at: number
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  /** The `http.request.resend_count` of the client span the request was sent in. */
  readonly resendCount: unknown
}

/** A scripted answer: a status, headers, and a body (text, or a stream that may break). */
interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly body?: string | (() => ReadableStream<Uint8Array>)
  /** No answer: the client fails with a transport error that carries the request as it was sent. */
  readonly transport?: boolean
  /** The transport error's cause (default: "socket hang up"). */
  readonly cause?: Error
}

/**
 * A client that answers from a script on the TestClock (the last reply repeats), and the requests it saw. The run
 * starts at `Behaviour.NOW`; the clock is moved an hour on, so every sleep of the call ends in order. `around` wraps
 * the call (a logger, a log level).
 */
const run = <A, E>(
  replies: ReadonlyArray<Reply>,
  call: (
    client: HttpClient.HttpClient.With<E | StatusRetry.RetryError>
  ) => Effect.Effect<A, E | StatusRetry.RetryError>,
  options: StatusRetry.Options = {},
  around: <X, Y>(effect: Effect.Effect<X, Y>) => Effect.Effect<X, Y> = (effect) => effect,
  below: (client: HttpClient.HttpClient) => HttpClient.HttpClient = (client) => client
) => {
  const sent: Array<Sent> = []
  const client = HttpClient.make((request, url) =>
    Effect.gen(function*() {
      const at = yield* Clock.currentTimeMillis
      const span = yield* Effect.option(Effect.currentSpan)
      sent.push({
        at: at - Behaviour.NOW,
        method: request.method,
        url: url.toString(),
        headers: { ...request.headers },
        resendCount: Option.isSome(span) ? span.value.attributes.get("http.request.resend_count") : undefined
      })
      const reply = replies[Math.min(sent.length - 1, replies.length - 1)]!
      if (reply.transport === true) {
        return yield* Effect.fail(
          new HttpClientError.HttpClientError({
            reason: new HttpClientError.TransportError({ request, cause: reply.cause ?? new Error("socket hang up") })
          })
        )
      }
      const body = typeof reply.body === "function" ? reply.body() : reply.body ?? null
      return HttpClientResponse.fromWeb(
        request,
        new Response(body, { status: reply.status, headers: reply.headers ?? {} })
      )
    })
  )
  const retrying = (below(client) as unknown as HttpClient.HttpClient.With<E>).pipe(
    withStatusRetry({ ...Behaviour.options, backoff: Behaviour.backoff, ...options })
  ) as HttpClient.HttpClient.With<E | StatusRetry.RetryError>
  const program = Effect.gen(function*() {
    yield* TestClock.setTime(Behaviour.NOW)
    const fiber = yield* Effect.forkChild(Effect.exit(around(call(retrying))))
    yield* TestClock.adjust("1 hour")
    return yield* Fiber.join(fiber)
  })
  return Effect.runPromise(Effect.provide(program, TestClock.layer())).then((exit) => ({ exit, sent }))
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((r) => r._tag === "Fail")
  if (error === undefined || error._tag !== "Fail") throw new Error(`expected a typed failure: ${String(exit.cause)}`)
  return error.error
}

/** The call's outcome in the plain values of the shared description. */
const observe = (exit: Exit.Exit<unknown, unknown>, sent: ReadonlyArray<Sent>): Behaviour.Observed => {
  const sentAt = sent.map((s) => s.at)
  if (Exit.isSuccess(exit)) return { sentAt, error: undefined }
  return { sentAt, error: Behaviour.observeError(failure(exit) as StatusError.StatusError, Duration.toMillis) }
}

describe("withStatusRetry (Effect 4), on the shared description", () => {
  for (const c of Behaviour.statusCases) {
    it(`${c.status}: ${c.tag}, ${c.kind}, ${c.attempts} attempt(s) at ${c.sentAt.join(", ")} ms`, async () => {
      const { exit, sent } = await run([{ status: c.status }], (client) => client.get("http://api.test/items"))
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfStatus(c))
    })
  }

  for (const c of Behaviour.hintCases) {
    it(`Retry-After forms: ${c.name}`, async () => {
      const { exit, sent } = await run(
        [{ status: 503, headers: c.headers }, { status: 200 }],
        (client) => client.get("http://api.test/items")
      )
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfHint(c))
    })
  }

  for (const c of Behaviour.methodCases) {
    const name = `${c.method}${c.idempotencyKey === undefined ? "" : " with an Idempotency-Key"}`
    it(`${name}: ${c.resent ? "sent again" : "not sent again"} after a 503`, async () => {
      const request = HttpClientRequest.make(c.method)("http://api.test/items").pipe(
        c.idempotencyKey === undefined ? (r) => r : HttpClientRequest.setHeader("idempotency-key", c.idempotencyKey)
      )
      const { exit, sent } = await run([{ status: 503 }, { status: 200 }], (client) => client.execute(request))
      expect(observe(exit, sent)).toEqual(Behaviour.expectedOfMethod(c))
    })
  }
})

describe("withStatusRetry (Effect 4), on the shared description of redaction", () => {
  for (const c of Behaviour.redactionCases) {
    it(c.name, async () => {
      const { exit } = await run(
        [
          c.failure === "transport"
            ? { status: 0, transport: true, cause: Behaviour.causeOf(c, c.url) }
            : { status: c.failure.status }
        ],
        (client) => client.get(c.url, { headers: c.headers }),
        c.redact === undefined ? {} : { redact: c.redact }
      )
      const error = failure(exit) as StatusRetry.RetryError
      const shown = Behaviour.shownOf(
        error,
        StatusError.isStatusError,
        (u) => HttpClientError.isHttpClientError(u) ? u.request : undefined,
        (request) => UrlParams.toString(request.urlParams)
      )
      expect(Behaviour.observeRedaction(c, shown)).toEqual(Behaviour.expectedOfRedaction(c))
    })
  }

  it("a transport error whose description quotes the URL quotes it redacted", async () => {
    const url = "http://user:hunter2@api.test/items?token=t0k3n"
    const client = HttpClient.make((request) =>
      Effect.fail(
        new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({ request, description: `could not reach ${request.url}` })
        })
      )
    ).pipe(withStatusRetry({ maxAttempts: 1 }))
    const exit = await Effect.runPromise(Effect.exit(client.get(url)))
    const error = failure(exit) as HttpClientError.HttpClientError
    expect(error.reason.description).toBe("could not reach http://<redacted>@api.test/items?token=<redacted>")
  })
})

describe("withStatusRetry (Effect 4)", () => {
  it("stops at the call's timeout: a wait that would end past it is not started", async () => {
    const { exit, sent } = await run(
      [{ status: 503, headers: { "retry-after": "8" } }],
      (client) => client.get("http://api.test/items"),
      { timeout: "5 seconds" }
    )
    const error = failure(exit) as StatusError.StatusError
    expect([Option.getOrThrow(error.stopReason), error.attempts, sent.length]).toEqual(["timeout", 1, 1])
  })

  it("adds one Idempotency-Key to a POST, the same on every attempt, and re-sends it", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }, { status: 201 }],
      (client) => client.post("http://api.test/orders"),
      { idempotencyKey: () => "key-1" }
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect(sent.map((s) => s.headers["idempotency-key"])).toEqual(["key-1", "key-1"])
  })

  it("treats a 409 as transient for a request with an Idempotency-Key (the same key still in flight)", async () => {
    const { exit, sent } = await run(
      [{ status: 409 }, { status: 201 }],
      (client) => client.post("http://api.test/orders"),
      { idempotencyKey: true }
    )
    expect([Exit.isSuccess(exit), sent.map((s) => s.at)]).toEqual([true, [0, 100]])
  })

  it("redacts the URL's secrets and the credential headers in the error", async () => {
    const { exit } = await run(
      [{ status: 404, headers: { "set-cookie": "session=abc", "x-tenant": "t-1", "x-trace": "1" } }],
      (client) => client.get("http://user:pw@api.test/items?token=abc&sig=def&page=2"),
      { redact: { headers: ["x-tenant"] } }
    )
    const error = failure(exit) as StatusError.StatusError
    expect(error.url).toBe("http://<redacted>@api.test/items?token=<redacted>&sig=<redacted>&page=2")
    expect(error.headers).toMatchObject({ "set-cookie": "<redacted>", "x-tenant": "<redacted>", "x-trace": "1" })
    expect(error.message).toBe(
      "404 Not Found: GET http://<redacted>@api.test/items?token=<redacted>&sig=<redacted>&page=2; gave up after 1 attempt: permanent"
    )
  })

  it("a filterStatusOk below changes nothing: its error for a failure status is classified like the response", async () => {
    const retried = await run(
      [{ status: 503 }, { status: 200 }],
      (client) => client.get("http://api.test/items"),
      {},
      (effect) => effect,
      HttpClient.filterStatusOk
    )
    expect([Exit.isSuccess(retried.exit), retried.sent.map((s) => s.at)]).toEqual([true, [0, 100]])
    const permanent = await run(
      [{ status: 404 }],
      (client) => client.get("http://api.test/items"),
      {},
      (effect) => effect,
      HttpClient.filterStatusOk
    )
    expect([(failure(permanent.exit) as StatusError.StatusError)._tag, permanent.sent.length]).toEqual(["NotFound", 1])
  })

  it("rejects invalid options with every problem named, before any request", () => {
    expect(() => withStatusRetry({ maxAttempts: 0, timeout: -1, backoff: { jitter: "wild" as "none" } })).toThrow(
      StatusRetry.InvalidRetryOptions
    )
    try {
      withStatusRetry({ maxAttempts: 0, timeout: -1 })
    } catch (e) {
      expect((e as StatusRetry.InvalidRetryOptions).problems).toEqual([
        "maxAttempts must be a whole number of at least 1, got 0",
        "timeout must be a duration from 0 to 2147483647 ms, got -1"
      ])
    }
  })
})

/** A body stream that sends `first` and then breaks, as a connection reset after the headers. */
const breaking = (first: string) => () =>
  new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(first))
      controller.error(new Error("connection reset"))
    }
  })

describe("withStatusRetry (Effect 4): body", () => {
  it("under body.read, a body that breaks mid-read is retried like a transient failure, and read whole after", async () => {
    const { exit, sent } = await run(
      [{ status: 200, body: breaking("par") }, { status: 200, body: "whole" }],
      (client) => Effect.flatMap(client.get("http://api.test/items"), (response) => response.text),
      { body: { read: true } }
    )
    expect([Exit.isSuccess(exit) && exit.value, sent.map((s) => s.at)]).toEqual(["whole", [0, 100]])
  })

  it("under body.read, a body over body.maxSize fails with BodyTooLarge, not retried", async () => {
    const { exit, sent } = await run(
      [{ status: 200, body: "0123456789abcdef" }],
      (client) => client.get("http://user:pw@api.test/items?token=abc"),
      { body: { read: true, maxSize: 10 } }
    )
    const error = failure(exit) as StatusRetry.BodyTooLarge
    expect([error._tag, error.status, error.maxSize, error.url, sent.length]).toEqual([
      "BodyTooLarge",
      200,
      10,
      "http://<redacted>@api.test/items?token=<redacted>",
      1
    ])
  })

  it("under body.read, a Content-Length over body.maxSize fails before the body is read", async () => {
    const { exit } = await run(
      [{ status: 200, headers: { "content-length": "16" }, body: "0123456789abcdef" }],
      (client) => client.get("http://api.test/items"),
      { body: { read: true, maxSize: 15 } }
    )
    expect((failure(exit) as StatusRetry.BodyTooLarge).maxSize).toBe(15)
  })

  it("keeps the first body.maxErrorSize bytes of a failure's body, and a 422's body decodes with Schema", async () => {
    const problem = { title: "invalid", errors: [{ field: "name", message: "required" }] }
    const Problem = Schema.Struct({
      title: Schema.String,
      errors: Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))
    })
    const { exit, sent } = await run(
      [{ status: 422, headers: { "content-type": "application/problem+json" }, body: JSON.stringify(problem) }],
      (client) => client.post("http://api.test/items")
    )
    const error = failure(exit) as StatusError.StatusError
    expect(error._tag).toBe("UnprocessableEntity")
    expect(Schema.decodeUnknownSync(Schema.fromJsonString(Problem))(Option.getOrThrow(error.body))).toEqual(problem)
    expect(sent.length).toBe(1)
    const cut = await run([{ status: 404, body: "0123456789abcdef" }], (client) => client.get("http://api.test/x"), {
      body: { maxErrorSize: 10 }
    })
    expect(Option.getOrThrow((failure(cut.exit) as StatusError.StatusError).body)).toBe("0123456789")
    const none = await run([{ status: 404, body: "0123" }], (client) => client.get("http://api.test/x"), {
      body: { maxErrorSize: 0 }
    })
    expect(Option.isNone((failure(none.exit) as StatusError.StatusError).body)).toBe(true)
  })

  it("a retried failure's body is on the error onRetry and a backoff Schedule get; the final error has its own", async () => {
    const replies = [
      { status: 503, body: "first" },
      { status: 503, body: "second" },
      { status: 404, body: "last" }
    ]
    const bodyOf = (error: unknown) => StatusError.isStatusError(error) ? Option.getOrUndefined(error.body) : undefined
    const told: Array<string | undefined> = []
    const hooked = await run(replies, (client) => client.get("http://api.test/x"), {
      onRetry: (info) => Effect.sync(() => told.push(bodyOf(info.error)))
    })
    expect(told).toEqual(["first", "second"])
    expect(failure(hooked.exit)).toMatchObject({ _tag: "NotFound", attempts: 3, body: Option.some("last") })
    const inputs: Array<string | undefined> = []
    const scheduled = await run(replies, (client) => client.get("http://api.test/x"), {
      backoff: Schedule.spaced("10 millis").pipe(
        Schedule.tap(({ input }) => Effect.sync(() => inputs.push(bodyOf(input))))
      )
    })
    expect(inputs).toEqual(["first", "second"])
    expect(failure(scheduled.exit)).toMatchObject({ _tag: "NotFound", attempts: 3, body: Option.some("last") })
    // Out of their sight, the retried failures' errors are never built: the call's error is the last one's, body and all.
    const plain = await run(replies, (client) => client.get("http://api.test/x"))
    expect(plain.sent.map((s) => s.at)).toEqual([0, 100, 300])
    expect(failure(plain.exit)).toMatchObject({
      _tag: "NotFound",
      attempts: 3,
      kind: "permanent",
      body: Option.some("last"),
      stopReason: Option.some("permanent")
    })
  })

  it("rejects body and backoff settings it does not know, each problem named", () => {
    try {
      withStatusRetry({ body: { read: "yes", maxSize: 0, size: 1 } as never, backoff: { base: 1 } as never })
      expect.unreachable()
    } catch (e) {
      expect((e as StatusRetry.InvalidRetryOptions).problems).toEqual([
        "backoff.base is not an option",
        "body.size is not an option",
        "body.read must be true or false, got \"yes\"",
        "body.maxSize must be a whole number of bytes of at least 1 (Infinity for no cap), got 0"
      ])
    }
  })
})

describe("withStatusRetry (Effect 4): backoff as a Schedule", () => {
  it("waits the Schedule's delays when the server gives no hint", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }],
      (client) => client.get("http://api.test/items"),
      { backoff: Schedule.spaced("250 millis"), maxAttempts: 4, maxTransientAttempts: 4 }
    )
    expect([(failure(exit) as StatusError.StatusError).attempts, sent.map((s) => s.at)]).toEqual([
      4,
      [0, 250, 500, 750]
    ])
  })

  it("still waits the server's hint over the Schedule's delay", async () => {
    const { sent } = await run(
      [{ status: 503, headers: { "retry-after": "2" } }, { status: 503 }, { status: 200 }],
      (client) => client.get("http://api.test/items"),
      { backoff: Schedule.spaced("250 millis") }
    )
    expect(sent.map((s) => s.at)).toEqual([0, 2_000, 2_250])
  })

  it("stops with reason attempts when the Schedule is done", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }],
      (client) => client.get("http://api.test/items"),
      { backoff: Schedule.spaced("250 millis").pipe(Schedule.upTo({ times: 1 })), maxAttempts: 5 }
    )
    const error = failure(exit) as StatusError.StatusError
    expect([Option.getOrThrow(error.stopReason), error.attempts, sent.map((s) => s.at)]).toEqual([
      "attempts",
      2,
      [0, 250]
    ])
  })
})

describe("withStatusRetry (Effect 4): onRetry", () => {
  it("runs once per retry, before its wait, with the exact delay and its source", async () => {
    const told: Array<Behaviour.ToldRetry> = []
    const onRetry = (info: RetryPolicy.RetryInfo) =>
      Effect.map(Clock.currentTimeMillis, (now) => told.push(Behaviour.toldOf(info, now, Duration.toMillis)))
    const { exit, sent } = await run(
      Behaviour.onRetryCase.replies,
      (client) => client.get("http://api.test/items"),
      { onRetry }
    )
    expect(Exit.isSuccess(exit)).toBe(true)
    expect({ told, sentAt: sent.map((s) => s.at) }).toEqual({
      told: Behaviour.onRetryCase.told,
      sentAt: Behaviour.onRetryCase.sentAt
    })
  })

  it("the retry waits for it, and it is not run when the call succeeds at once or gives up", async () => {
    // A hook that takes a second delays the retry by as much.
    const slow = () => Effect.sleep("1 second")
    const delayed = await run([{ status: 503 }, { status: 200 }], (client) => client.get("http://api.test/items"), {
      onRetry: slow
    })
    expect(delayed.sent.map((s) => s.at)).toEqual([0, 1_100])
    let runs = 0
    const count = () => Effect.sync(() => runs++)
    await run([{ status: 200 }], (client) => client.get("http://api.test/items"), { onRetry: count })
    const { exit } = await run([{ status: 404 }], (client) => client.get("http://api.test/items"), { onRetry: count })
    expect([(failure(exit) as StatusError.StatusError)._tag, runs]).toEqual(["NotFound", 0])
  })

  it("a per-call override sets its own, and a value that is not a function is refused", async () => {
    const told: Array<string> = []
    const { sent } = await run(
      [{ status: 503 }, { status: 200 }],
      (client) =>
        client.get("http://api.test/items").pipe(
          StatusRetry.withOptions({ onRetry: (info) => Effect.sync(() => told.push(`call ${info.attempt}`)) })
        ),
      { onRetry: (info) => Effect.sync(() => told.push(`client ${info.attempt}`)) }
    )
    expect([told, sent.length]).toEqual([["call 1"], 2])
    expect(() => withStatusRetry({ onRetry: 1 as never })).toThrow(
      "onRetry must be a function returning an Effect, got 1"
    )
  })
})

describe("withStatusRetry (Effect 4): per-call overrides", () => {
  it("withOptions tightens one call: two attempts instead of three", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }],
      (client) => client.get("http://api.test/items").pipe(StatusRetry.withOptions({ maxAttempts: 2 }))
    )
    expect([(failure(exit) as StatusError.StatusError).attempts, sent.map((s) => s.at)]).toEqual([2, [0, 100]])
  })

  it("disabled sends once and fails with stop reason attempts", async () => {
    const { exit, sent } = await run(
      [{ status: 503 }],
      (client) => StatusRetry.disabled(client.get("http://api.test/items"))
    )
    const error = failure(exit) as StatusError.StatusError
    expect([Option.getOrThrow(error.stopReason), error.attempts, sent.length]).toEqual(["attempts", 1, 1])
  })

  it("a backoff group adds to the client's key by key, and an override inside another adds to it", async () => {
    // The client's backoff has no jitter; the outer override changes only the base delay, the inner the attempts.
    const { exit, sent } = await run(
      [{ status: 503 }],
      (client) =>
        client.get("http://api.test/items").pipe(
          StatusRetry.withOptions({ maxAttempts: 4, maxTransientAttempts: 4 }),
          StatusRetry.withOptions({ backoff: { baseDelay: "50 millis" } })
        )
    )
    expect([(failure(exit) as StatusError.StatusError).attempts, sent.map((s) => s.at)]).toEqual([
      4,
      [0, 50, 150, 350]
    ])
  })

  it("the calls outside the override keep the client's settings", async () => {
    const { sent } = await run(
      [{ status: 503 }],
      (client) =>
        Effect.exit(client.get("http://api.test/a").pipe(StatusRetry.disabled)).pipe(
          Effect.andThen(client.get("http://api.test/b"))
        )
    )
    expect(sent.map((s) => [new URL(s.url).pathname, s.at])).toEqual([["/a", 0], ["/b", 0], ["/b", 100], [
      "/b",
      300
    ]])
  })

  it("rejects a client option or a bad value where the override is written", () => {
    expect(() => StatusRetry.withOptions({ idempotencyKey: true } as StatusRetry.CallOptions)).toThrow(
      StatusRetry.InvalidRetryOptions
    )
    try {
      StatusRetry.withOptions({ maxAttempts: 0, redact: {} } as StatusRetry.CallOptions)
      expect.unreachable()
    } catch (e) {
      expect((e as StatusRetry.InvalidRetryOptions).problems).toEqual([
        "\"redact\" is an option of the client, not of one call"
      ])
    }
    expect(() => StatusRetry.withOptions({ maxAttempts: 0 })).toThrow("maxAttempts must be a whole number")
  })
})

describe("withStatusRetry (Effect 4): a redirect with Retry-After", () => {
  const moved = { status: 307, headers: { location: "http://api.test/new", "retry-after": "2" } }

  it("a 307 with Retry-After: 2 is handed to followRedirects at 2000 ms, not before", async () => {
    const { exit, sent } = await run(
      [moved, { status: 200 }],
      (client) => client.pipe(HttpClient.followRedirects()).get("http://api.test/old")
    )
    expect(Exit.isSuccess(exit) && exit.value.status).toBe(200)
    expect(sent.map((s) => [new URL(s.url).pathname, s.at])).toEqual([["/old", 0], ["/new", 2_000]])
  })

  it("a redirect's Retry-After past maxRetryAfter fails at once with the instant, not followed", async () => {
    const { exit, sent } = await run(
      [{ status: 307, headers: { location: "http://api.test/new", "retry-after": "120" } }],
      (client) => client.pipe(HttpClient.followRedirects()).get("http://api.test/old")
    )
    const error = failure(exit) as StatusError.StatusError
    expect([error._tag, error.status, Option.getOrThrow(error.stopReason), sent.length]).toEqual([
      "RetryableStatus",
      307,
      "retry-after-too-long",
      1
    ])
    expect(Option.getOrThrow(error.retryAfter).at).toBe(Behaviour.NOW + 120_000)
  })

  it("a redirect's Retry-After past the call's timeout fails at once with stop reason timeout", async () => {
    const { exit, sent } = await run(
      [moved],
      (client) => client.pipe(HttpClient.followRedirects()).get("http://api.test/old"),
      { timeout: "1 second" }
    )
    expect([Option.getOrThrow((failure(exit) as StatusError.StatusError).stopReason), sent.length]).toEqual([
      "timeout",
      1
    ])
  })

  it("the redirect's wait is not cut by an attempt timeout shorter than it", async () => {
    const { exit, sent } = await run(
      [moved, { status: 200 }],
      (client) => client.pipe(HttpClient.followRedirects()).get("http://api.test/old"),
      { attemptTimeout: "500 millis" }
    )
    expect([Exit.isSuccess(exit), sent.map((s) => s.at)]).toEqual([true, [0, 2_000]])
  })

  it("a redirect without Retry-After is handed back at once", async () => {
    const { sent } = await run(
      [{ status: 307, headers: { location: "http://api.test/new" } }, { status: 200 }],
      (client) => client.pipe(HttpClient.followRedirects()).get("http://api.test/old")
    )
    expect(sent.map((s) => s.at)).toEqual([0, 0])
  })
})

/** The log lines written at debug level: message and annotations. */
const capturing =
  (lines: Array<{ message: unknown; annotations: Record<string, unknown> }>) =>
  <X, Y>(effect: Effect.Effect<X, Y>): Effect.Effect<X, Y> =>
    effect.pipe(
      Effect.provide(Logger.layer([
        Logger.make((options) => {
          lines.push({
            message: options.message,
            annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations) }
          })
        })
      ])),
      Effect.provideService(References.MinimumLogLevel, "Debug")
    )

describe("withStatusRetry (Effect 4): metrics, logs and spans", () => {
  it("counts retries by kind and source, and stops by reason", async () => {
    const transient = Metric.withAttributes(StatusRetry.retries, { kind: "transient", source: "backoff" })
    const throttled = Metric.withAttributes(StatusRetry.retries, { kind: "throttled", source: "retry-after" })
    const attempts = Metric.withAttributes(StatusRetry.giveUps, { reason: "attempts" })
    const read = () => Effect.runPromise(Effect.all([transient, throttled, attempts].map((m) => Metric.value(m))))
    const before = (await read()).map((state) => state.count)
    await run(
      [{ status: 429, headers: { "retry-after": "1" } }, { status: 503 }],
      (client) => client.get("http://api.test/items")
    )
    const after = (await read()).map((state) => state.count)
    expect(after.map((count, i) => count - before[i]!)).toEqual([1, 1, 1])
  })

  it("logs each retry and the stop at debug level, annotated, with the URL redacted and no body", async () => {
    const lines: Array<{ message: unknown; annotations: Record<string, unknown> }> = []
    await run(
      [{ status: 503, body: "b0dy-s3cr3t" }],
      (client) =>
        client.get("http://user:pw@api.test/items?token=abc&page=2", { headers: { authorization: "Bearer xyz" } }),
      {},
      capturing(lines)
    )
    const url = "http://<redacted>@api.test/items?token=<redacted>&page=2"
    expect(lines).toEqual([
      {
        message: [`retrying GET ${url} in 100 ms (backoff)`],
        annotations: { attempt: 2, delayMillis: 100, source: "backoff", kind: "transient", status: 503 }
      },
      {
        message: [`retrying GET ${url} in 200 ms (backoff)`],
        annotations: { attempt: 3, delayMillis: 200, source: "backoff", kind: "transient", status: 503 }
      },
      { message: [`giving up on GET ${url}: attempts`], annotations: { attempts: 3, reason: "attempts" } }
    ])
    expect(JSON.stringify(lines)).not.toMatch(/pw|abc|xyz|b0dy-s3cr3t/)
  })

  it("each attempt is its own client span; a resend carries http.request.resend_count", async () => {
    const { sent } = await run(
      [{ status: 503 }, { status: 503 }, { status: 200 }],
      (client) => client.get("http://api.test/items")
    )
    expect(sent.map((s) => s.resendCount)).toEqual([undefined, 1, 2])
  })
})

describe("withStatusRetry (Effect 4): the server's clock learned from earlier answers' Date", () => {
  /** An epoch second (epoch resets below 10^9 s are delays): times below are milliseconds after it. */
  const EPOCH = 1_800_000_000_000

  it("an epoch reset is waited for by the clock learned, not up to a second later by the answer's Date alone", async () => {
    // The server's clock is ours; its Date headers drop the milliseconds. Two successes (at 900 ms, Date 0 s, and at
    // 1_010 ms, Date 1 s) tell the client its clock is at least ours less 10 ms. At 1_500 ms a 429 says the window
    // resets at second 2, with Date 1 s: by that Date alone 2_500 ms, by the clock learned 2_010 ms.
    const sent: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (now) => {
        sent.push(now - EPOCH)
        const date = new Date(Math.floor(now / 1000) * 1000).toUTCString()
        const headers = {
          date,
          "x-ratelimit-limit": "10",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(EPOCH / 1000 + 2)
        }
        return HttpClientResponse.fromWeb(
          request,
          sent.length === 3
            ? new Response(null, { status: 429, headers })
            : new Response("ok", { status: 200, headers: { date } })
        )
      })
    ).pipe(withStatusRetry({ retryAfterSpread: 0 }))
    const program = Effect.gen(function*() {
      yield* TestClock.setTime(EPOCH)
      yield* TestClock.adjust("900 millis")
      yield* client.get("http://api.test/items")
      yield* TestClock.adjust("110 millis")
      yield* client.get("http://api.test/items")
      yield* TestClock.adjust("490 millis")
      const fiber = yield* Effect.forkChild(client.get("http://api.test/items"))
      yield* TestClock.adjust("1 second")
      return (yield* Fiber.join(fiber)).status
    })
    expect(await Effect.runPromise(Effect.provide(program, TestClock.layer()))).toBe(200)
    expect(sent).toStrictEqual([900, 1_010, 1_500, 2_010])
  })
})

describe("withStatusRetry (Effect 4) under a coordinator", () => {
  /** Nine 503s then a 200, through `withStatusRetry(options)`, on the TestClock: the requests sent and the outcome. */
  const nineFailures = async (options: StatusRetry.Options, coordinated: boolean) => {
    let sent = 0
    const client = HttpClient.make((request) =>
      Effect.sync(() => HttpClientResponse.fromWeb(request, new Response(null, { status: ++sent <= 9 ? 503 : 200 })))
    ).pipe(withStatusRetry(options))
    const call = client.get("http://api.test/items")
    const program = Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.exit(coordinated ? Effect.provide(call, Coordinator.layer()) : call))
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.join(fiber)
    })
    const exit = await Effect.runPromise(Effect.provide(program, TestClock.layer()))
    return { exit, sent }
  }

  it("a call meets up to 10 transient failures by default (all its attempts), against 4 alone (its retry budget guards the server)", async () => {
    const alone = await nineFailures({}, false)
    expect(alone.sent).toBe(4)
    expect(failure(alone.exit)).toMatchObject({ _tag: "ServiceUnavailable", attempts: 4 })
    const under = await nineFailures({}, true)
    expect(Exit.isSuccess(under.exit)).toBe(true)
    expect(under.sent).toBe(10)
  })

  it("a 429 without a hint is retried at the coordinator's pace, with no backoff of its own", async () => {
    const sent: Array<number> = []
    const sources: Array<string> = []
    const client = HttpClient.make((request) =>
      Effect.map(Clock.currentTimeMillis, (at) => {
        sent.push(at)
        return HttpClientResponse.fromWeb(request, new Response(null, { status: sent.length === 1 ? 429 : 200 }))
      })
    ).pipe(withStatusRetry({
      onRetry: (info) => Effect.sync(() => sources.push(`${info.source} ${Duration.toMillis(info.delay)}`))
    }))
    const paced = Metric.withAttributes(StatusRetry.retries, { kind: "throttled", source: "pacing" })
    const before = (await Effect.runPromise(Metric.value(paced))).count
    const program = Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.provide(client.get("http://api.test/items"), Coordinator.layer()))
      yield* TestClock.adjust("10 seconds")
      return (yield* Fiber.join(fiber)).status
    })
    expect(await Effect.runPromise(Effect.provide(program, TestClock.layer()))).toBe(200)
    // The 429 at 0 ms, with nothing accepted before it, paces the origin to 4 requests per second: the retry, with no
    // delay of its own, goes at the next turn, 250 ms on (the throttled backoff would draw from up to a second).
    expect((await Effect.runPromise(Metric.value(paced))).count - before).toBe(1)
    expect(sources).toStrictEqual(["pacing 0"])
    expect(sent).toStrictEqual([0, 250])
  })

  it("told a number of transient attempts, a coordinated call keeps to it", async () => {
    const told = await nineFailures({ maxTransientAttempts: 3 }, true)
    expect(told.sent).toBe(3)
    expect(failure(told.exit)).toMatchObject({ _tag: "ServiceUnavailable", attempts: 3 })
  })
})

describe("withStatusRetry (Effect 4) over withStatusRetry", () => {
  it("makes the attempts configured last, not their product, each sent once by the one below", async () => {
    let sent = 0
    const base = HttpClient.make((request) =>
      Effect.sync(() => {
        sent++
        return HttpClientResponse.fromWeb(request, new Response(null, { status: 503 }))
      })
    )
    const client = base.pipe(withStatusRetry({ maxAttempts: 2 }), withStatusRetry({ maxAttempts: 3 }))
    const program = Effect.gen(function*() {
      const fiber = yield* Effect.forkChild(Effect.exit(client.get("http://api.test/items")))
      yield* TestClock.adjust("1 minute")
      return yield* Fiber.join(fiber)
    })
    const exit = await Effect.runPromise(Effect.provide(program, TestClock.layer()))
    expect(sent).toBe(3)
    expect(failure(exit)).toMatchObject({ _tag: "ServiceUnavailable", attempts: 3 })
  })
})
