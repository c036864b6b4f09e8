import { describe, expect, it } from "vitest"
import * as Headers from "../src/Headers.js"

describe("Headers", () => {
  it("joins a repeated header and reads a missing one as undefined", () => {
    expect(Headers.get({ via: ["a", "b"] }, "via")).toBe("a, b")
    expect(Headers.get({}, "via")).toBeUndefined()
  })

  it("reads non-negative decimals only", () => {
    expect(Headers.decimal(" 2.5 ")).toBe(2.5)
    expect([Headers.decimal("-1"), Headers.decimal("1e3"), Headers.decimal(undefined)]).toEqual([NaN, NaN, NaN])
  })
})
