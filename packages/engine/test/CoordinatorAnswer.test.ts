import { describe, expect, it } from "vitest"
import * as CoordinatorAnswer from "../src/CoordinatorAnswer.js"

const answer = (status: number, headers: Record<string, string> = {}): CoordinatorAnswer.Observed => ({
  status,
  headers: { date: "Thu, 01 Jan 1970 00:00:01 GMT", "content-type": "application/json", ...headers },
  receivedAt: 1_000
})

describe("CoordinatorAnswer.saysNothing", () => {
  it("is true of a client error with no hint, no rate-limit field and no bucket", () => {
    for (const status of [400, 401, 403, 404, 405, 409, 410, 422, 451]) {
      expect(CoordinatorAnswer.saysNothing(answer(status))).toBe(true)
    }
  })

  it("is false of any other status: a success, a redirect, a timeout, a throttle, a server error", () => {
    for (const status of [200, 204, 307, 408, 429, 500, 503]) {
      expect(CoordinatorAnswer.saysNothing(answer(status))).toBe(false)
    }
  })

  it("is false of a client error that speaks of limits (GitHub's 403 when its quota is spent, a hint, a bucket)", () => {
    expect(CoordinatorAnswer.saysNothing(answer(403, { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "61" })))
      .toBe(false)
    const quota = { "x-ratelimit-limit": "60", "x-ratelimit-remaining": "12", "x-ratelimit-reset": "61" }
    expect(CoordinatorAnswer.saysNothing(answer(403, quota))).toBe(false)
    expect(CoordinatorAnswer.saysNothing(answer(404, { "retry-after": "5" }))).toBe(false)
    expect(CoordinatorAnswer.saysNothing(answer(404, { "retry-after-ms": "250" }))).toBe(false)
    expect(CoordinatorAnswer.saysNothing(answer(404, { ratelimit: "\"default\";r=0;t=3" }))).toBe(false)
    expect(CoordinatorAnswer.saysNothing(answer(404, { "x-ratelimit-bucket": "abcd" }))).toBe(false)
  })
})
