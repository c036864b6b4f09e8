import { describe, expect, it } from "vitest"
import * as HttpDate from "../src/HttpDate.js"

const NOW = Date.UTC(2026, 0, 1)
const AT = Date.UTC(1994, 10, 6, 8, 49, 37)

describe("HttpDate", () => {
  it("parses the three forms of RFC 9110 to the same instant", () => {
    expect(HttpDate.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW)).toBe(AT)
    expect(HttpDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW)).toBe(AT)
    expect(HttpDate.parse("Sun Nov  6 08:49:37 1994", NOW)).toBe(AT)
  })

  it("is NaN for a malformed or impossible date", () => {
    expect(HttpDate.parse("tomorrow", NOW)).toBeNaN()
    expect(HttpDate.parse("Mon, 31 Feb 2026 00:00:00 GMT", NOW)).toBeNaN()
  })

  it("formats each form back", () => {
    expect(HttpDate.formatImfFixdate(AT)).toBe("Sun, 06 Nov 1994 08:49:37 GMT")
    expect(HttpDate.formatRfc850(AT)).toBe("Sunday, 06-Nov-94 08:49:37 GMT")
    expect(HttpDate.formatAsctime(AT)).toBe("Sun Nov  6 08:49:37 1994")
  })

  it("measures an instant against the response's Date, not the local clock", () => {
    expect(HttpDate.untilInstant(AT + 5_000, "Sun, 06 Nov 1994 08:49:37 GMT", NOW)).toBe(5_000)
  })
})
