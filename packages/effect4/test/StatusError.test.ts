import { Duration, Option } from "effect"
import { describe, expect, it } from "vitest"
import { StatusError } from "../src/index.js"

describe("StatusError.withBody (Effect 4)", () => {
  it("a throttled error keeps its class, hint and headers with its body; withStop after it keeps the body", () => {
    const error = Option.getOrThrow(StatusError.fromResponse({
      status: 429,
      method: "GET",
      url: "https://api.test/items?token=abc",
      headers: { "retry-after": "7", authorization: "Bearer secret" },
      receivedAt: 1_000
    }))
    const withBody = error.pipe(StatusError.withBody(`{"detail":"slow down"}`))
    expect(withBody).toBeInstanceOf(StatusError.TooManyRequests)
    expect(Option.map(withBody.retryAfter, (hint) => [hint.at, Duration.toMillis(hint.delay)])).toStrictEqual(
      Option.some([8_000, 7_000])
    )
    expect([withBody.url, withBody.headers]).toStrictEqual([error.url, error.headers])
    expect(withBody.body).toStrictEqual(Option.some(`{"detail":"slow down"}`))
    const final = StatusError.withStop(withBody, 3, "retry-after-too-long")
    expect([final.body, final.attempts, final.stopReason, final.kind]).toStrictEqual([
      Option.some(`{"detail":"slow down"}`),
      3,
      Option.some("retry-after-too-long"),
      "throttled"
    ])
    expect(error.body).toStrictEqual(Option.none())
  })
})
