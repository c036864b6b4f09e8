import { HttpDate, RetryAfter } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as properties from "./properties/parsers.mjs"

const NOW = Date.UTC(2015, 9, 21, 7, 28, 0)
const millis = (value: string, options?: RetryAfter.ParseOptions) =>
  Option.map(RetryAfter.parse(value, options), Duration.toMillis)

describe("RetryAfter.parse: delay-seconds", () => {
  it("takes whole seconds exactly, whitespace trimmed", () => {
    expect(millis("7")).toStrictEqual(Option.some(7000))
    expect(millis("0")).toStrictEqual(Option.some(0))
    expect(millis("  120 ")).toStrictEqual(Option.some(120_000))
    expect(millis("\t30\r\n")).toStrictEqual(Option.some(30_000))
    expect(millis("007")).toStrictEqual(Option.some(7000))
    expect(millis("999999999999")).toStrictEqual(Option.some(999_999_999_999_000))
  })

  it("rejects signs, fractions, units, exponents and empty values", () => {
    for (
      const value of ["-1", "+5", "1.5", "5s", "5 s", "", "   ", "1e3", "0x10", "7 7", "7,8", "Infinity", "NaN", "٣"]
    ) {
      expect(RetryAfter.parse(value, { now: NOW }), JSON.stringify(value)).toStrictEqual(Option.none())
    }
  })

  it("keeps a huge value exact instead of overflowing", () => {
    const huge = RetryAfter.parse("99999999999999999999")
    expect(Option.map(huge, Duration.unsafeToNanos)).toStrictEqual(
      Option.some(BigInt("99999999999999999999") * BigInt(1_000_000_000))
    )
    expect(Option.map(huge, Duration.isFinite)).toStrictEqual(Option.some(true))
    // Far more than any cap, so a comparison with one stops the retry.
    expect(Option.map(huge, Duration.greaterThan(Duration.days(365 * 1_000_000)))).toStrictEqual(Option.some(true))
    // The first value that switches to nanoseconds.
    expect(Option.map(RetryAfter.parse("1000000000000"), Duration.unsafeToNanos)).toStrictEqual(
      Option.some(BigInt(10) ** BigInt(21))
    )
  })

  it.prop("any non-negative integer of seconds is exact to the nanosecond", [
    fc.bigInt({ min: BigInt(0), max: BigInt(10) ** BigInt(40) }),
    fc.constantFrom("", " ", "\t", "  ")
  ], ([seconds, pad]) => {
    const parsed = RetryAfter.parse(`${pad}${seconds}${pad}`)
    expect(Option.map(parsed, Duration.unsafeToNanos)).toStrictEqual(Option.some(seconds * BigInt(1_000_000_000)))
  })
})

describe("RetryAfter.parse: HTTP-date", () => {
  const date = "Wed, 21 Oct 2015 07:28:00 GMT"

  it("measures the date against the response's Date header", () => {
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: NOW })).toStrictEqual(Option.some(2000))
    // The local clock is a minute ahead or behind: the Date header still wins.
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: NOW + 60_000 })).toStrictEqual(Option.some(2000))
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: NOW - 60_000 })).toStrictEqual(Option.some(2000))
  })

  it("reads all three formats", () => {
    expect(millis("Wednesday, 21-Oct-15 07:28:05 GMT", { date, now: NOW })).toStrictEqual(Option.some(5000))
    expect(millis("Wed Oct 21 07:28:09 2015", { date, now: NOW })).toStrictEqual(Option.some(9000))
    expect(millis("Wed Oct 21 08:28:00 2015", { date: HttpDate.formatAsctime(NOW), now: 0 })).toStrictEqual(
      Option.some(3_600_000)
    )
    expect(millis("Wed, 21 Oct 2015 07:28:03 GMT", { date: HttpDate.formatRfc850(NOW), now: NOW })).toStrictEqual(
      Option.some(3000)
    )
  })

  it("falls back to the local clock without a valid Date header", () => {
    expect(millis("Wed, 21 Oct 2015 07:28:05 GMT", { now: NOW })).toStrictEqual(Option.some(5000))
    expect(millis("Wed, 21 Oct 2015 07:28:05 GMT", { now: NOW, date: "yesterday" })).toStrictEqual(Option.some(5000))
    expect(millis("Wed, 21 Oct 2015 07:28:05 GMT", { now: NOW, date: "Sat, 31 Feb 2015 00:00:00 GMT" }))
      .toStrictEqual(Option.some(5000))
    expect(millis("Wed, 21 Oct 2015 07:28:05 GMT", { now: NOW, date: "" })).toStrictEqual(Option.some(5000))
  })

  it("gives zero for a date in the past", () => {
    expect(millis("Wed, 21 Oct 2015 07:27:00 GMT", { now: NOW })).toStrictEqual(Option.some(0))
    expect(millis("Sun, 06 Nov 1994 08:49:37 GMT", { date, now: NOW })).toStrictEqual(Option.some(0))
    expect(millis(date, { date, now: NOW })).toStrictEqual(Option.some(0))
  })

  it("rejects an impossible or malformed date", () => {
    expect(millis("Sat, 31 Feb 2015 07:28:00 GMT", { date, now: NOW })).toStrictEqual(Option.none())
    expect(millis("Wed, 21 Oct 2015 07:28:00", { date, now: NOW })).toStrictEqual(Option.none())
    expect(millis("2015-10-21T07:28:02Z", { date, now: NOW })).toStrictEqual(Option.none())
  })

  it.prop(
    "a date k seconds after the Date header waits k seconds, whatever the local clock says",
    [
      fc.date({ min: new Date(0), max: new Date("2999-12-31T00:00:00Z"), noInvalidDate: true })
        .map((d) => Math.floor(d.getTime() / 1000)),
      fc.integer({ min: 0, max: 10_000_000 }),
      fc.integer({ min: -86_400_000, max: 86_400_000 })
    ],
    ([server, k, skew]) => {
      const serverNow = server * 1000
      const options = { date: HttpDate.formatImfFixdate(serverNow), now: serverNow + skew }
      expect(millis(HttpDate.formatImfFixdate(serverNow + k * 1000), options)).toStrictEqual(Option.some(k * 1000))
      expect(millis(HttpDate.formatAsctime(serverNow + k * 1000), options)).toStrictEqual(Option.some(k * 1000))
    }
  )
})

describe("RetryAfter.parse: which clock an HTTP-date is measured against", () => {
  const date = "Wed, 21 Oct 2015 07:28:00 GMT"
  const at = Date.UTC(2015, 9, 21, 7, 28, 0)
  it("the Date header even when it agrees with the local clock (700 ms into the second): never early", () => {
    // The server may be 999 ms past its Date header: 2 s is the longest the wait can need to be.
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: at + 700 })).toStrictEqual(Option.some(2000))
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: at - 300 })).toStrictEqual(Option.some(2000))
  })
  it("the Date header when the local clock is a minute fast or a minute slow", () => {
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: at + 60_000 })).toStrictEqual(Option.some(2000))
    expect(millis("Wed, 21 Oct 2015 07:28:02 GMT", { date, now: at - 60_000 })).toStrictEqual(Option.some(2000))
  })

  describe("a server clock skewed against the local one never makes the retry early", () => {
    const formats = [
      ["IMF-fixdate", HttpDate.formatImfFixdate],
      ["RFC 850", HttpDate.formatRfc850],
      ["asctime", HttpDate.formatAsctime]
    ] as const
    const skews = [300, -300, 1400, -1400, 10_000, -10_000, 3_600_000, -3_600_000]
    for (const [name, format] of formats) {
      for (const skew of skews) {
        it(`${name}, server clock ${skew > 0 ? "+" : ""}${skew / 1000} s`, () => {
          for (const subsecond of [0, 1, 300, 700, 999]) {
            for (const transit of [0, 40, 900]) {
              // The server's clock when it wrote the response; the Date header truncates it to the second.
              const server = Date.UTC(2026, 2, 14, 9, 30, 15) + subsecond
              const instant = Math.floor(server / 1000) * 1000 + 2000
              // Received `transit` ms later, on a local clock `skew` ms behind the server's.
              const now = server + transit - skew
              const wait = millis(format(instant), { date: format(server), now })
              expect(wait).toStrictEqual(Option.some(instant - Math.floor(server / 1000) * 1000))
              // Coming back after the wait, the server's clock has reached the instant it gave.
              expect(server + transit + Option.getOrThrow(wait)).toBeGreaterThanOrEqual(instant)
            }
          }
        })
      }
    }
  })
})

describe("RetryAfter.parse: the leap second", () => {
  it("23:59:60 in each format is the next second", () => {
    const date = "Sat, 31 Dec 2016 23:59:58 GMT"
    const now = Date.UTC(2016, 11, 31, 23, 59, 58)
    for (
      const value of ["Sat, 31 Dec 2016 23:59:60 GMT", "Saturday, 31-Dec-16 23:59:60 GMT", "Sat Dec 31 23:59:60 2016"]
    ) {
      expect(millis(value, { date, now }), value).toStrictEqual(Option.some(2000))
    }
  })
})

describe("RetryAfter.parse never throws", () => {
  const noise = fc.stringOf(fc.constantFrom(..."0123456789 -+.,:GMTWedOct".split("")), { maxLength: 40 })

  it.prop("any string gives None or a finite, non-negative delay", [
    fc.oneof(fc.string(), fc.fullUnicodeString(), noise),
    fc.option(fc.oneof(fc.string(), noise), { nil: undefined }),
    fc.date({ noInvalidDate: true }).map((d) => d.getTime())
  ], ([value, date, now]) => {
    const result = RetryAfter.parse(value, { now, date })
    if (Option.isSome(result)) {
      const ms = Duration.toMillis(result.value)
      expect(Number.isNaN(ms)).toBe(false)
      expect(ms).toBeGreaterThanOrEqual(0)
    }
  }, { fastCheck: { numRuns: 300 } })
})

describe("RetryAfter.parse on generated header values (valid forms, near-valid garbage, huge numbers, leap seconds, skewed Date headers)", () => {
  it.prop(
    "never throws; a finite, non-negative delay; delay-seconds exact; an HTTP-date never shorter than itself minus the Date header",
    [properties.retryAfter.arbitrary],
    ([testCase]) => {
      expect(properties.retryAfter.check(testCase)).toStrictEqual([])
    },
    { fastCheck: { numRuns: 10_000 } }
  )
})
