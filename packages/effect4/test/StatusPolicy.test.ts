import { describe, expect, it } from "vitest"
import { StatusPolicy } from "../src/index.js"

describe("StatusPolicy (Effect 4)", () => {
  it("retrying adds statuses as transient by default, or as throttled, moving them out of the other kind", () => {
    const policy = StatusPolicy.defaultPolicy.pipe(StatusPolicy.retrying([404, 425]))
    expect([404, 425, 429, 503, 400].map((status) => StatusPolicy.classify(policy, status))).toEqual([
      "transient",
      "transient",
      "throttled",
      "transient",
      "permanent"
    ])
    const throttled = StatusPolicy.retrying(policy, [503, 404], "throttled")
    expect([[...throttled.throttled], [...throttled.transient]]).toEqual([[429, 503, 404], [408, 500, 502, 504, 425]])
  })

  it("notRetrying makes statuses permanent, in both forms", () => {
    const piped = StatusPolicy.defaultPolicy.pipe(StatusPolicy.notRetrying([500, 429]))
    const direct = StatusPolicy.notRetrying(StatusPolicy.defaultPolicy, [500, 429])
    for (const policy of [piped, direct]) {
      expect([500, 429, 503].map((status) => StatusPolicy.classify(policy, status))).toEqual([
        "permanent",
        "permanent",
        "transient"
      ])
    }
    // The policy it came from is left as it was.
    expect(StatusPolicy.classify(StatusPolicy.defaultPolicy, 500)).toBe("transient")
  })
})
