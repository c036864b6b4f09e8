import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import { Coordinator, RetryPolicy, StatusError, StatusPolicy } from "@effect-retry/core"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import { describe, expect, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { StatusRetry, withStatusRetry } from "../src/index.js"
import { freePort, httpDate, serve, serveRaw } from "./utils/server.js"

// ---------------------------------------------------------------------------------------------------------------
// Unit tests: a scripted HttpClient under the TestClock and a seeded Random
// ---------------------------------------------------------------------------------------------------------------

interface Step {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: string
}

/** A step that never answers (for attempt timeouts). */
const HANG = "hang" as const

interface Call {
  readonly request: HttpClientRequest.HttpClientRequest
  /** TestClock time of the send, in ms. */
  readonly at: number
}

const NULL_BODY = new Set([204, 205, 304])

/** A client answering the n-th request with the n-th step (the last one repeats), recording every request. */
const scripted = (...steps: ReadonlyArray<Step | typeof HANG>) => {
  const calls: Array<Call> = []
  const client = HttpClient.make((request) =>
    Effect.flatMap(Clock.currentTimeMillis, (at) => {
      const step = steps[Math.min(calls.length, steps.length - 1)]!
      calls.push({ request, at })
      if (step === HANG) return Effect.never
      const body = NULL_BODY.has(step.status) ? null : step.body ?? `status ${step.status}`
      return Effect.succeed(
        HttpClientResponse.fromWeb(request, new Response(body, { status: step.status, headers: step.headers ?? {} }))
      )
    })
  )
  return { client, calls }
}

const SEED = "status-retry"

/** Runs under a seeded Random: every draw of the retry loop is reproducible. */
const seeded = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withRandom(effect, Random.make(SEED))

/** The first draws of the seeded Random, in order (the retry loop draws once per failed attempt). */
const draws = (n: number) =>
  Effect.gen(function*() {
    const random = Random.make(SEED)
    const out: Array<number> = []
    for (let i = 0; i < n; i++) out.push(yield* random.next)
    return out
  })

/** Forks the call, moves the TestClock forward by `advance`, then waits for the call's outcome. */
const within = <A, E, R>(advance: Duration.DurationInput, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(advance)
    return yield* Fiber.await(fiber)
  })

const success = <A, E>(exit: Exit.Exit<A, E>): A => {
  if (exit._tag === "Failure") throw new Error(`expected a success, got ${String(exit.cause)}`)
  return exit.value
}

const failure = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (exit._tag === "Success") throw new Error(`expected a failure, got ${String(exit.value)}`)
  const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
  if (error === undefined) throw new Error(`expected a typed failure, got ${String(exit.cause)}`)
  return error
}

const ITEMS = "http://api.test/items"

const keyOf = (call: Call) => call.request.headers["idempotency-key"]

describe("withStatusRetry (scripted client, TestClock)", () => {
  it.effect(
    "429 with Retry-After: 7 sends the second request at 7000 ms plus the seeded spread, not before",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 429, headers: { "retry-after": "7" } }, {
          status: 200,
          body: "ok"
        })
        const [random] = yield* draws(1)
        // spread = random * min(maxRetryAfterSpread 1 s, retryAfterSpread 0.02 * 7 s) = random * 140 ms
        const spread = random! * 140
        expect(spread).toBeGreaterThan(0)
        expect(spread).toBeLessThanOrEqual(140)
        const due = 7000 + spread

        const fiber = yield* Effect.fork(
          Effect.flatMap(withStatusRetry()(client).get(ITEMS), (response) => response.text)
        )
        yield* TestClock.adjust(Duration.millis(6999))
        expect(calls.length).toBe(1)
        expect(calls[0]!.at).toBe(0)
        // One microsecond before the instant: still one request.
        yield* TestClock.adjust(Duration.millis(due - 6999 - 0.001))
        expect(calls.length).toBe(1)
        yield* TestClock.adjust(Duration.millis(0.001))
        expect(calls.length).toBe(2)
        expect(calls[1]!.at).toBeCloseTo(due, 6)
        expect(yield* Fiber.join(fiber)).toBe("ok")
      })),
    5_000
  )

  /** An epoch second (2027-01-15T08:00:00Z): X-RateLimit-Reset values below 10^9 are delays, not instants. */
  const EPOCH = 1_800_000_000_000
  /** A client whose server's clock is ours, with whole-second `Date` headers; `limited(n)`: the nth request gets 429. */
  const epochServer = (limited: (n: number) => boolean) => {
    const sent: Array<number> = []
    const client = HttpClient.make((request) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        sent.push(now - EPOCH)
        const date = httpDate(Math.floor(now / 1000) * 1000)
        const headers = {
          date,
          "x-ratelimit-limit": "10",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(EPOCH / 1000 + 2)
        }
        return Effect.succeed(HttpClientResponse.fromWeb(
          request,
          limited(sent.length)
            ? new Response(null, { status: 429, headers })
            : new Response("ok", { status: 200, headers: { date } })
        ))
      })
    ).pipe(withStatusRetry({ retryAfterSpread: 0 }))
    return { client, sent }
  }

  it.effect(
    "an epoch reset is waited for by the server's clock learned from earlier answers' Date, not up to a second later",
    () =>
      Effect.gen(function*() {
        // The server's clock is ours; its Date headers drop the milliseconds. Two successes (at 900 ms, Date 0 s, and
        // at 1_010 ms, Date 1 s) tell the client its clock is at least ours less 10 ms. At 1_500 ms a 429 says the
        // window resets at second 2, with Date 1 s: measured against Date alone that is 2_500 ms; by the clock
        // learned, 2_010 ms (and the retry goes then: no spread is asked for).
        yield* TestClock.setTime(EPOCH)
        const { client, sent } = epochServer((n) => n === 3)
        yield* TestClock.adjust(Duration.millis(900))
        yield* client.get(ITEMS)
        yield* TestClock.adjust(Duration.millis(110))
        yield* client.get(ITEMS)
        yield* TestClock.adjust(Duration.millis(490))
        const fiber = yield* Effect.fork(client.get(ITEMS))
        yield* TestClock.adjust(Duration.millis(1_000))
        expect((yield* Fiber.join(fiber)).status).toBe(200)
        expect(sent).toStrictEqual([900, 1_010, 1_500, 2_010])
      })
  )

  it.effect("a client that has seen no earlier answer waits for an epoch reset by the answer's Date alone", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(EPOCH)
      const { client, sent } = epochServer((n) => n === 1)
      yield* TestClock.adjust(Duration.millis(1_500))
      const fiber = yield* Effect.fork(client.get(ITEMS))
      yield* TestClock.adjust(Duration.millis(1_000))
      expect((yield* Fiber.join(fiber)).status).toBe(200)
      // Date says 1 s when it is 1.5 s: the server's clock may read 1 s, so the reset may be 1 s away.
      expect(sent).toStrictEqual([1_500, 2_500])
    }))

  it.effect("under a coordinator a call meets up to 10 transient failures by default, all its attempts (its retry budget guards the server)", () =>
    seeded(Effect.gen(function*() {
      const fails = Array.from({ length: 9 }, () => ({ status: 503 }))
      // Alone: 4 transient attempts, then the call stops with the fourth 503.
      const alone = scripted(...fails, { status: 200 })
      const stopped = yield* within("1 minute", withStatusRetry()(alone.client).get(ITEMS))
      expect(alone.calls.length).toBe(4)
      expect(failure(stopped)).toMatchObject({ _tag: "ServiceUnavailable", attempts: 4 })
      // Coordinated: the tenth attempt, the last of `maxAttempts`, succeeds.
      const coordinated = scripted(...fails, { status: 200 })
      const exit = yield* within(
        "1 minute",
        Effect.provide(withStatusRetry()(coordinated.client).get(ITEMS), Coordinator.layer())
      )
      expect(success(exit).status).toBe(200)
      expect(coordinated.calls.length).toBe(10)
      // Told a number, the coordinated call keeps to it.
      const told = scripted(...fails, { status: 200 })
      yield* within(
        "1 minute",
        Effect.provide(withStatusRetry({ maxTransientAttempts: 3 })(told.client).get(ITEMS), Coordinator.layer())
      )
      expect(told.calls.length).toBe(3)
    })))

  it.effect("under a coordinator a 429 without a hint is retried at the coordinator's pace, with no backoff of its own", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 429 }, { status: 200 })
      const sources: Array<string> = []
      const onRetry = (info: RetryPolicy.RetryInfo) =>
        Effect.sync(() => sources.push(`${info.source} ${Duration.toMillis(info.delay)}`))
      const exit = yield* within(
        "10 seconds",
        Effect.provide(withStatusRetry({ onRetry })(client).get(ITEMS), Coordinator.layer())
      )
      expect(success(exit).status).toBe(200)
      // The 429 at 0 ms, with nothing accepted before it, paces the origin to 4 requests per second: the retry goes
      // at the next turn, 250 ms on (the throttled backoff alone would draw from up to a second).
      expect(sources).toStrictEqual(["pacing 0"])
      expect(calls.map((call) => call.at)).toStrictEqual([0, 250])
    })))

  const permanent: ReadonlyArray<{ readonly status: number; readonly tag: StatusError.Permanent["_tag"] }> = [
    { status: 400, tag: "BadRequest" },
    { status: 401, tag: "Unauthorized" },
    { status: 403, tag: "Forbidden" },
    { status: 404, tag: "NotFound" },
    { status: 405, tag: "MethodNotAllowed" },
    { status: 409, tag: "Conflict" },
    { status: 422, tag: "UnprocessableEntity" },
    { status: 501, tag: "PermanentStatus" }
  ]

  it.effect.each(permanent)(
    "$status fails at once with $tag, stopReason permanent, catchable by tag",
    ({ status, tag }) =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status }, { status: 200 })
        const caught = yield* withStatusRetry()(client).get(ITEMS).pipe(
          Effect.flatMap(() => Effect.fail("no error" as const)),
          Effect.catchTag(tag, (error) => Effect.succeed(error))
        )
        expect(calls.length).toBe(1)
        expect(caught._tag).toBe(tag)
        expect(caught.status).toBe(status)
        expect(caught.kind).toBe("permanent")
        expect(caught.attempts).toBe(1)
        expect(caught.stopReason).toEqual(Option.some("permanent"))
        expect(caught.method).toBe("GET")
        expect(caught.url).toBe(ITEMS)
        expect(StatusError.isPermanent(caught)).toBe(true)
      })),
    5_000
  )

  it.effect(
    "catchTag narrows: NotFound is handled, other failures stay in the error channel",
    () =>
      seeded(Effect.gen(function*() {
        const { client } = scripted({ status: 404 })
        const result = yield* withStatusRetry()(client).get(ITEMS).pipe(
          Effect.as("found"),
          Effect.catchTag("NotFound", (e) => Effect.succeed(`not found after ${e.attempts}`)),
          Effect.catchTag("TooManyRequests", () => Effect.succeed("throttled"))
        )
        expect(result).toBe("not found after 1")
      })),
    5_000
  )

  it.effect.each([200, 201, 204, 301, 302, 304])(
    "%s passes through untouched in one call",
    (status) =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status, headers: { "x-test": "kept" }, body: "payload" }, { status: 500 })
        const response = yield* withStatusRetry()(client).get(ITEMS)
        expect(calls.length).toBe(1)
        expect(response.status).toBe(status)
        expect(response.headers["x-test"]).toBe("kept")
        expect(yield* response.text).toBe(NULL_BODY.has(status) ? "" : "payload")
      })),
    5_000
  )

  it.effect(
    "withOptions adds to the client's backoff settings key by key: 500, 502, 503, 200 at 0, 100, 250, 400",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 500 }, { status: 502 }, { status: 503 }, { status: 200 })
        const retrying = withStatusRetry({ backoff: { jitter: "none", baseDelay: "100 millis" } })(client)
        const exit = yield* within(
          "1 second",
          retrying.get(ITEMS).pipe(
            StatusRetry.withOptions({ backoff: { maxDelay: "150 millis", throttledBaseDelay: "150 millis" } })
          )
        )
        expect(exit._tag).toBe("Success")
        // The client's base (100 ms, no jitter) is kept; the override caps the doubling at 150 ms.
        expect(calls.map((c) => c.at)).toEqual([0, 100, 250, 400])
      })),
    5_000
  )

  it.effect(
    "flaky 500, 502, 200: three calls at the backoff instants, then success",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 500 }, { status: 502 }, { status: 200, body: "done" })
        const exit = yield* within(
          "1 second",
          Effect.flatMap(
            withStatusRetry({ backoff: { jitter: "none", baseDelay: "100 millis" } })(client).get(ITEMS),
            (r) => r.text
          )
        )
        expect(success(exit)).toBe("done")
        expect(calls.map((c) => c.at)).toEqual([0, 100, 300])
      })),
    5_000
  )

  it.effect(
    "flaky with full jitter: the waits are the seeded draws times 100 ms and 200 ms",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 500 }, { status: 502 }, { status: 200 })
        const [r1, r2] = yield* draws(2)
        const exit = yield* within("1 second", withStatusRetry()(client).get(ITEMS))
        expect(exit._tag).toBe("Success")
        expect(calls.length).toBe(3)
        expect(calls[1]!.at).toBeCloseTo(r1! * 100, 6)
        expect(calls[2]!.at - calls[1]!.at).toBeCloseTo(r2! * 200, 6)
      })),
    5_000
  )

  it.effect(
    "503 every time: four attempts (the default), then ServiceUnavailable with stopReason attempts",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 })
        const exit = yield* within("10 seconds", withStatusRetry({ backoff: { jitter: "none" } })(client).get(ITEMS))
        const error = failure(exit)
        expect(calls.length).toBe(4)
        expect(calls.map((c) => c.at)).toEqual([0, 100, 300, 700])
        expect(error._tag).toBe("ServiceUnavailable")
        if (!StatusError.isStatusError(error)) throw error
        expect(error.attempts).toBe(4)
        expect(error.kind).toBe("transient")
        expect(error.stopReason).toEqual(Option.some("attempts"))
      })),
    5_000
  )

  it.effect("maxAttempts: 2 stops after two attempts", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 502 })
      const error = failure(yield* within("10 seconds", withStatusRetry({ maxAttempts: 2 })(client).get(ITEMS)))
      expect(calls.length).toBe(2)
      expect(error).toMatchObject({ _tag: "BadGateway", attempts: 2, stopReason: Option.some("attempts") })
    })), 5_000)

  it.effect(
    "POST 503 without Idempotency-Key: exactly one request, stopReason unsafe-method",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 }, { status: 200 })
        const error = failure(yield* within("10 seconds", withStatusRetry()(client).post(ITEMS)))
        expect(calls.length).toBe(1)
        expect(error).toMatchObject({
          _tag: "ServiceUnavailable",
          attempts: 1,
          stopReason: Option.some("unsafe-method")
        })
      })),
    5_000
  )

  it.effect("PATCH 503 without Idempotency-Key: exactly one request", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 503 }, { status: 200 })
      const error = failure(yield* within("10 seconds", withStatusRetry()(client).patch(ITEMS)))
      expect(calls.length).toBe(1)
      expect(error).toMatchObject({ _tag: "ServiceUnavailable", stopReason: Option.some("unsafe-method") })
    })), 5_000)

  it.effect(
    "POST 503 with an Idempotency-Key header: retried, the same key on every attempt",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 }, { status: 503 }, { status: 200, body: "created" })
        const request = HttpClientRequest.post(ITEMS).pipe(
          HttpClientRequest.setHeader("Idempotency-Key", "order-42"),
          HttpClientRequest.bodyText("{\"n\":1}", "application/json")
        )
        const exit = yield* within(
          "10 seconds",
          Effect.flatMap(withStatusRetry()(client).execute(request), (r) => r.text)
        )
        expect(success(exit)).toBe("created")
        expect(calls.length).toBe(3)
        expect(calls.map(keyOf)).toEqual(["order-42", "order-42", "order-42"])
        expect(calls.map((c) => c.request.method)).toEqual(["POST", "POST", "POST"])
      })),
    5_000
  )

  it.effect(
    "idempotencyKey: true gives a POST one key, the same on its attempts, another for the next call",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 }, { status: 200 }, { status: 503 }, { status: 200 })
        const retrying = withStatusRetry({ idempotencyKey: true })(client)
        const exit = yield* within("10 seconds", Effect.zip(retrying.post(ITEMS), retrying.post(ITEMS)))
        expect(exit._tag).toBe("Success")
        expect(calls.length).toBe(4)
        const keys = calls.map(keyOf)
        for (const key of keys) {
          expect(key).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
        }
        expect(keys[1]).toBe(keys[0])
        expect(keys[3]).toBe(keys[2])
        expect(keys[2]).not.toBe(keys[0])
      })),
    5_000
  )

  it.effect(
    "idempotencyKey: a function makes the key; a key already set is kept; GET gets none",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 200 })
        let n = 0
        const retrying = withStatusRetry({ idempotencyKey: () => `key-${++n}` })(client)
        yield* retrying.post(ITEMS)
        yield* retrying.patch(ITEMS)
        yield* retrying.execute(
          HttpClientRequest.post(ITEMS).pipe(HttpClientRequest.setHeader("idempotency-key", "mine"))
        )
        yield* retrying.get(ITEMS)
        yield* retrying.put(ITEMS)
        expect(calls.map(keyOf)).toEqual(["key-1", "key-2", "mine", undefined, undefined])
      })),
    5_000
  )

  it.effect("PUT is retried by default", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 503 }, { status: 200 })
      const exit = yield* within("10 seconds", withStatusRetry()(client).put(ITEMS))
      expect(exit._tag).toBe("Success")
      expect(calls.map((c) => c.request.method)).toEqual(["PUT", "PUT"])
    })), 5_000)

  it.effect.each(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] as const)(
    "%s 503 then 200 is retried by default",
    (method) =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 }, { status: 200 })
        const exit = yield* within(
          "10 seconds",
          withStatusRetry()(client).execute(HttpClientRequest.make(method)(ITEMS))
        )
        expect(exit._tag).toBe("Success")
        expect(calls.length).toBe(2)
      })),
    5_000
  )

  it.effect(
    "methods: [\"GET\"] makes PUT not retried (unsafe-method) while GET still is",
    () =>
      seeded(Effect.gen(function*() {
        const put = scripted({ status: 503 }, { status: 200 })
        const error = failure(yield* within("10 seconds", withStatusRetry({ methods: ["GET"] })(put.client).put(ITEMS)))
        expect(put.calls.length).toBe(1)
        expect(error).toMatchObject({ _tag: "ServiceUnavailable", stopReason: Option.some("unsafe-method") })

        const get = scripted({ status: 503 }, { status: 200 })
        const exit = yield* within("10 seconds", withStatusRetry({ methods: ["get"] })(get.client).get(ITEMS))
        expect(exit._tag).toBe("Success")
        expect(get.calls.length).toBe(2)
      })),
    5_000
  )

  it.effect(
    "a request with a Stream body is never re-sent, even with an idempotent method or a key",
    () =>
      seeded(Effect.gen(function*() {
        const body = () => Stream.make(new TextEncoder().encode("chunk"))
        const put = scripted({ status: 503 }, { status: 200 })
        const putError = failure(
          yield* within(
            "10 seconds",
            withStatusRetry()(put.client).execute(
              HttpClientRequest.put(ITEMS).pipe(HttpClientRequest.bodyStream(body()))
            )
          )
        )
        expect(put.calls.length).toBe(1)
        expect(putError).toMatchObject({ _tag: "ServiceUnavailable", stopReason: Option.some("unsafe-method") })

        const post = scripted({ status: 503 }, { status: 200 })
        const keyed = HttpClientRequest.post(ITEMS).pipe(
          HttpClientRequest.setHeader("idempotency-key", "k"),
          HttpClientRequest.bodyStream(body())
        )
        const postError = failure(yield* within("10 seconds", withStatusRetry()(post.client).execute(keyed)))
        expect(post.calls.length).toBe(1)
        expect(postError).toMatchObject({ _tag: "ServiceUnavailable", stopReason: Option.some("unsafe-method") })
      })),
    5_000
  )

  it.effect("409 is retried only for a POST with an Idempotency-Key", () =>
    seeded(Effect.gen(function*() {
      const keyed = scripted({ status: 409 }, { status: 201 })
      const exit = yield* within(
        "10 seconds",
        withStatusRetry()(keyed.client).execute(
          HttpClientRequest.post(ITEMS).pipe(HttpClientRequest.setHeader("idempotency-key", "k-409"))
        )
      )
      expect(exit._tag === "Success" && exit.value.status).toBe(201)
      expect(keyed.calls.map(keyOf)).toEqual(["k-409", "k-409"])

      const plainPost = scripted({ status: 409 }, { status: 201 })
      const postError = failure(yield* within("10 seconds", withStatusRetry()(plainPost.client).post(ITEMS)))
      expect(plainPost.calls.length).toBe(1)
      expect(postError).toMatchObject({ _tag: "Conflict", kind: "permanent", stopReason: Option.some("permanent") })

      const get = scripted({ status: 409 }, { status: 200 })
      const getError = failure(
        yield* within(
          "10 seconds",
          withStatusRetry()(get.client).execute(
            HttpClientRequest.get(ITEMS).pipe(HttpClientRequest.setHeader("idempotency-key", "k-get"))
          )
        )
      )
      expect(get.calls.length).toBe(1)
      expect(getError).toMatchObject({ _tag: "Conflict", stopReason: Option.some("permanent") })

      const put = scripted({ status: 409 }, { status: 200 })
      const putError = failure(yield* within("10 seconds", withStatusRetry()(put.client).put(ITEMS)))
      expect(put.calls.length).toBe(1)
      expect(putError).toMatchObject({ _tag: "Conflict", stopReason: Option.some("permanent") })
    })), 5_000)

  it.effect(
    "a keyed POST that keeps getting 409 gives up after maxAttempts as a transient Conflict",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 409 })
        const request = HttpClientRequest.post(ITEMS).pipe(HttpClientRequest.setHeader("idempotency-key", "k"))
        const error = failure(yield* within("10 seconds", withStatusRetry({ maxAttempts: 3 })(client).execute(request)))
        expect(calls.length).toBe(3)
        expect(error).toMatchObject({
          _tag: "Conflict",
          kind: "transient",
          attempts: 3,
          stopReason: Option.some("attempts")
        })
      })),
    5_000
  )

  /** A 200 whose body breaks after its first chunk, then a 200 with a whole body. */
  const breakingBody = () => {
    const calls: Array<HttpClientRequest.HttpClientRequest> = []
    const client = HttpClient.make((request) =>
      Effect.sync(() => {
        calls.push(request)
        const body = calls.length === 1
          ? new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode("part"))
              controller.error(new Error("connection reset"))
            }
          })
          : "whole"
        return HttpClientResponse.fromWeb(request, new Response(body, { status: 200 }))
      })
    )
    return { calls, client }
  }

  it.effect(
    "body.read: true reads the body inside the retry: a body that breaks is retried like a transient failure",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = breakingBody()
        const exit = yield* within(
          "10 seconds",
          Effect.flatMap(
            withStatusRetry({ body: { read: true }, backoff: { jitter: "none" } })(client).get(ITEMS),
            (r) => r.text
          )
        )
        expect(success(exit)).toBe("whole")
        expect(calls.length).toBe(2)
      })),
    5_000
  )

  it.effect("body.read: true keeps every Set-Cookie of the buffered response", () =>
    Effect.gen(function*() {
      const client = HttpClient.make((request) =>
        Effect.succeed(
          HttpClientResponse.fromWeb(
            request,
            new Response("ok", { status: 200, headers: [["set-cookie", "a=1; Path=/"], ["set-cookie", "b=2; Path=/"]] })
          )
        )
      )
      const response = yield* withStatusRetry({ body: { read: true } })(client).get(ITEMS)
      expect(Object.keys(response.cookies.cookies).sort()).toEqual(["a", "b"])
      expect(yield* response.text).toBe("ok")
    }))

  it.effect(
    "without body.read the response is handed over as is, and a body that breaks fails the caller's read",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = breakingBody()
        const response = yield* withStatusRetry()(client).get(ITEMS)
        const error = yield* Effect.flip(response.text)
        expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
        expect(calls.length).toBe(1)
      })),
    5_000
  )

  it.effect(
    "body.read: true on a POST whose body breaks does not re-send it (unsafe-method)",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = breakingBody()
        const error = yield* Effect.flip(withStatusRetry({ body: { read: true } })(client).post(ITEMS))
        expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
        expect(calls.length).toBe(1)
      })),
    5_000
  )

  const mistakes: ReadonlyArray<
    { readonly name: string; readonly options: StatusRetry.Options; readonly problems: ReadonlyArray<string> }
  > = [
    {
      name: "maxAttempts: -1",
      options: { maxAttempts: -1 },
      problems: ["maxAttempts must be a whole number of at least 1, got -1"]
    },
    {
      name: "timeout: NaN",
      options: { timeout: Number.NaN },
      problems: ["timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got NaN"]
    },
    {
      name: "attemptTimeout: -1",
      options: { attemptTimeout: -1 },
      problems: ["attemptTimeout must be a positive duration (Duration.infinity for none), got -1"]
    },
    {
      name: "attemptTimeout: 0",
      options: { attemptTimeout: 0 },
      problems: ["attemptTimeout must be a positive duration (Duration.infinity for none), got 0"]
    },
    {
      name: "attemptTimeout: \"0 millis\"",
      options: { attemptTimeout: "0 millis" },
      problems: ["attemptTimeout must be a positive duration (Duration.infinity for none), got \"0 millis\""]
    },
    {
      name: "attemptTimeout: -1n",
      options: { attemptTimeout: BigInt(-1) },
      problems: ["attemptTimeout must be a positive duration (Duration.infinity for none), got -1"]
    },
    {
      name: "attemptTimeout: \"-5 seconds\"",
      options: { attemptTimeout: "-5 seconds" as Duration.DurationInput },
      problems: ["attemptTimeout must be a positive duration (Duration.infinity for none), got \"-5 seconds\""]
    },
    {
      name: "methods: \"POST\" (a string, not a list)",
      options: { methods: "POST" as unknown as ReadonlyArray<string> },
      problems: ["methods must be a list of methods (an array), got \"POST\""]
    },
    {
      name: "methods: 123",
      options: { methods: 123 as unknown as ReadonlyArray<string> },
      problems: ["methods must be a list of methods (an array), got 123"]
    },
    {
      name: "redact.headers: \"x\"",
      options: { redact: { headers: "x" as unknown as ReadonlyArray<string> } },
      problems: ["redact.headers must be a list of header names (an array), got \"x\""]
    },
    {
      name: "redact.headers: [123]",
      options: { redact: { headers: [123] as unknown as ReadonlyArray<string> } },
      problems: ["redact.headers: 123 is not a header name"]
    },
    {
      name: "redact.queryParams: [\"\"]",
      options: { redact: { queryParams: [""] } },
      problems: ["redact.queryParams: \"\" is not a query parameter name"]
    },
    {
      name: "body.read: \"yes\"",
      options: { body: { read: "yes" as unknown as boolean } },
      problems: ["body.read must be true or false, got \"yes\""]
    },
    {
      name: "body.maxSize: 0",
      options: { body: { maxSize: 0 } },
      problems: ["body.maxSize must be a whole number of bytes of at least 1 (Infinity for no cap), got 0"]
    },
    {
      name: "body.maxErrorSize: -1",
      options: { body: { maxErrorSize: -1 } },
      problems: ["body.maxErrorSize must be a whole number of bytes (0 for none), got -1"]
    },
    {
      name: "body: true (not an object)",
      options: { body: true as unknown as StatusRetry.BodyOptions },
      problems: ["body must be an object { read, maxSize, maxErrorSize }, got true"]
    },
    {
      name: "an unknown option in a group (the old flat name)",
      options: { redact: { redactHeaders: ["x-session"] } } as unknown as StatusRetry.Options,
      problems: ["redact.redactHeaders is not an option of withStatusRetry"]
    },
    {
      name: "an old flat option",
      options: { readBody: true } as unknown as StatusRetry.Options,
      problems: ["\"readBody\" is not an option of withStatusRetry"]
    },
    {
      name: "backoff.maxDelay below backoff.baseDelay",
      options: { backoff: { baseDelay: "2 seconds", maxDelay: "1 second" } },
      problems: ["backoff.maxDelay (1000 ms) must be at least backoff.baseDelay (2000 ms)"]
    },
    {
      name: "an unknown option (a typo)",
      options: { attemptTimout: "1 second" } as StatusRetry.Options,
      problems: ["\"attemptTimout\" is not an option of withStatusRetry"]
    },
    {
      name: "several at once",
      options: { maxAttempts: 0, timeout: Number.NaN, attemptTimeout: -1, methods: ["GET", "no such"] },
      problems: [
        "maxAttempts must be a whole number of at least 1, got 0",
        "timeout must be a duration (a number of milliseconds or a string like \"5 seconds\"), got NaN",
        "attemptTimeout must be a positive duration (Duration.infinity for none), got -1",
        "methods: \"no such\" is not a method"
      ]
    }
  ]

  it.effect.each(mistakes)(
    "$name throws InvalidRetryOptions when called, before any request",
    ({ options, problems }) =>
      Effect.sync(() => {
        const { calls, client } = scripted({ status: 200 })
        let thrown: unknown
        try {
          withStatusRetry(options)
        } catch (error) {
          thrown = error
        }
        expect(thrown).toBeInstanceOf(RetryPolicy.InvalidRetryOptions)
        const error = thrown as RetryPolicy.InvalidRetryOptions
        expect(error._tag).toBe("InvalidRetryOptions")
        expect(error.problems).toEqual(problems)
        expect(error.message).toBe(`Invalid retry options: ${problems.join("; ")}`)
        expect(calls.length).toBe(0)
        expect(client).toBeDefined()
      }),
    5_000
  )

  it.effect(
    "every bad option at once: one InvalidRetryOptions whose message names each of them",
    () =>
      Effect.sync(() => {
        const options = {
          methods: "POST",
          redact: { headers: "x" },
          body: { read: "yes", maxSize: -1 },
          maxAttempts: 1.5
        } as unknown as StatusRetry.Options
        const thrown = Either.flip(Either.try(() => withStatusRetry(options)))
        if (Either.isLeft(thrown) || !(thrown.right instanceof RetryPolicy.InvalidRetryOptions)) {
          throw new Error("expected InvalidRetryOptions")
        }
        for (const name of ["methods", "redact.headers", "body.read", "body.maxSize", "maxAttempts"]) {
          expect(thrown.right.message).toContain(name)
        }
        expect(thrown.right.problems.length).toBe(5)
      }),
    5_000
  )

  it.effect("a Set of methods is a list too; method names are read in any case", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 503 }, { status: 200 })
      const exit = yield* within("10 seconds", withStatusRetry({ methods: new Set(["post"]) })(client).post(ITEMS))
      expect(exit._tag).toBe("Success")
      expect(calls.length).toBe(2)
    })), 5_000)

  /** The failure of an attempt cut by the attempt timeout or the call's timeout. */
  const cutBy = (description: string) => ({ _tag: "RequestError", reason: "Transport", description })

  /** A GET to a server that never answers, under the TestClock moved a minute on: its sends and its failure. */
  const hanging = (options: StatusRetry.Options) =>
    Effect.gen(function*() {
      const { calls, client } = scripted(HANG)
      const error = failure(yield* within("1 minute", withStatusRetry(options)(client).get(ITEMS)))
      return { at: calls.map((c) => c.at), error }
    })

  it.effect(
    "the timeout is a deadline: an attempt that hangs is cut when the call's time runs out (TestClock)",
    () =>
      seeded(Effect.gen(function*() {
        const { at, error } = yield* hanging({ timeout: "1 second" })
        expect(at).toEqual([0])
        expect(error).toMatchObject(cutBy("no response before the call's timeout of 1s ran out"))
      })),
    5_000
  )

  it.effect(
    "an attempt timeout longer than what is left of the call's timeout: the deadline cuts the last attempt",
    () =>
      seeded(Effect.gen(function*() {
        const { at, error } = yield* hanging({
          timeout: "2500 millis",
          attemptTimeout: "1 second",
          backoff: { jitter: "none", baseDelay: "100 millis" }
        })
        // 0 - 1000 cut, wait 100; 1100 - 2100 cut, wait 200; 2300 - 2500 cut by the timeout.
        expect(at).toEqual([0, 1100, 2300])
        expect(error).toMatchObject(cutBy("no response before the call's timeout of 2s 500ms ran out"))
      })),
    5_000
  )

  it.effect(
    "the attempt-timeout RequestError carries no body, and a redacted URL and headers",
    () =>
      seeded(Effect.gen(function*() {
        const { client } = scripted(HANG)
        const request = HttpClientRequest.post("http://me:pw-secret@api.test/x?token=tok-secret&page=1").pipe(
          HttpClientRequest.setHeaders({ authorization: "Bearer auth-secret", "idempotency-key": "k" }),
          HttpClientRequest.bodyText("body-secret")
        )
        const error = failure(
          yield* within(
            "1 minute",
            withStatusRetry({ attemptTimeout: "1 second", maxAttempts: 1 })(client).execute(request)
          )
        )
        if (error._tag !== "RequestError") throw error
        expect(error.request.url).toBe("http://<redacted>@api.test/x?token=<redacted>&page=1")
        expect(error.request.headers["authorization"]).toBe("<redacted>")
        expect(error.request.body._tag).toBe("Empty")
        expect(JSON.stringify(error)).not.toMatch(/secret/)
        expect(error.message).toBe(
          "Transport: no response within the attempt timeout of 1s (POST http://<redacted>@api.test/x?token=<redacted>&page=1)"
        )
      })),
    5_000
  )

  it.effect("good options do not throw, and an infinite attemptTimeout turns the timeout off", () =>
    Effect.sync(() => {
      expect(() =>
        withStatusRetry({ maxAttempts: 1, timeout: "1 minute", attemptTimeout: Duration.infinity, methods: ["GET"] })
      ).not.toThrow()
      expect(() => withStatusRetry()).not.toThrow()
    }), 5_000)

  it.effect(
    "an attempt with no response within attemptTimeout fails as Transport and is retried at the timeout",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted(HANG, { status: 200, body: "late but fine" })
        const exit = yield* within(
          "5 seconds",
          Effect.flatMap(
            withStatusRetry({ attemptTimeout: "1 second", backoff: { jitter: "none", baseDelay: "50 millis" } })(client)
              .get(ITEMS),
            (r) => r.text
          )
        )
        expect(success(exit)).toBe("late but fine")
        expect(calls.map((c) => c.at)).toEqual([0, 1050])
      })),
    5_000
  )

  it.effect(
    "attempts that all time out surface the RequestError with the timeout description",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted(HANG)
        const error = failure(
          yield* within(
            "1 minute",
            withStatusRetry({ attemptTimeout: "1 second", maxAttempts: 2, backoff: { jitter: "none" } })(client).get(
              ITEMS
            )
          )
        )
        expect(calls.length).toBe(2)
        expect(error).toMatchObject({
          _tag: "RequestError",
          reason: "Transport",
          description: "no response within the attempt timeout of 1s"
        })
      })),
    5_000
  )

  it.effect(
    "a Retry-After longer than maxRetryAfter stops at once and keeps the instant",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 429, headers: { "retry-after": "60" } }, { status: 200 })
        const error = failure(yield* within("2 minutes", withStatusRetry()(client).get(ITEMS)))
        expect(calls.length).toBe(1)
        expect(error).toMatchObject({ _tag: "TooManyRequests", stopReason: Option.some("retry-after-too-long") })
        if (!StatusError.isStatusError(error)) throw error
        expect(Option.map(error.retryAfter, (h) => [h.source, h.at])).toEqual(Option.some(["retry-after", 60_000]))
      })),
    5_000
  )

  it.effect("a Retry-After past the timeout stops at once with reason timeout", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 503, headers: { "retry-after": "20" } }, { status: 200 })
      const error = failure(yield* within("1 minute", withStatusRetry({ timeout: "10 seconds" })(client).get(ITEMS)))
      expect(calls.length).toBe(1)
      expect(error).toMatchObject({ _tag: "ServiceUnavailable", kind: "throttled", stopReason: Option.some("timeout") })
    })), 5_000)

  it.effect("a custom policy retries 404", () =>
    seeded(Effect.gen(function*() {
      const { calls, client } = scripted({ status: 404 }, { status: 200 })
      const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404]))
      const exit = yield* within("10 seconds", withStatusRetry({ statusPolicy: policy })(client).get(ITEMS))
      expect(exit._tag).toBe("Success")
      expect(calls.length).toBe(2)
    })), 5_000)

  it.effect("credentials in response headers are redacted in the error", () =>
    seeded(Effect.gen(function*() {
      const { client } = scripted({ status: 401, headers: { "set-cookie": "session=s3cret", "x-request-id": "r1" } })
      const error = yield* Effect.flip(withStatusRetry()(client).get(ITEMS))
      expect(error).toMatchObject({ _tag: "Unauthorized" })
      if (!StatusError.isStatusError(error)) throw error
      expect(error.headers["set-cookie"]).toBe("<redacted>")
      expect(error.headers["x-request-id"]).toBe("r1")
    })), 5_000)

  it.effect(
    "http.request.resend_count is on the client spans of attempts 2 and 3 (1, 2), absent on the first",
    () =>
      seeded(Effect.gen(function*() {
        const { calls, client } = scripted({ status: 503 }, { status: 502 }, { status: 200 })
        const { recording, spans } = yield* recordSpans
        const exit = yield* within("10 seconds", Effect.withTracer(withStatusRetry()(client).get(ITEMS), recording))
        expect(exit._tag).toBe("Success")
        expect(calls.length).toBe(3)
        const clientSpans = spans.filter((s) => s.kind === "client")
        expect(clientSpans.map((s) => s.name)).toEqual(["http.client GET", "http.client GET", "http.client GET"])
        expect(clientSpans.map((s) => s.attributes.has("http.request.resend_count"))).toEqual([false, true, true])
        expect(clientSpans.map((s) => s.attributes.get("http.request.resend_count"))).toEqual([undefined, 1, 2])
        expect(clientSpans.map((s) => s.attributes.get("http.response.status_code"))).toEqual([503, 502, 200])
      })),
    5_000
  )

  it.effect("each decision is logged at debug level with its annotations", () =>
    seeded(Effect.gen(function*() {
      const logs: Array<{ level: string; message: unknown; annotations: Record<string, unknown> }> = []
      const logger = Logger.make(({ annotations, logLevel, message }) => {
        logs.push({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      })
      yield* Effect.gen(function*() {
        const retried = scripted({ status: 503 }, { status: 200 })
        yield* within("10 seconds", withStatusRetry({ backoff: { jitter: "none" } })(retried.client).get(ITEMS))
        yield* Effect.ignore(withStatusRetry()(scripted({ status: 404 }).client).get(ITEMS))
      }).pipe(Effect.provide(Logger.add(logger)), Logger.withMinimumLogLevel(LogLevel.Debug))
      expect(logs).toEqual([
        {
          level: "DEBUG",
          message: [`retrying GET ${ITEMS} in 100 ms (backoff)`],
          annotations: { attempt: 2, delayMillis: 100, source: "backoff", kind: "transient", status: 503 }
        },
        {
          level: "DEBUG",
          message: [`giving up on GET ${ITEMS}: permanent`],
          annotations: { attempts: 1, reason: "permanent" }
        }
      ])
    })), 5_000)

  it.effect(
    "the retries and giveUps metrics count retries by kind and source, and give-ups by reason",
    () =>
      seeded(
        Effect.gen(function*() {
          const count = (metric: Metric.Metric.Counter<number>) =>
            Effect.map(Metric.value(metric), (state) => state.count)
          const retries = (kind: string, source: string) =>
            count(StatusRetry.retries.pipe(Metric.tagged("kind", kind), Metric.tagged("source", source)))
          const giveUps = (reason: string) => count(Metric.tagged(StatusRetry.giveUps, "reason", reason))

          expect(yield* giveUps("permanent")).toBe(0)
          yield* Effect.ignore(withStatusRetry()(scripted({ status: 404 }).client).get(ITEMS))
          expect(yield* giveUps("permanent")).toBe(1)

          yield* within(
            "10 seconds",
            withStatusRetry()(scripted({ status: 429, headers: { "retry-after": "1" } }, { status: 200 }).client).get(
              ITEMS
            )
          )
          expect(yield* retries("throttled", "retry-after")).toBe(1)

          yield* within("10 seconds", withStatusRetry()(scripted({ status: 503 }).client).get(ITEMS))
          expect(yield* retries("transient", "backoff")).toBe(3)
          expect(yield* giveUps("attempts")).toBe(1)

          yield* Effect.ignore(withStatusRetry()(scripted({ status: 503 }).client).post(ITEMS))
          expect(yield* giveUps("unsafe-method")).toBe(1)
          expect(yield* giveUps("permanent")).toBe(1)
          expect(yield* retries("throttled", "retry-after")).toBe(1)
          // Every count above is this test's own: the metrics of this fiber carry a label no other test uses.
        }).pipe(Effect.tagMetrics("test", "metrics-by-kind-and-reason"))
      ),
    5_000
  )

  it.effect(
    "the retries and giveUps metrics increase without any fiber label too",
    () =>
      seeded(Effect.gen(function*() {
        const giveUps = Metric.tagged(StatusRetry.giveUps, "reason", "permanent")
        const before = (yield* Metric.value(giveUps)).count
        const retriesBefore = (yield* Metric.value(StatusRetry.retries.pipe(
          Metric.tagged("kind", "transient"),
          Metric.tagged("source", "backoff")
        ))).count
        yield* Effect.ignore(withStatusRetry()(scripted({ status: 403 }).client).get(ITEMS))
        yield* within("10 seconds", withStatusRetry()(scripted({ status: 500 }, { status: 200 }).client).get(ITEMS))
        expect((yield* Metric.value(giveUps)).count).toBeGreaterThanOrEqual(before + 1)
        expect(
          (yield* Metric.value(
            StatusRetry.retries.pipe(Metric.tagged("kind", "transient"), Metric.tagged("source", "backoff"))
          ))
            .count
        ).toBeGreaterThanOrEqual(retriesBefore + 1)
      })),
    5_000
  )
})

describe("withStatusRetry hooks and defaults (scripted client, TestClock)", () => {
  it.effect("maxAttempts counts every attempt: 429s and 503s together stop at it", () =>
    Effect.gen(function*() {
      const { calls, client } = scripted({ status: 503 }, { status: 429 }, { status: 429 }, { status: 429 })
      const error = failure(yield* within("1 minute", withStatusRetry({ maxAttempts: 3 })(client).get(ITEMS)))
      expect(calls.length).toBe(3)
      expect(error).toMatchObject({ _tag: "TooManyRequests", attempts: 3, stopReason: Option.some("attempts") })
    }))

  it.effect("classify decides what a response means: a 200 the API marks as throttled is retried at its hint", () =>
    Effect.gen(function*() {
      const { calls, client } = scripted(
        { status: 200, headers: { "x-error": "throttled", "retry-after": "3" }, body: "busy" },
        { status: 404 },
        { status: 200, body: "ok" }
      )
      const classify = (attempt: StatusRetry.Attempt) =>
        attempt._tag !== "Response"
          ? undefined
          : attempt.headers["x-error"] === "throttled"
          ? "throttled" as const
          : attempt.status === 404
          ? "transient" as const
          : undefined
      const retrying = withStatusRetry({ classify, backoff: { jitter: "none" }, retryAfterSpread: 0 })(client)
      const response = success(yield* within("10 seconds", retrying.get(ITEMS)))
      expect(yield* response.text).toBe("ok")
      expect(calls.map((c) => c.at)).toStrictEqual([0, 3000, 3100])
      // What it leaves undecided keeps the default: a 404 is permanent.
      const { calls: others, client: other } = scripted({ status: 404 }, { status: 200 })
      const error = failure(
        yield* within("10 seconds", withStatusRetry({ classify: () => undefined })(other).get(ITEMS))
      )
      expect([others.length, error]).toMatchObject([1, { _tag: "NotFound", kind: "permanent" }])
    }))

  it.effect("classify decides what a failure means: a transport error it calls permanent is not retried", () =>
    Effect.gen(function*() {
      let sent = 0
      const failing = HttpClient.make((request) =>
        Effect.suspend(() => {
          sent++
          return Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", description: "reset" }))
        })
      )
      const classify = (attempt: StatusRetry.Attempt) => attempt._tag === "Failure" ? "permanent" as const : undefined
      const error = failure(yield* within("10 seconds", withStatusRetry({ classify })(failing).get(ITEMS)))
      expect([sent, error._tag]).toStrictEqual([1, "RequestError"])
      sent = 0
      failure(yield* within("10 seconds", withStatusRetry({ backoff: { jitter: "none" } })(failing).get(ITEMS)))
      expect(sent).toBe(4)
    }))

  it.effect("a 307 with Retry-After: 2 is handed to followRedirects at 2000 ms, not before (TestClock)", () =>
    Effect.gen(function*() {
      const { calls, client } = scripted(
        { status: 307, headers: { location: "http://api.test/new", "retry-after": "2" } },
        { status: 200, body: "new home" }
      )
      const following = client.pipe(withStatusRetry(), HttpClient.followRedirects())
      const fiber = yield* Effect.fork(Effect.flatMap(following.get(ITEMS), (response) => response.text))
      yield* TestClock.adjust("1999 millis")
      expect(calls.map((c) => c.at)).toStrictEqual([0])
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe("new home")
      expect(calls.map((c) => [c.request.url, c.at])).toStrictEqual([[ITEMS, 0], ["http://api.test/new", 2000]])
    }))

  it("defaults holds every default, and the client's options are checked against it", () => {
    expect(StatusRetry.defaults).toMatchObject({
      maxAttempts: 10,
      maxTransientAttempts: 4,
      timeout: "30 seconds",
      backoff: { baseDelay: "100 millis", throttledBaseDelay: "1 second", maxDelay: "10 seconds", jitter: "full" },
      body: { read: false, maxSize: 4 * 1024 * 1024, maxErrorSize: 64 * 1024 },
      redact: { headers: [], queryParams: [] },
      statusPolicy: StatusPolicy.defaultPolicy
    })
    expect(() => withStatusRetry({ ...StatusRetry.defaults })).not.toThrow()
  })
})

/** A tracer that keeps every span it makes, over the one in use. */
const recordSpans = Effect.map(Effect.tracer, (native) => {
  const spans: Array<Tracer.Span> = []
  const recording = Tracer.make({
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = native.span(name, parent, context, links, startTime, kind, options)
      spans.push(span)
      return span
    },
    context: (f, fiber) => native.context(f, fiber)
  })
  return { recording, spans }
})

// ---------------------------------------------------------------------------------------------------------------
// Integration tests: a real server on 127.0.0.1, through the node:http and the undici clients, in real time
// ---------------------------------------------------------------------------------------------------------------

const clients = [
  { name: "node:http", layer: NodeHttpClient.layer },
  { name: "undici", layer: NodeHttpClient.layerUndici }
] as const

/** Small real-time delays so the suite stays short. */
const FAST = { backoff: { baseDelay: "5 millis", throttledBaseDelay: "5 millis" } } as const

/** Digs the `code` of a transport error's cause (node:http and undici nest it differently). */
const causeCode = (error: unknown): string | undefined => {
  let cause: unknown = error
  for (let depth = 0; depth < 6 && typeof cause === "object" && cause !== null; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string") return code
    cause = (cause as { cause?: unknown }).cause
  }
  return undefined
}

describe.each(clients)("withStatusRetry against a real server through $name", ({ layer }) => {
  const retrying = (options?: StatusRetry.Options) =>
    Effect.map(HttpClient.HttpClient, (client) => withStatusRetry(options)(client))

  it.scopedLive(
    "429 with Retry-After: 1 is retried no sooner than the instant told, and succeeds",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) =>
          a.nth === 0
            ? { status: 429, headers: { "retry-after": "1" }, body: "slow down" }
            : { status: 200, body: "ok" }
        )
        const client = yield* retrying()
        const body = yield* Effect.flatMap(client.get(server.url("/limited")), (r) => r.text)
        expect(body).toBe("ok")
        expect(server.arrivals.length).toBe(2)
        const [first, second] = server.arrivals
        const told = first!.respondedAt! + 1000
        expect(second!.arrivedAt).toBeGreaterThanOrEqual(told - 5)
        // The spread is at most 2% of the hint (20 ms); allow for scheduling.
        expect(second!.arrivedAt).toBeLessThan(told + 20 + 400)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive.each([
    { skew: "1 hour ahead", skewMillis: 3_600_000 },
    { skew: "1 hour behind", skewMillis: -3_600_000 }
  ])(
    "503 with an HTTP-date Retry-After 1 s past a Date header $skew waits about 1 s",
    ({ skewMillis }) =>
      Effect.gen(function*() {
        const server = yield* serve((a) => {
          if (a.nth > 0) return { status: 200, body: "back" }
          const serverNow = Date.now() + skewMillis
          return {
            status: 503,
            headers: { date: httpDate(serverNow), "retry-after": httpDate(serverNow + 1000) },
            body: "maintenance"
          }
        })
        const client = yield* retrying()
        const response = yield* client.get(server.url("/skewed"))
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe("back")
        expect(server.arrivals.length).toBe(2)
        const [first, second] = server.arrivals
        const waited = second!.arrivedAt - first!.respondedAt!
        expect(waited).toBeGreaterThanOrEqual(1000 - 5)
        // The spread is at most 2% of the 1 s hint (20 ms); allow for scheduling.
        expect(waited).toBeLessThan(1000 + 20 + 400)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive("flaky 500, 502, 200: three requests, then success", () =>
    Effect.gen(function*() {
      const server = yield* serve((a) => ({ status: [500, 502, 200][a.nth] ?? 200, body: `try ${a.nth}` }))
      const client = yield* retrying(FAST)
      const response = yield* client.get(server.url("/flaky"))
      expect(response.status).toBe(200)
      expect(yield* response.text).toBe("try 2")
      expect(server.arrivals.map((a) => a.method)).toEqual(["GET", "GET", "GET"])
    }).pipe(Effect.provide(layer)), 5_000)

  it.scopedLive(
    "on the real clock, resend_count is on the client spans of the resends (1, 2) and on no span after the call",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) => ({ status: [503, 502, 200][a.nth] ?? 200, body: `try ${a.nth}` }))
        const client = yield* retrying(FAST)
        const { recording, spans } = yield* recordSpans
        const response = yield* Effect.withTracer(
          Effect.zipLeft(client.get(server.url("/resent")), Effect.withSpan(Effect.void, "after the call")),
          recording
        )
        expect(response.status).toBe(200)
        expect(spans.map((s) => [s.name, s.attributes.get("http.request.resend_count")])).toEqual([
          ["http.client GET", undefined],
          ["http.client GET", 1],
          ["http.client GET", 2],
          ["after the call", undefined]
        ])
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive.each([
    { status: 400, tag: "BadRequest" },
    { status: 401, tag: "Unauthorized" },
    { status: 403, tag: "Forbidden" },
    { status: 404, tag: "NotFound" },
    { status: 405, tag: "MethodNotAllowed" },
    { status: 409, tag: "Conflict" },
    { status: 422, tag: "UnprocessableEntity" },
    { status: 501, tag: "PermanentStatus" }
  ])("permanent $status: exactly one request on the server, then $tag", ({ status, tag }) =>
    Effect.gen(function*() {
      const server = yield* serve(() => ({ status, body: "no" }))
      const client = yield* retrying(FAST)
      const error = yield* Effect.flip(client.get(server.url(`/permanent/${status}`)))
      expect(server.arrivals.length).toBe(1)
      expect(error).toMatchObject({ _tag: tag, status, attempts: 1, stopReason: Option.some("permanent") })
    }).pipe(Effect.provide(layer)), 5_000)

  it.scopedLive("POST 503 without Idempotency-Key: exactly one request", () =>
    Effect.gen(function*() {
      const server = yield* serve((a) => (a.nth === 0 ? { status: 503 } : { status: 200 }))
      const client = yield* retrying(FAST)
      const error = yield* Effect.flip(client.post(server.url("/orders"), { body: HttpBody.text("{}") }))
      expect(server.arrivals.length).toBe(1)
      expect(error).toMatchObject({ _tag: "ServiceUnavailable", attempts: 1, stopReason: Option.some("unsafe-method") })
    }).pipe(Effect.provide(layer)), 5_000)

  it.scopedLive(
    "POST 503 with Idempotency-Key: retried until success, every attempt with the same key and body",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((
          a
        ) => (a.nth < 2 ? { status: 503, body: "busy" } : { status: 201, body: "created" }))
        const client = yield* retrying(FAST)
        const request = HttpClientRequest.post(server.url("/orders")).pipe(
          HttpClientRequest.setHeader("Idempotency-Key", "order-7"),
          HttpClientRequest.bodyText("{\"sku\":\"a\"}", "application/json")
        )
        const response = yield* client.execute(request)
        expect(response.status).toBe(201)
        expect(server.arrivals.length).toBe(3)
        expect(server.arrivals.map((a) => a.headers["idempotency-key"])).toEqual(["order-7", "order-7", "order-7"])
        expect(server.arrivals.map((a) => a.body)).toEqual(["{\"sku\":\"a\"}", "{\"sku\":\"a\"}", "{\"sku\":\"a\"}"])
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "idempotencyKey: true sends one generated key on every attempt of a POST",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) => (a.nth === 0 ? { status: 502 } : { status: 200 }))
        const client = yield* retrying({ ...FAST, idempotencyKey: true })
        yield* client.post(server.url("/auto-key"))
        expect(server.arrivals.length).toBe(2)
        const [first, second] = server.arrivals.map((a) => a.headers["idempotency-key"])
        expect(first).toMatch(/^[0-9a-f-]{36}$/)
        expect(second).toBe(first)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  const PARTIAL = "partial-"
  const FULL = "full body of exactly thirty-two!"

  /** Headers and part of a body, then the connection is destroyed; the second request gets the whole body. */
  const resetting = serveRaw((request, response, index) => {
    if (index === 0) {
      response.writeHead(200, { "content-type": "text/plain", "content-length": String(FULL.length) })
      response.write(PARTIAL, () => setTimeout(() => request.socket.destroy(), 50))
    } else {
      response.writeHead(200, { "content-type": "text/plain", "content-length": String(FULL.length) })
      response.end(FULL)
    }
  })

  it.scopedLive(
    "a connection reset mid-body with body.read: true: the GET is retried and succeeds",
    () =>
      Effect.gen(function*() {
        const server = yield* resetting
        const client = yield* retrying({ ...FAST, body: { read: true } })
        const response = yield* client.get(server.url("/reset"))
        expect(response.status).toBe(200)
        expect(yield* response.text).toBe(FULL)
        expect(server.requests()).toBe(2)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a connection reset mid-body without body.read: the caller gets the failure reading the body",
    () =>
      Effect.gen(function*() {
        const server = yield* resetting
        const client = yield* retrying(FAST)
        const response = yield* client.get(server.url("/reset"))
        expect(response.status).toBe(200)
        const error = yield* Effect.flip(Effect.timeoutFail(response.text, {
          duration: "3 seconds",
          onTimeout: () => "reading the body hung" as const
        }))
        expect(error).toMatchObject({ _tag: "ResponseError", reason: "Decode" })
        expect(server.requests()).toBe(1)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "a server slower than attemptTimeout: the attempt is abandoned, the second answers, 2 requests",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) =>
          a.nth === 0 ? { status: 200, body: "too late", delayMillis: 500 } : { status: 200, body: "quick" }
        )
        const client = yield* retrying({ ...FAST, attemptTimeout: "100 millis" })
        const started = Date.now()
        const response = yield* client.get(server.url("/slow"))
        expect(yield* response.text).toBe("quick")
        expect(server.arrivals.length).toBe(2)
        const [first, second] = server.arrivals
        // The second attempt left once the first had waited its 100 ms (measured from before the call started)...
        expect(second!.arrivedAt - started).toBeGreaterThanOrEqual(100 - 5)
        // ...and long before the slow server would have answered the first.
        expect(second!.arrivedAt).toBeLessThan(first!.arrivedAt + 500)
        expect(Date.now() - started).toBeLessThan(450)
      }).pipe(Effect.provide(layer)),
    5_000
  )

  it.scopedLive(
    "connection refused on a POST is retried (it never left) until attempts run out",
    () =>
      Effect.gen(function*() {
        const port = yield* freePort
        let attempts = 0
        const counted = HttpClient.transformResponse(
          yield* HttpClient.HttpClient,
          (send) => Effect.zipRight(Effect.sync(() => attempts++), send)
        )
        const client = withStatusRetry({ ...FAST, maxAttempts: 3 })(counted)
        const error = yield* Effect.flip(client.post(`http://127.0.0.1:${port}/orders`, { body: HttpBody.text("{}") }))
        expect(attempts).toBe(3)
        expect(error._tag).toBe("RequestError")
        if (!HttpClientError.isHttpClientError(error) || error._tag !== "RequestError") throw error
        expect(error.reason).toBe("Transport")
        expect(causeCode(error.cause)).toBe("ECONNREFUSED")
      }).pipe(Effect.provide(layer)),
    5_000
  )
})

describe.each([
  {
    name: "node:http with a keep-alive agent of 2 sockets",
    layer: NodeHttpClient.layerWithoutAgent.pipe(
      Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, maxSockets: 2 }))
    )
  },
  {
    name: "undici with an Agent of 2 connections",
    layer: NodeHttpClient.layerUndiciWithoutDispatcher.pipe(
      Layer.provide(Layer.scoped(
        NodeHttpClient.Dispatcher,
        Effect.acquireRelease(
          Effect.sync(() => new Undici.Agent({ connections: 2 })),
          (agent) => Effect.promise(() => agent.destroy())
        )
      ))
    )
  }
])("no leaked connections through $name", ({ layer }) => {
  it.scopedLive(
    "100 calls that each get a 503 with a body, then 200, all succeed on at most 2 sockets",
    () =>
      Effect.gen(function*() {
        const filler = "x".repeat(256 * 1024)
        const server = yield* serve((a) =>
          a.nth === 0
            ? { status: 503, headers: { "retry-after": "0" }, body: `busy ${a.path} ${filler}` }
            : { status: 200, body: `item ${a.path}` }
        )
        const client = withStatusRetry(FAST)(yield* HttpClient.HttpClient)
        const started = Date.now()
        const bodies = yield* Effect.forEach(
          Array.from({ length: 100 }, (_, i) => i),
          (i) => Effect.flatMap(client.get(server.url(`/item/${i}`)), (r) => r.text),
          { concurrency: 10 }
        ).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "the calls hung" as const }))
        const elapsed = Date.now() - started
        expect(bodies).toEqual(Array.from({ length: 100 }, (_, i) => `item /item/${i}`))
        expect(server.arrivals.length).toBe(200)
        expect(new Set(server.arrivals.map((a) => a.socket)).size).toBeLessThanOrEqual(2)
        expect(server.connections()).toBeLessThanOrEqual(2)
        // A body left unread would hold its socket until the 1 s drain limit: 100 of them could not fit in this.
        expect(elapsed).toBeLessThan(5_000)
      }).pipe(Effect.provide(layer)),
    15_000
  )
})

describe("composition against a real server (node:http)", () => {
  const base = Effect.provide(HttpClient.HttpClient, NodeHttpClient.layer)
  /** A server that answers each path with its script, the last status repeating. */
  const scriptedServer = (statuses: ReadonlyArray<number>) =>
    serve((a) => ({ status: statuses[Math.min(a.nth, statuses.length - 1)]!, body: `try ${a.nth}` }))

  it.scopedLive.each([
    { order: "filterStatusOk before withStatusRetry", before: true },
    { order: "filterStatusOk after withStatusRetry", before: false }
  ])(
    "$order: 503, 503, 200 is three requests and a success; 404 is one request and NotFound",
    ({ before }) =>
      Effect.gen(function*() {
        const client = yield* base
        const composed = before
          ? withStatusRetry(FAST)(HttpClient.filterStatusOk(client))
          : HttpClient.filterStatusOk(withStatusRetry(FAST)(client))
        const flaky = yield* scriptedServer([503, 503, 200])
        const response = yield* composed.get(flaky.url("/flaky"))
        expect(yield* response.text).toBe("try 2")
        expect(flaky.arrivals.length).toBe(3)

        const missing = yield* scriptedServer([404])
        const notFound = yield* Effect.flip(composed.get(missing.url("/missing")))
        expect(missing.arrivals.length).toBe(1)
        expect(notFound).toMatchObject({
          _tag: "NotFound",
          status: 404,
          attempts: 1,
          stopReason: Option.some("permanent")
        })

        const down = yield* scriptedServer([503])
        const unavailable = yield* Effect.flip(composed.get(down.url("/down")))
        expect(down.arrivals.length).toBe(4)
        expect(unavailable).toMatchObject({
          _tag: "ServiceUnavailable",
          attempts: 4,
          stopReason: Option.some("attempts")
        })
      }),
    5_000
  )

  it.scopedLive(
    "filterStatusOk before withStatusRetry: a 3xx stays filterStatusOk's ResponseError, one request",
    () =>
      Effect.gen(function*() {
        const server = yield* serve(() => ({ status: 304 }))
        const composed = withStatusRetry(FAST)(HttpClient.filterStatusOk(yield* base))
        const error = yield* Effect.flip(composed.get(server.url("/cached")))
        expect(server.arrivals.length).toBe(1)
        expect(error).toMatchObject({ _tag: "ResponseError", reason: "StatusCode" })
      }),
    5_000
  )

  it.scopedLive(
    "withStatusRetry over withStatusRetry: the attempts configured last, not their product",
    () =>
      Effect.gen(function*() {
        const client = yield* base
        const down = yield* scriptedServer([503])
        // { maxAttempts: 2 } then the defaults (4 attempts): 4 requests, where nesting used to send 2 x 4 = 8.
        const widened = withStatusRetry(FAST)(withStatusRetry({ ...FAST, maxAttempts: 2 })(client))
        const error = yield* Effect.flip(widened.get(down.url("/widened")))
        expect(down.on("/widened").length).toBe(4)
        expect(error).toMatchObject({ _tag: "ServiceUnavailable", attempts: 4, stopReason: Option.some("attempts") })
        // The defaults then { maxAttempts: 2 }: 2 requests.
        const narrowed = withStatusRetry({ ...FAST, maxAttempts: 2 })(withStatusRetry(FAST)(client))
        const second = yield* Effect.flip(narrowed.get(down.url("/narrowed")))
        expect(down.on("/narrowed").length).toBe(2)
        expect(second).toMatchObject({ _tag: "ServiceUnavailable", attempts: 2, stopReason: Option.some("attempts") })
      }),
    5_000
  )

  it.scopedLive(
    "withOptions tightens one call, disabled sends it once; the calls around keep the client's settings",
    () =>
      Effect.gen(function*() {
        const client = withStatusRetry(FAST)(yield* base)
        const down = yield* scriptedServer([503])
        const tightened = yield* Effect.flip(
          client.get(down.url("/tightened")).pipe(StatusRetry.withOptions({ maxAttempts: 2 }))
        )
        expect(down.on("/tightened").length).toBe(2)
        expect(tightened).toMatchObject({
          _tag: "ServiceUnavailable",
          attempts: 2,
          stopReason: Option.some("attempts")
        })

        const once = yield* Effect.flip(client.get(down.url("/once")).pipe(StatusRetry.disabled))
        expect(down.on("/once").length).toBe(1)
        expect(once).toMatchObject({ _tag: "ServiceUnavailable", attempts: 1, stopReason: Option.some("attempts") })

        const limited = yield* serve(() => ({ status: 429, headers: { "retry-after": "1" } }))
        const throttled = yield* Effect.flip(client.get(limited.url("/limited")).pipe(StatusRetry.disabled))
        expect(limited.arrivals.length).toBe(1)
        expect(throttled).toMatchObject({ _tag: "TooManyRequests", attempts: 1 })

        // Inside a block with its own settings, an inner override adds to them.
        const block = Effect.flip(client.get(down.url("/block"))).pipe(
          StatusRetry.withOptions({ maxAttempts: 3 }),
          StatusRetry.withOptions({ timeout: "10 seconds" })
        )
        expect(yield* block).toMatchObject({ attempts: 3 })
        expect(down.on("/block").length).toBe(3)

        const plain = yield* Effect.flip(client.get(down.url("/plain")))
        expect(down.on("/plain").length).toBe(4)
        expect(plain).toMatchObject({ attempts: 4 })
      }),
    5_000
  )

  it("withOptions checks its options where it is written", () => {
    expect(() => StatusRetry.withOptions({ maxAttempts: 0 })).toThrow(/maxAttempts must be a whole number/)
    expect(() => StatusRetry.withOptions({ idempotencyKey: true } as never)).toThrow(/an option of the client/)
  })
})

describe("the body of a failure on its error (real server, node:http)", () => {
  const base = Effect.provide(HttpClient.HttpClient, NodeHttpClient.layer)
  const Problem = Schema.Struct({
    type: Schema.String,
    title: Schema.String,
    status: Schema.Number,
    errors: Schema.Array(Schema.Struct({ field: Schema.String, message: Schema.String }))
  })
  const problem = {
    type: "https://api.test/problems/validation",
    title: "Invalid order",
    status: 422,
    errors: [{ field: "quantity", message: "must be at least 1" }]
  }

  it.scopedLive(
    "a 422 application/problem+json decodes with Schema from the error's body; one request",
    () =>
      Effect.gen(function*() {
        const server = yield* serve(() => ({
          status: 422,
          headers: { "content-type": "application/problem+json" },
          body: JSON.stringify(problem)
        }))
        const client = withStatusRetry()(yield* base)
        const decoded = yield* client.post(server.url("/orders")).pipe(
          Effect.catchTag(
            "UnprocessableEntity",
            (e) => Effect.flatMap(e.body, Schema.decodeUnknown(Schema.parseJson(Problem)))
          )
        )
        expect(decoded).toStrictEqual(problem)
        expect(server.arrivals.length).toBe(1)
      }),
    5_000
  )

  it.scopedLive(
    "the body is cut at body.maxErrorSize, kept on the final error of a retried call, none at 0",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) => ({ status: 503, body: `${a.nth}:${"x".repeat(100_000)}` }))
        const client = yield* base
        const error = yield* Effect.flip(
          withStatusRetry({ ...FAST, body: { maxErrorSize: 10 } })(client).get(server.url("/a"))
        )
        expect(error).toMatchObject({ _tag: "ServiceUnavailable", attempts: 4, body: Option.some("3:xxxxxxxx") })
        const big = yield* Effect.flip(withStatusRetry({ ...FAST, maxAttempts: 1 })(client).get(server.url("/b")))
        if (!StatusError.isStatusError(big)) throw big
        expect(Option.map(big.body, (b) => b.length)).toStrictEqual(Option.some(64 * 1024))
        const none = yield* Effect.flip(
          withStatusRetry({ ...FAST, body: { maxErrorSize: 0 } })(client).get(server.url("/c"))
        )
        expect(none).toMatchObject({ attempts: 4, body: Option.none() })
        expect(server.arrivals.length).toBe(9)
      }),
    5_000
  )

  it.scopedLive(
    "a retried failure's body: on the error onRetry and a backoff Schedule are given; drained otherwise, one connection",
    () =>
      Effect.gen(function*() {
        const server = yield* serve((a) => ({ status: a.nth < 2 ? 503 : 404, body: `${a.path}:${a.nth}` }))
        const client = yield* base
        const told: Array<Option.Option<string>> = []
        const onRetry = (info: RetryPolicy.RetryInfo) =>
          Effect.sync(() => told.push(StatusError.isStatusError(info.error) ? info.error.body : Option.none()))
        const hooked = yield* Effect.flip(withStatusRetry({ ...FAST, onRetry })(client).get(server.url("/hook")))
        expect(told).toStrictEqual([Option.some("/hook:0"), Option.some("/hook:1")])
        expect(hooked).toMatchObject({ _tag: "NotFound", attempts: 3, body: Option.some("/hook:2") })
        const inputs: Array<Option.Option<string>> = []
        const backoff = Schedule.spaced("5 millis").pipe(
          Schedule.tapInput((error: unknown) =>
            Effect.sync(() => inputs.push(StatusError.isStatusError(error) ? error.body : Option.none()))
          )
        )
        yield* Effect.flip(withStatusRetry({ backoff })(client).get(server.url("/schedule")))
        expect(inputs).toStrictEqual([Option.some("/schedule:0"), Option.some("/schedule:1")])
        // One keep-alive socket: a 503's body left unread would hold it until the drain's limit of a second.
        const oneSocket = NodeHttpClient.layerWithoutAgent.pipe(
          Layer.provide(NodeHttpClient.makeAgentLayer({ keepAlive: true, maxSockets: 1 }))
        )
        const before = server.arrivals.length
        const started = Date.now()
        const plain = yield* Effect.flip(
          Effect.flatMap(HttpClient.HttpClient, (c) => withStatusRetry(FAST)(c).get(server.url("/plain"))).pipe(
            Effect.provide(oneSocket)
          )
        )
        expect(plain).toMatchObject({ _tag: "NotFound", attempts: 3, body: Option.some("/plain:2") })
        // The drained bodies of the two 503s gave the socket back at once: the three requests share it.
        const sockets = server.arrivals.slice(before).map((a) => a.socket)
        expect(sockets).toStrictEqual([sockets[0], sockets[0], sockets[0]])
        expect(Date.now() - started).toBeLessThan(500)
      }),
    5_000
  )

  it.scopedLive(
    "the body is in no log line the client writes, nor in the error's message",
    () =>
      Effect.gen(function*() {
        const secret = "body-secret-7f3a"
        const server = yield* serve((a) => ({ status: a.nth < 2 ? 503 : 404, body: `token=${secret}` }))
        const lines: Array<string> = []
        const logger = Logger.make(({ annotations, message }) => {
          lines.push(`${String(message)} ${JSON.stringify([...HashMap.toEntries(annotations)])}`)
        })
        const error = yield* Effect.flip(withStatusRetry(FAST)(yield* base).get(server.url("/x"))).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger)),
          Logger.withMinimumLogLevel(LogLevel.Debug)
        )
        expect(error).toMatchObject({ _tag: "NotFound", attempts: 3, body: Option.some(`token=${secret}`) })
        expect(lines.length).toBe(3)
        expect(lines.filter((line) => line.includes(secret))).toStrictEqual([])
        expect(error.message.includes(secret)).toBe(false)
      }),
    5_000
  )
})

describe("Retry-After on a redirect (real server, node:http)", () => {
  const base = Effect.provide(HttpClient.HttpClient, NodeHttpClient.layer)
  const maintenance = (retryAfter: string) =>
    serve((a) =>
      a.path === "/old"
        ? { status: 307, headers: { location: "/new", "retry-after": retryAfter }, body: "moved for a while" }
        : { status: 200, body: "new home" }
    )

  it.scopedLive(
    "307 + Location + Retry-After: 1 is followed no sooner than 1 s after it arrived",
    () =>
      Effect.gen(function*() {
        const server = yield* maintenance("1")
        const client = (yield* base).pipe(withStatusRetry(), HttpClient.followRedirects())
        const response = yield* client.get(server.url("/old"))
        expect(yield* response.text).toBe("new home")
        expect(server.arrivals.map((a) => a.path)).toStrictEqual(["/old", "/new"])
        const [redirect, followed] = server.arrivals
        const waited = followed!.arrivedAt - redirect!.respondedAt!
        expect(waited).toBeGreaterThanOrEqual(1000 - 5)
        expect(waited).toBeLessThan(1000 + 400)
      }),
    5_000
  )

  it.scopedLive(
    "a redirect's Retry-After past maxRetryAfter fails at once with the instant, not followed",
    () =>
      Effect.gen(function*() {
        const server = yield* maintenance("1800")
        const client = (yield* base).pipe(withStatusRetry(), HttpClient.followRedirects())
        const started = Date.now()
        const error = yield* Effect.flip(client.get(server.url("/old")))
        expect(Date.now() - started).toBeLessThan(500)
        expect(server.arrivals.map((a) => a.path)).toStrictEqual(["/old"])
        expect(error).toMatchObject({
          _tag: "RetryableStatus",
          status: 307,
          kind: "throttled",
          attempts: 1,
          stopReason: Option.some("retry-after-too-long")
        })
        if (!StatusError.isStatusError(error)) throw error
        expect(Option.map(error.retryAfter, (h) => Duration.toMillis(h.delay))).toStrictEqual(Option.some(1_800_000))
      }),
    5_000
  )

  it.scopedLive("a redirect without Retry-After is handed back at once", () =>
    Effect.gen(function*() {
      const server = yield* serve((a) =>
        a.path === "/old" ? { status: 302, headers: { location: "/new" } } : { status: 200, body: "here" }
      )
      const client = (yield* base).pipe(withStatusRetry(), HttpClient.followRedirects())
      const response = yield* client.get(server.url("/old"))
      expect(yield* response.text).toBe("here")
      const [redirect, followed] = server.arrivals
      expect(followed!.arrivedAt - redirect!.respondedAt!).toBeLessThan(200)
    }), 5_000)
})
