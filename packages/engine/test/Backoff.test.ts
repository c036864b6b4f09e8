import { describe, expect, it } from "vitest"
import * as Backoff from "../src/Backoff.js"

describe("Backoff", () => {
  it("grows by the factor and stops at the cap", () => {
    expect([0, 1, 2, 3, 4].map((n) => Backoff.exponential(100, 1_000, 2, n))).toEqual([100, 200, 400, 800, 1_000])
    expect(Backoff.exponential(100, 1_000, 2, 10_000)).toBe(1_000)
  })

  it("spreads each strategy as documented", () => {
    expect(Backoff.delay("none", 100, 10_000, 2, 3, 0.5, 0)).toBe(800)
    expect(Backoff.delay("full", 100, 10_000, 2, 3, 0.25, 0)).toBe(200)
    expect(Backoff.delay("equal", 100, 10_000, 2, 3, 0.5, 0)).toBe(600)
    expect(Backoff.delay("proportional", 100, 10_000, 2, 3, 0.5, 0)).toBe(800)
    expect(Backoff.delay("decorrelated", 100, 10_000, 2, 3, 0.5, 1_000)).toBe(1_550)
  })
})
