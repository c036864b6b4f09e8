/**
 * Hostile servers on 127.0.0.1: clocks skewed from ours, one that never answers, a body that never ends, a body too
 * large to hold, and secrets everywhere a request and a response can carry them. No retry comes before the instant
 * the server gave, every call ends within its timeout plus a second, and no secret reaches an error, a log line or a
 * span attribute the client writes.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as Util from "node:util"
import { StatusRetry, withStatusRetry } from "../src/index.js"
import { Coordinator, type RetryPolicy } from "@effect-retry/core"
import { clients, httpDate, serve, serveRaw } from "./utils/server.js"

const TIMEOUT = 300
/** What a call may take past its timeout: the time to give up. */
const GRACE = 1000

/** Runs a call and returns its exit and how long it took, in real milliseconds. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = Date.now()
    const exit = yield* Effect.exit(effect)
    return { exit, took: Date.now() - started }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (exit._tag === "Success") throw new Error("expected a failure")
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a typed failure, got ${Cause.pretty(exit.cause)}`)
  return error
}

/** A call that ended at its timeout, with the RequestError that says so. */
const expectCutAtTimeout = <A, E>(exit: Exit.Exit<A, E>, took: number) => {
  expect(took).toBeGreaterThanOrEqual(TIMEOUT - 5)
  expect(took).toBeLessThan(TIMEOUT + GRACE)
  expect(failureOf(exit)).toMatchObject({
    _tag: "RequestError",
    reason: "Transport",
    description: "no response before the call's timeout of 300ms ran out"
  })
}

describe.each(clients)("hostile servers through $name: every call ends within its timeout + 1 s", ({ layer }) => {
  const retrying = (options: StatusRetry.Options) =>
    Effect.map(
      HttpClient.HttpClient,
      (client) =>
        withStatusRetry({
          timeout: TIMEOUT,
          ...options,
          // The test's own backoff settings add to the short base delay.
          backoff: { baseDelay: "5 millis", ...options.backoff as RetryPolicy.BackoffOptions }
        })(client)
    )

  /** Answers nothing, ever. */
  const silent = serveRaw(() => {})
  /** Sends the headers and a first chunk, then a chunk every 20 ms, forever. */
  const endless = serveRaw((_request, response) => {
    response.writeHead(200, { "content-type": "text/plain" })
    response.write("first chunk\n")
    const timer = setInterval(() => response.write("more\n"), 20)
    response.on("close", () => clearInterval(timer))
  })

  it.scopedLive(
    "a server that never answers, no attemptTimeout: cut at the timeout, a RequestError that says so",
    () =>
      Effect.gen(function*() {
        const server = yield* silent
        const client = yield* retrying({})
        const { exit, took } = yield* timed(client.get(server.url("/never")))
        expectCutAtTimeout(exit, took)
        expect(server.requests()).toBe(1)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a 503, then no answer: the retry is cut at the timeout, and the call gives up after 2 attempts, reason timeout",
    () =>
      Effect.gen(function*() {
        const server = yield* serveRaw((_request, response, index) => {
          if (index === 0) response.writeHead(503, { "content-length": "0" }).end()
        })
        const client = yield* retrying({ backoff: { jitter: "none" } })
        const lines: Array<string> = []
        const logger = Logger.make(({ annotations, message }) => {
          const sorted = [...HashMap.toEntries(annotations)].sort(([a], [b]) => a.localeCompare(b))
          lines.push(`${String(message)} ${JSON.stringify(Object.fromEntries(sorted))}`)
        })
        const { exit, took } = yield* timed(
          client.get(server.url("/then-never")).pipe(
            Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
            Logger.withMinimumLogLevel(LogLevel.Debug)
          )
        )
        expectCutAtTimeout(exit, took)
        expect(server.requests()).toBe(2)
        const url = server.url("/then-never")
        expect(lines).toStrictEqual([
          `retrying GET ${url} in 5 ms (backoff) {"attempt":2,"delayMillis":5,"kind":"transient","source":"backoff","status":503}`,
          `giving up on GET ${url}: timeout {"attempts":2,"reason":"timeout"}`
        ])
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a server that never answers, attemptTimeout 100 ms: attempts cut at 100 ms, the call at the timeout",
    () =>
      Effect.gen(function*() {
        const server = yield* silent
        const client = yield* retrying({ attemptTimeout: "100 millis", maxAttempts: 10, backoff: { jitter: "none" } })
        const { exit, took } = yield* timed(client.get(server.url("/never")))
        expect(took).toBeLessThan(TIMEOUT + GRACE)
        expect(failureOf(exit)).toMatchObject({ _tag: "RequestError", reason: "Transport" })
        // 100 ms per attempt plus backoffs of 5, 10, 20 ms: the third attempt is cut by the timeout.
        expect(server.requests()).toBe(3)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a body that never ends with body.read and an attemptTimeout: the read is cut, the call ends",
    () =>
      Effect.gen(function*() {
        const server = yield* endless
        const client = yield* retrying({
          body: { read: true },
          attemptTimeout: "100 millis",
          backoff: { jitter: "none" }
        })
        const { exit, took } = yield* timed(client.get(server.url("/endless")))
        expect(took).toBeLessThan(TIMEOUT + GRACE)
        const error = failureOf(exit)
        expect(error).toMatchObject({ _tag: "RequestError", reason: "Transport" })
        expect([
          "no response within the attempt timeout of 100ms",
          "no response before the call's timeout of 300ms ran out"
        ]).toContain((error as { description?: string }).description)
        expect(server.requests()).toBeGreaterThanOrEqual(1)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a body that never ends with body.read and no attemptTimeout: the timeout cuts the read",
    () =>
      Effect.gen(function*() {
        const server = yield* endless
        const client = yield* retrying({ body: { read: true } })
        const { exit, took } = yield* timed(client.get(server.url("/endless")))
        expect(took).toBeGreaterThanOrEqual(TIMEOUT - 5)
        expect(took).toBeLessThan(TIMEOUT + GRACE)
        expect(failureOf(exit)).toMatchObject({
          _tag: "RequestError",
          description: "no response before the call's timeout of 300ms ran out"
        })
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive.each([
    { name: "with a Content-Length", length: true },
    { name: "chunked", length: false }
  ])(
    "a body over body.maxSize ($name) fails with BodyTooLarge at once, not retried",
    ({ length }) =>
      Effect.gen(function*() {
        const size = 8 * 1024 * 1024
        const server = yield* serveRaw((_request, response) => {
          response.writeHead(200, length ? { "content-length": String(size) } : {})
          const chunk = Buffer.alloc(64 * 1024, 120)
          let sent = 0
          const pump = (): void => {
            while (sent < size) {
              sent += chunk.length
              if (!response.write(chunk)) {
                response.once("drain", pump)
                return
              }
            }
            response.end()
          }
          pump()
        })
        const client = yield* retrying({ body: { read: true }, timeout: "5 seconds" })
        const { exit, took } = yield* timed(client.get(server.url("/big")))
        const error = failureOf(exit)
        expect(error).toBeInstanceOf(StatusRetry.BodyTooLarge)
        expect(error).toMatchObject({ _tag: "BodyTooLarge", status: 200, maxSize: 4 * 1024 * 1024 })
        expect(server.requests()).toBe(1)
        expect(took).toBeLessThan(2000)
      }).pipe(Effect.provide(layer)),
    10_000
  )

  it.scopedLive("a body under body.maxSize is read whole", () =>
    Effect.gen(function*() {
      const body = "x".repeat(100_000)
      const server = yield* serveRaw((_request, response) => response.end(body))
      const client = yield* retrying({ body: { read: true, maxSize: 100_000 } })
      const response = yield* client.get(server.url("/fits"))
      expect((yield* response.text).length).toBe(100_000)
    }).pipe(Effect.provide(layer)), 5_000)
})

// ---------------------------------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------------------------------

/** Every secret carries this mark: no text the client writes may contain it. */
const MARK = "s3cr3t"
const secret = (where: string) => `${MARK}-${where}`

/** The span attributes @effect/platform's own client span sets from the URL and the response headers. */
const platformAttribute = (key: string) =>
  key === "url.full" || key === "url.query" || key.startsWith("http.response.header.")

interface Written {
  readonly logs: Array<string>
  readonly spans: Array<string>
}

/** A logger at Debug level and a tracer that record, as text, every log line and every span attribute and event. */
const recording = (written: Written) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(Effect.tracer, (native) => {
    const tracer = Tracer.make({
      span: (name, parent, context, links, startTime, kind, options) => {
        const span = native.span(name, parent, context, links, startTime, kind, options)
        const attribute = span.attribute.bind(span)
        const event = span.event.bind(span)
        return Object.assign(span, {
          attribute: (key: string, value: unknown) => {
            if (!platformAttribute(key)) written.spans.push(`${name} ${key}=${Util.inspect(value)}`)
            attribute(key, value)
          },
          event: (eventName: string, time: bigint, attributes?: Record<string, unknown>) => {
            written.spans.push(`${name} event ${eventName} ${Util.inspect(attributes)}`)
            event(eventName, time, attributes)
          }
        })
      },
      context: (f, fiber) => native.context(f, fiber)
    })
    const logger = Logger.make(({ annotations, cause, message }) => {
      written.logs.push(
        `${Util.inspect(message, { depth: 8 })} ${Util.inspect(Object.fromEntries(HashMap.toEntries(annotations)))} ${
          Cause.pretty(cause)
        }`
      )
    })
    return effect.pipe(
      Effect.withTracer(tracer),
      Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
      Logger.withMinimumLogLevel(LogLevel.Debug)
    )
  })

/** Every text an error shows: its fields, String, JSON, inspect, and the Cause.pretty of its failure. */
const texts = (error: unknown): ReadonlyArray<string> => [
  String(error),
  JSON.stringify(error),
  Util.inspect(error, { depth: 10 }),
  Cause.pretty(Cause.fail(error)),
  ...Object.entries(error as object).map(([key, value]) => `${key}: ${Util.inspect(value, { depth: 10 })}`)
]

const leaks = (all: ReadonlyArray<string>): ReadonlyArray<string> => all.filter((text) => text.includes(MARK))

describe.each(clients)("secrets through $name never reach an error, a log line or a span", ({ layer }) => {
  /** Answers every request with the response the scenario asks for, its headers full of secrets. */
  const hostile = serveRaw((request, response) => {
    const scenario = new URL(request.url ?? "/", "http://127.0.0.1").pathname
    const headers = {
      "set-cookie": `session=${secret("set-cookie")}`,
      "x-amz-security-token": secret("amz-token"),
      location: `https://cdn.test/f?X-Amz-Signature=${secret("location-sig")}&X-Amz-Credential=${secret("cred")}`,
      link: `<https://api.test/p?access_token=${secret("link")}>; rel="next"`
    }
    switch (scenario) {
      case "/unavailable":
        response.writeHead(503, headers)
        return response.end("busy")
      case "/forbidden":
        response.writeHead(403, headers)
        return response.end("no")
      case "/reset":
        response.writeHead(200, { ...headers, "content-length": "100" })
        response.write("partial")
        return setTimeout(() => response.socket?.destroy(), 10)
      case "/big":
        response.writeHead(200, { ...headers, "content-length": String(1024 * 1024) })
        return response.end(Buffer.alloc(1024 * 1024))
      default:
        // "/silent": never answers.
        return undefined
    }
  })

  const scenarios = [
    { path: "/unavailable", expected: "ServiceUnavailable", options: {} },
    { path: "/forbidden", expected: "Forbidden", options: {} },
    { path: "/silent", expected: "RequestError", options: { attemptTimeout: "50 millis" } },
    { path: "/silent", expected: "RequestError", options: {} },
    { path: "/reset", expected: "ResponseError", options: { body: { read: true } } },
    { path: "/big", expected: "BodyTooLarge", options: { body: { read: true, maxSize: 1000 } } }
  ] as const

  it.scopedLive.each(scenarios)(
    "$path ($expected): no secret anywhere the client writes",
    ({ expected, options, path }) =>
      Effect.gen(function*() {
        const server = yield* hostile
        const written: Written = { logs: [], spans: [] }
        const client = withStatusRetry({
          timeout: TIMEOUT,
          backoff: { baseDelay: "5 millis", jitter: "none" },
          ...options
        })(
          yield* HttpClient.HttpClient
        )
        const url = new URL(server.url(path))
        url.username = "user"
        url.password = secret("password")
        url.searchParams.set("token", secret("query-token"))
        url.searchParams.set("X-Amz-Signature", secret("query-sig"))
        url.searchParams.set("page", "2")
        const request = HttpClientRequest.post(url.toString()).pipe(
          HttpClientRequest.setHeaders({
            authorization: `Bearer ${secret("authorization")}`,
            "x-api-key": secret("api-key"),
            "x-secret": secret("x-secret"),
            "idempotency-key": "k1"
          }),
          HttpClientRequest.bodyText(`{"password":"${secret("body")}"}`, "application/json")
        )
        const { exit, took } = yield* timed(
          client.execute(request).pipe(
            Effect.locally(Headers.currentRedactedNames, [
              "authorization",
              "cookie",
              "set-cookie",
              "x-api-key",
              "x-secret"
            ]),
            recording(written)
          )
        )
        expect(took).toBeLessThan(TIMEOUT + GRACE)
        const error = failureOf(exit)
        expect((error as { _tag: string })._tag).toBe(expected)
        expect(leaks(texts(error))).toStrictEqual([])
        expect(written.logs.length).toBeGreaterThan(0)
        expect(leaks(written.logs)).toStrictEqual([])
        expect(leaks(written.spans)).toStrictEqual([])
        // What the error shows is still useful: the method, the redacted URL with its other parameters.
        expect(String(error)).toContain("POST")
        expect(String(error)).toContain("page=2")
        expect(server.requests()).toBeGreaterThanOrEqual(1)
      }).pipe(Effect.provide(layer)),
    5_000
  )
})

describe.each(clients)(
  "a failure's body through $name: on its error for the handler, nowhere the client writes",
  ({ layer }) => {
    it.scopedLive(
      "a 503 then a 422 whose bodies hold a secret: no log line, span attribute, event or span end shows it",
      () =>
        Effect.gen(function*() {
          const server = yield* serve((a) =>
            a.nth === 0
              ? { status: 503, body: `{"token":"${secret("503-body")}"}` }
              : {
                status: 422,
                headers: { "content-type": "application/problem+json" },
                body: `{"token":"${secret("422-body")}"}`
              }
          )
          const written: Written = { logs: [], spans: [] }
          const ends: Array<string> = []
          const client = withStatusRetry({ backoff: { baseDelay: "5 millis" } })(yield* HttpClient.HttpClient)
          const error = yield* Effect.flip(client.get(server.url("/orders"))).pipe(
            // Inside the recording: the tracer it installs is the one this one wraps.
            (effect) =>
              Effect.flatMap(Effect.tracer, (native) =>
                Effect.withTracer(
                  effect,
                  Tracer.make({
                    span: (name, parent, context, links, startTime, kind, options) => {
                      const span = native.span(name, parent, context, links, startTime, kind, options)
                      const end = span.end.bind(span)
                      return Object.assign(span, {
                        end: (endTime: bigint, exit: Exit.Exit<unknown, unknown>) => {
                          ends.push(`${name} ${Exit.isFailure(exit) ? Cause.pretty(exit.cause) : "success"}`)
                          end(endTime, exit)
                        }
                      })
                    },
                    context: (f, fiber) => native.context(f, fiber)
                  })
                )),
            recording(written)
          )
          expect(error).toMatchObject({ _tag: "UnprocessableEntity", attempts: 2 })
          if (error._tag !== "UnprocessableEntity") throw error
          expect(error.body).toStrictEqual(Option.some(`{"token":"${secret("422-body")}"}`))
          expect(written.logs.length).toBe(2)
          // One client span per attempt, ended.
          expect(ends.filter((end) => end.startsWith("http.client GET")).length).toBe(2)
          expect(leaks(written.logs)).toStrictEqual([])
          expect(leaks(written.spans)).toStrictEqual([])
          expect(leaks(ends)).toStrictEqual([])
          expect(leaks([String(error), error.message, Cause.pretty(Cause.fail(error))])).toStrictEqual([])
        }).pipe(Effect.provide(layer)),
      5_000
    )
  }
)

describe("Headers.currentRedactedNames", () => {
  it.effect("names set in the fiber are redacted in a status error's headers, with the client's own", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) =>
        Effect.succeed(
          HttpClientResponse.fromWeb(
            request,
            new Response(null, { status: 404, headers: { "x-secret": "v1", "x-session": "v2", "x-public": "v3" } })
          )
        )
      ).pipe(withStatusRetry({ redact: { headers: ["x-session"] } }))
      const names = yield* FiberRef.get(Headers.currentRedactedNames)
      const error = yield* Effect.flip(
        Effect.locally(client.get("http://api.test/x"), Headers.currentRedactedNames, [...names, "x-secret"])
      )
      expect(error).toMatchObject({
        _tag: "NotFound",
        headers: { "x-secret": "<redacted>", "x-session": "<redacted>", "x-public": "v3" }
      })
    }))
})

describe("a server whose clock is skewed from ours: no retry before the instant it gave, by its own clock", () => {
  const SKEWS = [300, -300, 1_400, -1_400, 10_000, -10_000, 3_600_000, -3_600_000]
  /** Each hint form: the first answer to a path, given the server's clock now; the instant it names is `at`. */
  const FORMS = {
    "Retry-After HTTP-date": (serverNow: number) => {
      const at = Math.ceil(serverNow / 1000) * 1000 + 1000
      return { at, reply: { status: 503, headers: { "retry-after": httpDate(at) } } }
    },
    "X-RateLimit-Reset in epoch seconds": (serverNow: number) => {
      const at = Math.ceil(serverNow / 1000) * 1000 + 1000
      const headers = {
        "x-ratelimit-limit": "10",
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": String(at / 1000)
      }
      return { at, reply: { status: 429, headers } }
    },
    "X-RateLimit-Reset in epoch milliseconds": (serverNow: number) => {
      const at = serverNow + 1_234
      const headers = { "x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(at) }
      return { at, reply: { status: 429, headers } }
    }
  } as const
  const cases = SKEWS.flatMap((skew) =>
    Object.keys(FORMS).flatMap((form) => [false, true].map((coordinated) => ({ skew, form, coordinated })))
  )

  it.scopedLive.each(cases)(
    "server clock $skew ms from ours, $form, coordinated: $coordinated",
    ({ coordinated, form, skew }) =>
      Effect.gen(function*() {
        let told = 0
        const server = yield* serve((a) => {
          const serverNow = a.arrivedAt + skew
          const date = { date: httpDate(serverNow) }
          if (a.nth > 0) return { status: 200, headers: date, body: "ok" }
          const { at, reply } = FORMS[form as keyof typeof FORMS](serverNow)
          told = at
          return { ...reply, headers: { ...reply.headers, ...date } }
        })
        const client = withStatusRetry({ maxRetryAfter: "10 seconds" })(yield* HttpClient.HttpClient)
        const call = client.get(server.url(`/skew`))
        const response = yield* coordinated ? Effect.provide(call, Coordinator.layer()) : call
        expect(response.status).toBe(200)
        const [first, second] = server.on("/skew")
        // The retry reached the server no sooner than the instant it named, on the server's own clock, and within
        // the second that Date's resolution may add.
        expect(second!.arrivedAt + skew).toBeGreaterThanOrEqual(told)
        expect(second!.arrivedAt + skew - told).toBeLessThan(1_000 + 250)
        expect(first!.nth).toBe(0)
      }).pipe(Effect.provide(clients[1]!.layer)),
    10_000
  )
})
