import { describe, expect, it } from "vitest"
import * as RateLimit from "../src/RateLimit.js"

const NOW = Date.UTC(2026, 0, 1)

describe("RateLimit", () => {
  it("reads the IETF RateLimit field", () => {
    const info = RateLimit.parse({ ratelimit: "\"default\";r=0;t=30" }, NOW)
    expect([info?.source, info?.remaining, info?.resetMillis]).toEqual(["ratelimit", 0, 30_000])
  })

  it("reads an X-RateLimit-Reset given as epoch seconds", () => {
    const reset = String((NOW + 12_000) / 1000)
    const info = RateLimit.parse({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": reset }, NOW)
    expect([info?.remaining, info?.resetMillis]).toEqual([0, 12_000])
  })

  it("is undefined without a rate-limit field", () => {
    expect(RateLimit.parse({ "content-type": "text/plain" }, NOW)).toBeUndefined()
  })
})
