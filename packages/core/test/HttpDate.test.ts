import { HttpDate } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as properties from "./properties/parsers.mjs"

/** Sun, 06 Nov 1994 08:49:37 GMT, the example of RFC 9110. */
const RFC_EXAMPLE = 784111777000
const NOW_2026 = Date.UTC(2026, 10, 23, 12, 0, 0)

/** The last whole second of year 9999. */
const MAX_SECONDS = Date.UTC(9999, 11, 31, 23, 59, 59) / 1000

const yearStart = (year: number): number => {
  const d = new Date(0)
  d.setUTCFullYear(year, 0, 1)
  return d.getTime()
}

describe("HttpDate.parse", () => {
  it("reads the three formats of RFC 9110 into the same instant", () => {
    expect(HttpDate.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW_2026)).toStrictEqual(Option.some(RFC_EXAMPLE))
    expect(HttpDate.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW_2026)).toStrictEqual(Option.some(RFC_EXAMPLE))
    expect(HttpDate.parse("Sun Nov  6 08:49:37 1994", NOW_2026)).toStrictEqual(Option.some(RFC_EXAMPLE))
  })

  it("ignores the case of names and surrounding whitespace", () => {
    expect(HttpDate.parse("sun, 06 nov 1994 08:49:37 gmt")).toStrictEqual(Option.some(RFC_EXAMPLE))
    expect(HttpDate.parse("SUNDAY, 06-NOV-94 08:49:37 GMT", NOW_2026)).toStrictEqual(Option.some(RFC_EXAMPLE))
    expect(HttpDate.parse("SUN NOV  6 08:49:37 1994")).toStrictEqual(Option.some(RFC_EXAMPLE))
    expect(HttpDate.parse("  Sun, 06 Nov 1994 08:49:37 GMT \t")).toStrictEqual(Option.some(RFC_EXAMPLE))
  })

  it("accepts a two-digit asctime day", () => {
    expect(HttpDate.parse("Wed Oct 21 07:28:00 2015")).toStrictEqual(Option.some(Date.UTC(2015, 9, 21, 7, 28, 0)))
  })

  it("accepts 29 February of a leap year only", () => {
    expect(HttpDate.parse("Tue, 29 Feb 2000 00:00:00 GMT")).toStrictEqual(Option.some(951782400000))
    expect(HttpDate.parse("Thu, 29 Feb 2024 23:59:59 GMT")).toStrictEqual(
      Option.some(Date.UTC(2024, 1, 29, 23, 59, 59))
    )
    expect(HttpDate.parse("Thu, 29 Feb 1900 00:00:00 GMT")).toStrictEqual(Option.none())
    expect(HttpDate.parse("Sun, 29 Feb 2015 00:00:00 GMT")).toStrictEqual(Option.none())
  })

  it("reads the leap second 23:59:60 in each format as the next second", () => {
    const newYear2017 = Option.some(Date.UTC(2017, 0, 1, 0, 0, 0))
    expect(HttpDate.parse("Sat, 31 Dec 2016 23:59:60 GMT", NOW_2026)).toStrictEqual(newYear2017)
    expect(HttpDate.parse("Saturday, 31-Dec-16 23:59:60 GMT", NOW_2026)).toStrictEqual(newYear2017)
    expect(HttpDate.parse("Sat Dec 31 23:59:60 2016", NOW_2026)).toStrictEqual(newYear2017)
    // Within a month and a year as well; the last second of year 9999 rolls into 10000.
    expect(HttpDate.parse("Tue, 30 Jun 2015 23:59:60 GMT")).toStrictEqual(Option.some(Date.UTC(2015, 6, 1)))
    expect(HttpDate.parse("Thu, 29 Feb 2024 23:59:60 GMT")).toStrictEqual(Option.some(Date.UTC(2024, 2, 1)))
    expect(HttpDate.parse("Fri, 31 Dec 9999 23:59:60 GMT")).toStrictEqual(Option.some(MAX_SECONDS * 1000 + 1000))
  })

  it("accepts :60 only as 23:59:60, and only on a day that exists", () => {
    for (
      const value of [
        "Sun, 06 Nov 1994 22:59:60 GMT",
        "Sun, 06 Nov 1994 23:58:60 GMT",
        "Sun, 06 Nov 1994 23:60:60 GMT",
        "Sun, 06 Nov 1994 24:59:60 GMT",
        "Sun, 06 Nov 1994 23:59:61 GMT",
        "Sun, 31 Nov 1994 23:59:60 GMT",
        "Sun, 29 Feb 2015 23:59:60 GMT",
        "Sunday, 31-Nov-94 23:59:60 GMT",
        "Sun Nov 31 23:59:60 1994"
      ]
    ) {
      expect(HttpDate.parse(value, NOW_2026), value).toStrictEqual(Option.none())
    }
  })

  it("rejects impossible dates and times instead of rolling them over", () => {
    for (
      const value of [
        "Tue, 31 Feb 2015 07:28:00 GMT",
        "Thu, 31 Apr 2015 07:28:00 GMT",
        "Sat, 00 Nov 1994 08:49:37 GMT",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:37 GMT",
        "Sun, 06 Nov 1994 08:49:60 GMT",
        "Tuesday, 31-Feb-15 07:28:00 GMT",
        "Tue Feb 31 07:28:00 2015"
      ]
    ) {
      expect(HttpDate.parse(value, NOW_2026), value).toStrictEqual(Option.none())
    }
  })

  it("rejects anything that is not one of the three formats", () => {
    for (
      const value of [
        "",
        "tomorrow",
        "0",
        "120",
        "2015-10-21T07:28:00Z",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Funday, 06 Nov 1994 08:49:37 GMT",
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun, 06 Nov 1994 08:49:37 GMT trailing"
      ]
    ) {
      expect(HttpDate.parse(value, NOW_2026), value).toStrictEqual(Option.none())
    }
  })

  it("resolves an RFC 850 two-digit year within 50 years of now", () => {
    const at = (year: number) => Option.some(Date.UTC(year, 0, 1, 0, 0, 0))
    // In 2026: up to 50 years ahead stays in this century, more goes back a century.
    expect(HttpDate.parse("Wednesday, 01-Jan-76 00:00:00 GMT", NOW_2026)).toStrictEqual(at(2076))
    expect(HttpDate.parse("Saturday, 01-Jan-77 00:00:00 GMT", NOW_2026)).toStrictEqual(at(1977))
    expect(HttpDate.parse("Saturday, 01-Jan-00 00:00:00 GMT", NOW_2026)).toStrictEqual(at(2000))
    // In 2080, 20 means 2120 rather than 2020, 60 years back.
    expect(HttpDate.parse("Wednesday, 01-Jan-20 00:00:00 GMT", Date.UTC(2080, 5, 1))).toStrictEqual(at(2120))
    // ...while 31 stays 2031, 49 years back, and 30 (50 years either way) goes ahead to 2130.
    expect(HttpDate.parse("Wednesday, 01-Jan-31 00:00:00 GMT", Date.UTC(2080, 5, 1))).toStrictEqual(at(2031))
    expect(HttpDate.parse("Wednesday, 01-Jan-30 00:00:00 GMT", Date.UTC(2080, 5, 1))).toStrictEqual(at(2130))
  })

  it.prop("never throws on any string, and Some is always a finite instant", [fc.string(), fc.fullUnicodeString()], (
    [ascii, unicode]
  ) => {
    for (const value of [ascii, unicode]) {
      const result = HttpDate.parse(value, NOW_2026)
      if (Option.isSome(result)) expect(Number.isFinite(result.value)).toBe(true)
    }
  })

  it.prop(
    "never throws on date-like noise",
    [fc.stringOf(fc.constantFrom(..."0123456789 ,:-GMTSunMonNovFebday".split("")), { maxLength: 40 }), fc.double()],
    ([value, now]) => {
      const result = HttpDate.parse(value, now)
      if (Option.isSome(result)) expect(Number.isFinite(result.value)).toBe(true)
    }
  )
})

describe("HttpDate formatting", () => {
  it("writes each format exactly", () => {
    expect(HttpDate.formatImfFixdate(RFC_EXAMPLE)).toBe("Sun, 06 Nov 1994 08:49:37 GMT")
    expect(HttpDate.formatRfc850(RFC_EXAMPLE)).toBe("Sunday, 06-Nov-94 08:49:37 GMT")
    expect(HttpDate.formatAsctime(RFC_EXAMPLE)).toBe("Sun Nov  6 08:49:37 1994")
    expect(HttpDate.formatImfFixdate(0)).toBe("Thu, 01 Jan 1970 00:00:00 GMT")
    expect(HttpDate.formatAsctime(Date.UTC(2015, 9, 21, 7, 28, 0))).toBe("Wed Oct 21 07:28:00 2015")
    expect(HttpDate.formatImfFixdate(MAX_SECONDS * 1000)).toBe("Fri, 31 Dec 9999 23:59:59 GMT")
  })

  it("drops milliseconds", () => {
    expect(HttpDate.formatImfFixdate(RFC_EXAMPLE + 999)).toBe("Sun, 06 Nov 1994 08:49:37 GMT")
  })

  const wholeSecond = fc.date({ min: new Date(0), max: new Date(MAX_SECONDS * 1000), noInvalidDate: true })
    .map((d) => Math.floor(d.getTime() / 1000) * 1000)

  it.prop("IMF-fixdate parses back to the instant, years 1970-9999", [wholeSecond], ([millis]) => {
    const text = HttpDate.formatImfFixdate(millis)
    expect(HttpDate.parse(text, NOW_2026)).toStrictEqual(Option.some(millis))
    expect(HttpDate.parse(text.toLowerCase(), NOW_2026)).toStrictEqual(Option.some(millis))
  }, { fastCheck: { numRuns: 500 } })

  it.prop("asctime parses back to the instant, years 1970-9999", [wholeSecond], ([millis]) => {
    const text = HttpDate.formatAsctime(millis)
    expect(HttpDate.parse(text, NOW_2026)).toStrictEqual(Option.some(millis))
    expect(HttpDate.parse(text.toUpperCase(), NOW_2026)).toStrictEqual(Option.some(millis))
  }, { fastCheck: { numRuns: 500 } })

  it.prop(
    "RFC 850 parses back to the instant within 49 years of now",
    [
      wholeSecond,
      fc.integer({ min: -49, max: 49 }),
      fc.integer({ min: 0, max: 366 * 86400 - 1 })
    ],
    ([now, yearOffset, second]) => {
      const year = new Date(now).getUTCFullYear() + yearOffset
      const start = yearStart(year)
      const millis = start + (second % ((yearStart(year + 1) - start) / 1000)) * 1000
      expect(new Date(millis).getUTCFullYear()).toBe(year)
      expect(HttpDate.parse(HttpDate.formatRfc850(millis), now)).toStrictEqual(Option.some(millis))
    },
    { fastCheck: { numRuns: 500 } }
  )
})

describe("HttpDate.parse on generated header values (valid forms, near-valid garbage, huge numbers, leap seconds, skewed Date headers)", () => {
  it.prop(
    "never throws; Some is a finite instant; a valid date in any format, case and padding, leap second included, is read exactly",
    [properties.httpDate.arbitrary],
    ([testCase]) => {
      expect(properties.httpDate.check(testCase)).toStrictEqual([])
    },
    { fastCheck: { numRuns: 10_000 } }
  )
})
