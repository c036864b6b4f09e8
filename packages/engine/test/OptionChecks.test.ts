import { describe, expect, it } from "vitest"
import * as OptionChecks from "../src/OptionChecks.js"

describe("OptionChecks", () => {
  it("takes the fallback when absent and a good value as it is", () => {
    const problems: Array<string> = []
    expect(OptionChecks.wholeNumber(problems, "n", undefined, 4, 1, String)).toBe(4)
    expect(OptionChecks.wholeNumber(problems, "n", 7, 4, 1, String)).toBe(7)
    expect(OptionChecks.numberBetween(problems, "f", 0.5, 0.02, 0, 1, String)).toBe(0.5)
    expect(problems).toStrictEqual([])
  })

  it("says what was wrong, writing the value with the line's own show", () => {
    const problems: Array<string> = []
    expect(OptionChecks.wholeNumber(problems, "n", 0, 4, 1, String)).toBeNaN()
    expect(OptionChecks.wholeNumber(problems, "n", "3", 4, 1, JSON.stringify)).toBeNaN()
    expect(OptionChecks.numberBetween(problems, "f", NaN, 0.02, 0, 1, String)).toBeNaN()
    expect(problems).toStrictEqual([
      "n must be a whole number of at least 1, got 0",
      "n must be a whole number of at least 1, got \"3\"",
      "f must be a number from 0 to 1, got NaN"
    ])
  })
})
