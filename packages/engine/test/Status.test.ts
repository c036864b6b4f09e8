import { describe, expect, it } from "vitest"
import * as Status from "../src/Status.js"

const defaults = Status.make(Status.DEFAULT_THROTTLED, Status.DEFAULT_TRANSIENT)

describe("Status", () => {
  it("retrying adds statuses as the kind asked, moving a status retried the other way", () => {
    const table = Status.retrying(Status.retrying(defaults, [404, 425], "transient"), [503], "throttled")
    expect([...table.throttled]).toEqual([429, 503])
    expect([...table.transient]).toEqual([408, 500, 502, 504, 404, 425])
    expect([404, 425, 503, 500].map((status) => Status.classify(table.table, status))).toEqual([
      "transient",
      "transient",
      "throttled",
      "transient"
    ])
  })

  it("notRetrying makes statuses permanent and leaves the others as they were", () => {
    const table = Status.notRetrying(defaults, [500, 429])
    expect([[...table.throttled], [...table.transient]]).toEqual([[], [408, 502, 503, 504]])
    expect([500, 429, 503].map((status) => Status.classify(table.table, status))).toEqual([
      "permanent",
      "permanent",
      "transient"
    ])
  })
})
