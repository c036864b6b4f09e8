import { HttpDate, RateLimit } from "@effect-retry/core"
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as fc from "effect/FastCheck"
import * as Option from "effect/Option"
import * as properties from "./properties/parsers.mjs"

/** A reading as plain values, durations in milliseconds. */
const read = (headers: RateLimit.Headers, now = 0) =>
  Option.map(RateLimit.parse(headers, now), (info) => ({
    source: info.source,
    remaining: info.remaining,
    resetAfter: Duration.toMillis(info.resetAfter),
    limit: info.limit,
    window: Option.map(info.window, Duration.toMillis)
  }))

describe("RateLimit.parse: the IETF RateLimit and RateLimit-Policy fields", () => {
  it("reads remaining and reset, with quota and window from the matching policy", () => {
    expect(read({ ratelimit: "\"default\";r=0;t=30", "ratelimit-policy": "\"default\";q=100;w=60" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 0,
        resetAfter: 30_000,
        limit: Option.some(100),
        window: Option.some(60_000)
      })
    )
  })

  it("without a policy field, limit and window are None", () => {
    expect(read({ ratelimit: "\"default\";r=50;t=30" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 50,
        resetAfter: 30_000,
        limit: Option.none(),
        window: Option.none()
      })
    )
  })

  it("a policy without a window gives a limit only", () => {
    expect(read({ ratelimit: "\"p\";r=1;t=5", "ratelimit-policy": "\"p\";q=10" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 1,
        resetAfter: 5000,
        limit: Option.some(10),
        window: Option.none()
      })
    )
  })

  it("a missing t means no wait", () => {
    expect(read({ ratelimit: "\"default\";r=0" })).toStrictEqual(
      Option.some({ source: "ratelimit", remaining: 0, resetAfter: 0, limit: Option.none(), window: Option.none() })
    )
  })

  it("with several policies, picks the most restrictive: fewest remaining, then longest reset", () => {
    const policies = "\"hour\";q=1000;w=3600, \"minute\";q=10;w=60, \"second\";q=2;w=1"
    expect(
      read({
        ratelimit: "\"hour\";r=900;t=3000, \"minute\";r=0;t=40, \"second\";r=0;t=1",
        "ratelimit-policy": policies
      })
    )
      .toStrictEqual(
        Option.some({
          source: "ratelimit",
          remaining: 0,
          resetAfter: 40_000,
          limit: Option.some(10),
          window: Option.some(60_000)
        })
      )
    expect(read({ ratelimit: "\"hour\";r=3;t=3000, \"minute\";r=5;t=40", "ratelimit-policy": policies })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 3,
        resetAfter: 3_000_000,
        limit: Option.some(1000),
        window: Option.some(3_600_000)
      })
    )
  })

  it("reads a policy named like a dictionary key", () => {
    expect(read({ ratelimit: "\"remaining\";r=0;t=5", "ratelimit-policy": "\"remaining\";q=7;w=9" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 0,
        resetAfter: 5000,
        limit: Option.some(7),
        window: Option.some(9000)
      })
    )
  })

  it("reads the dictionary form of earlier drafts", () => {
    expect(read({ ratelimit: "limit=100, remaining=0, reset=30" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 0,
        resetAfter: 30_000,
        limit: Option.some(100),
        window: Option.none()
      })
    )
  })

  it("ignores a malformed field", () => {
    for (
      const ratelimit of [
        "",
        ",",
        "\"default\";r=-1;t=30",
        "\"default\";r=1.5;t=30",
        "\"default\";r=abc;t=30",
        "\"default\";t=30",
        "\"default\";r=0;t=-3",
        "\"default;r=0;t=30",
        "\"default\";r=0;t=30, ",
        ";r=0;t=30",
        "\"default\";=1;r=0",
        "\"default\";r=99999999999999999999;t=1",
        "limit=100, remaining=x, reset=30",
        "limit=100, remaining=0"
      ]
    ) {
      expect(read({ ratelimit }), ratelimit).toStrictEqual(Option.none())
    }
  })

  it("requires lower-case keys and the rest of RFC 9651's syntax", () => {
    for (
      const ratelimit of [
        "\"p\";R=0;T=10",
        "\"p\";r=0;T=10",
        "Limit=20, remaining=0, reset=2",
        "limit=20, Remaining=0, reset=2",
        "\"p\" ;r=0;t=10",
        "\"p\";r=0;t=10,,\"q\";r=1",
        "\"p\";r=0;t=1000000000000000",
        "\"p\";r=0;t=1.5",
        "\"p\u00e9\";r=0;t=10",
        "(\"p\");r=0;t=10"
      ]
    ) {
      expect(read({ ratelimit }), ratelimit).toStrictEqual(Option.none())
    }
    // Spaces after a semicolon and around commas are allowed, and tokens serve as names.
    expect(Option.map(read({ ratelimit: "\"p\"; r=0; t=10 ,  q;r=1;t=1" }), (i) => [i.remaining, i.resetAfter]))
      .toStrictEqual(Option.some([0, 10_000]))
    expect(Option.map(read({ ratelimit: "\"a \\\"b\\\\\";r=0;t=3" }), (i) => i.resetAfter)).toStrictEqual(
      Option.some(3000)
    )
  })

  it("a policy with an upper-case key is malformed and gives no limit or window", () => {
    expect(read({ ratelimit: "\"p\";r=1;t=5", "ratelimit-policy": "\"p\";Q=10;W=60" })).toStrictEqual(
      Option.some({ source: "ratelimit", remaining: 1, resetAfter: 5000, limit: Option.none(), window: Option.none() })
    )
  })

  it("the dictionary form of drafts 6 and 7 takes its window from RateLimit-Policy", () => {
    expect(read({ ratelimit: "limit=20, remaining=0, reset=2", "ratelimit-policy": "20;w=2" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.some(2000)
      })
    )
    // Several policies: the one whose quota is the limit.
    expect(read({ ratelimit: "limit=100, remaining=3, reset=40", "ratelimit-policy": "10;w=1, 100;w=60" }))
      .toStrictEqual(
        Option.some({
          source: "ratelimit",
          remaining: 3,
          resetAfter: 40_000,
          limit: Option.some(100),
          window: Option.some(60_000)
        })
      )
    // Without a limit, the only policy gives it.
    expect(read({ ratelimit: "remaining=0, reset=2", "ratelimit-policy": "20;w=2" })).toStrictEqual(
      Option.some({
        source: "ratelimit",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.some(2000)
      })
    )
  })

  it("a malformed IETF field falls through to the older headers", () => {
    expect(read({ ratelimit: "\"default\";r=oops", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "9" }))
      .toStrictEqual(
        Option.some({
          source: "x-ratelimit-reset",
          remaining: 0,
          resetAfter: 9000,
          limit: Option.none(),
          window: Option.none()
        })
      )
  })

  it("the IETF field wins over the older headers", () => {
    expect(
      Option.map(
        read({ ratelimit: "\"d\";r=4;t=2", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "9" }),
        (i) => i.source
      )
    )
      .toStrictEqual(Option.some("ratelimit"))
  })
})

describe("RateLimit.parse: RateLimit-* and X-RateLimit-*", () => {
  it("reads the triplets, RateLimit-* first", () => {
    expect(read({ "ratelimit-limit": "60", "ratelimit-remaining": "0", "ratelimit-reset": "12" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 12_000,
        limit: Option.some(60),
        window: Option.none()
      })
    )
    expect(read({ "x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "12" })).toStrictEqual(
      Option.some({
        source: "x-ratelimit-reset",
        remaining: 0,
        resetAfter: 12_000,
        limit: Option.some(100),
        window: Option.none()
      })
    )
    expect(
      Option.map(
        read({
          "ratelimit-remaining": "1",
          "ratelimit-reset": "2",
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": "3"
        }),
        (i) => i.source
      )
    ).toStrictEqual(Option.some("ratelimit-reset"))
  })

  it("RateLimit-Policy in the form of drafts 6 and 7 gives the limit and window of the RateLimit-* triplet", () => {
    // As express-rate-limit and @fastify/rate-limit send it.
    const triplet = { "ratelimit-remaining": "0", "ratelimit-reset": "2" }
    expect(read({ ...triplet, "ratelimit-policy": "20;w=2", "ratelimit-limit": "20" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.some(2000)
      })
    )
    expect(read({ ...triplet, "ratelimit-policy": "20;w=2" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.some(2000)
      })
    )
    expect(read({ ...triplet, "ratelimit-policy": "10;w=1, 20;w=60", "ratelimit-limit": "20" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.some(60_000)
      })
    )
    // Several policies and no limit to match: neither is guessed.
    expect(read({ ...triplet, "ratelimit-policy": "10;w=1, 20;w=60" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.none(),
        window: Option.none()
      })
    )
    // A malformed policy is ignored; the triplet stands.
    expect(read({ ...triplet, "ratelimit-policy": "20;W=2", "ratelimit-limit": "20" })).toStrictEqual(
      Option.some({
        source: "ratelimit-reset",
        remaining: 0,
        resetAfter: 2000,
        limit: Option.some(20),
        window: Option.none()
      })
    )
    // X-RateLimit-* does not take RateLimit-Policy.
    expect(read({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "2", "ratelimit-policy": "20;w=2" }))
      .toStrictEqual(
        Option.some({
          source: "x-ratelimit-reset",
          remaining: 0,
          resetAfter: 2000,
          limit: Option.none(),
          window: Option.none()
        })
      )
  })

  it("Discord's X-RateLimit-Reset-After, fractional seconds, wins over X-RateLimit-Reset", () => {
    const discord = {
      "x-ratelimit-limit": "5",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "1470173023.123",
      "x-ratelimit-reset-after": "1.234",
      "x-ratelimit-bucket": "abcd1234"
    }
    expect(read(discord, Date.UTC(2026, 0, 1))).toStrictEqual(
      Option.some({
        source: "x-ratelimit-reset",
        remaining: 0,
        resetAfter: 1234,
        limit: Option.some(5),
        window: Option.none()
      })
    )
    const { "x-ratelimit-reset": _, ...afterOnly } = discord
    expect(Option.map(read(afterOnly), (i) => i.resetAfter)).toStrictEqual(Option.some(1234))
    // Malformed, it is skipped for X-RateLimit-Reset (here a past Unix time: no wait).
    expect(
      Option.map(read({ ...discord, "x-ratelimit-reset-after": "soon" }, Date.UTC(2026, 0, 1)), (i) => i.resetAfter)
    )
      .toStrictEqual(Option.some(0))
    // A fraction of a millisecond is rounded up, never down.
    expect(Option.map(read({ ...afterOnly, "x-ratelimit-reset-after": "0.0145" }), (i) => i.resetAfter)).toStrictEqual(
      Option.some(15)
    )
  })

  it("a remaining count other than zero is read as it is", () => {
    expect(read({ "x-ratelimit-remaining": "42", "x-ratelimit-reset": "30" })).toStrictEqual(
      Option.some({
        source: "x-ratelimit-reset",
        remaining: 42,
        resetAfter: 30_000,
        limit: Option.none(),
        window: Option.none()
      })
    )
  })

  const server = 1_700_000_000_000
  const date = HttpDate.formatImfFixdate(server)
  /** The reset of an X-RateLimit-* triplet, with a Date header when given one. */
  const reset = (value: string, now: number, headerDate?: string) =>
    Option.map(
      read({
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset": value,
        ...(headerDate === undefined ? {} : { date: headerDate })
      }, now),
      (i) => i.resetAfter
    )

  it("a reset below 10^9 is a delay in seconds; from 10^9 on, a Unix time against the Date header", () => {
    expect(reset("30", 0)).toStrictEqual(Option.some(30_000))
    expect(reset("30", server, date)).toStrictEqual(Option.some(30_000))
    expect(reset("999999999", 0)).toStrictEqual(Option.some(999_999_999_000))
    // Unix time, measured against the server's Date header while the local clock is a minute off either way.
    expect(reset("1700000030", server + 60_000, date)).toStrictEqual(Option.some(30_000))
    expect(reset("1700000030", server - 60_000, date)).toStrictEqual(Option.some(30_000))
    // No Date header, or a malformed one: against the local clock.
    expect(reset("1700000030", server + 10_000)).toStrictEqual(Option.some(20_000))
    expect(reset("1700000030", server + 10_000, "not a date")).toStrictEqual(Option.some(20_000))
    // A reset in the past means no wait.
    expect(reset("1700000000", server + 5_000)).toStrictEqual(Option.some(0))
    expect(reset("1000000000", server, date)).toStrictEqual(Option.some(0))
  })

  it("from 10^12 on, a reset is a Unix time in milliseconds", () => {
    expect(reset("1700000030000", server + 60_000, date)).toStrictEqual(Option.some(30_000))
    expect(reset("1700000001500", server - 60_000, date)).toStrictEqual(Option.some(1500))
    expect(reset("1700000001500", server + 500)).toStrictEqual(Option.some(1000))
    expect(reset("1000000000000", server, date)).toStrictEqual(Option.some(0))
    // Just below, a Unix time in seconds: the year 33658.
    expect(reset("999999999999", server, date)).toStrictEqual(Option.some(999_999_999_999_000 - server))
    // Absurd values stay finite.
    expect(reset("9".repeat(300), server, date)).toStrictEqual(Option.some(Number("9".repeat(300)) - server))
  })

  describe("an epoch reset with a server clock skewed against the local one never makes the retry early", () => {
    const skews = [300, -300, 1400, -1400, 10_000, -10_000, 3_600_000, -3_600_000]
    const forms = [["epoch seconds", 1000], ["epoch milliseconds", 1]] as const
    for (const prefix of ["ratelimit", "x-ratelimit"] as const) {
      for (const [form, unit] of forms) {
        for (const skew of skews) {
          it(`${prefix}-reset in ${form}, server clock ${skew > 0 ? "+" : ""}${skew / 1000} s`, () => {
            for (const subsecond of [0, 1, 300, 700, 999]) {
              for (const transit of [0, 40, 900]) {
                const server = Date.UTC(2026, 2, 14, 9, 30, 15) + subsecond
                const date = Math.floor(server / 1000) * 1000
                // An instant in milliseconds may fall anywhere in a second.
                const instant = date + 5000 + (unit === 1 ? 123 : 0)
                const now = server + transit - skew
                const reading = read({
                  [`${prefix}-remaining`]: "0",
                  [`${prefix}-reset`]: String(instant / unit),
                  date: HttpDate.formatImfFixdate(server)
                }, now)
                const wait = Option.map(reading, (i) => i.resetAfter)
                expect(wait).toStrictEqual(Option.some(instant - date))
                expect(server + transit + Option.getOrThrow(wait)).toBeGreaterThanOrEqual(instant)
              }
            }
          })
        }
      }
    }
  })

  it("ignores incomplete or malformed triplets", () => {
    for (
      const headers of [
        { "x-ratelimit-remaining": "0" },
        { "x-ratelimit-reset": "30" },
        { "x-ratelimit-remaining": "-1", "x-ratelimit-reset": "30" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "-30" },
        { "x-ratelimit-remaining": "none", "x-ratelimit-reset": "30" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30s" },
        { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "" }
      ]
    ) {
      expect(read(headers), JSON.stringify(headers)).toStrictEqual(Option.none())
    }
    expect(read({})).toStrictEqual(Option.none())
  })

  it("ignores a malformed limit", () => {
    expect(
      Option.flatMap(
        read({ "x-ratelimit-limit": "many", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" }),
        (i) => i.limit
      )
    )
      .toStrictEqual(Option.none())
  })
})

describe("RateLimit buckets", () => {
  const bucket = (headers: RateLimit.Headers) => Option.flatMap(RateLimit.parse(headers, 0), (i) => i.bucket)

  it("GitHub's X-RateLimit-Resource and Discord's X-RateLimit-Bucket", () => {
    const github = { "x-ratelimit-resource": "search", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60" }
    expect(bucket(github)).toStrictEqual(Option.some("search"))
    expect(RateLimit.bucketOf(github)).toStrictEqual(Option.some("search"))
    const discord = {
      "x-ratelimit-bucket": " 41f9cd5d28af77da04563bcb1d67fdfd ",
      "x-ratelimit-remaining": "1",
      "x-ratelimit-reset-after": "0.5"
    }
    expect(bucket(discord)).toStrictEqual(Option.some("41f9cd5d28af77da04563bcb1d67fdfd"))
    expect(RateLimit.bucketOf({ "x-ratelimit-bucket": "" })).toStrictEqual(Option.none())
  })

  it("the chosen IETF policy's name, with its partition key when there is one", () => {
    expect(bucket({ ratelimit: "\"default\";r=0;t=30" })).toStrictEqual(Option.some("default"))
    expect(bucket({ ratelimit: "\"hour\";r=900;t=3000, \"minute\";r=0;t=40;pk=:dXNlcjE=:" })).toStrictEqual(
      Option.some("minute;pk=:dXNlcjE=:")
    )
    // The partition key of the matching policy when the RateLimit item has none.
    expect(bucket({ ratelimit: "\"p\";r=2;t=5", "ratelimit-policy": "\"p\";q=10;w=60;pk=:YWJj:" })).toStrictEqual(
      Option.some("p;pk=:YWJj:")
    )
    // The IETF fields win over the other headers.
    expect(bucket({ ratelimit: "\"p\";r=2;t=5", "x-ratelimit-resource": "core" })).toStrictEqual(Option.some("p"))
  })

  it("bucketOf reads a response without a remaining count or a reset", () => {
    expect(RateLimit.bucketOf({ "x-ratelimit-resource": "graphql" })).toStrictEqual(Option.some("graphql"))
    expect(RateLimit.bucketOf({ "retry-after": "3", "x-ratelimit-bucket": "b1" })).toStrictEqual(Option.some("b1"))
    expect(RateLimit.parse({ "x-ratelimit-resource": "graphql" })).toStrictEqual(Option.none())
    expect(RateLimit.bucketOf({})).toStrictEqual(Option.none())
    // A malformed IETF field names nothing; the other headers still can.
    expect(RateLimit.bucketOf({ ratelimit: "\"p\";R=0", "x-ratelimit-resource": "core" })).toStrictEqual(
      Option.some("core")
    )
    expect(RateLimit.bucketOf({ ratelimit: "limit=1, remaining=0, reset=1" })).toStrictEqual(Option.none())
  })
})

describe("RateLimit.parse never throws", () => {
  const noise = fc.oneof(
    fc.string(),
    fc.stringOf(fc.constantFrom(..."0123456789 -.;=,\"rtqwdefault".split("")), { maxLength: 32 })
  )
  const count = fc.oneof(
    fc.nat({ max: 1000 }).map(String),
    fc.constantFrom("0", "0", "1.5", "-1", "", "1700000030", "999999999", "1000000000"),
    fc.bigInt({ min: BigInt(0), max: BigInt(10) ** BigInt(320) }).map(String)
  )
  const field = fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 100 }), fc.nat({ max: 3 })).map(([r, t, n]) =>
    Array.from({ length: n + 1 }, (_, i) => `"p${i}";r=${(r + i) % 4};t=${t * (i + 1)}`).join(", ")
  )
  const dictionary = fc.tuple(fc.nat(), fc.nat(), fc.nat()).map(([l, r, t]) => `limit=${l}, remaining=${r}, reset=${t}`)
  const policy = fc.tuple(fc.nat({ max: 3 }), fc.nat(), fc.nat()).map(([i, q, w]) => `"p${i}";q=${q};w=${w}`)
  const header = (specific: fc.Arbitrary<string>) =>
    fc.oneof({ arbitrary: specific, weight: 4 }, { arbitrary: noise, weight: 1 })
  const headers = fc.record({
    date: header(fc.date({ noInvalidDate: true }).map((d) => HttpDate.formatImfFixdate(d.getTime()))),
    ratelimit: header(fc.oneof(field, dictionary)),
    "ratelimit-policy": header(policy),
    "ratelimit-limit": header(count),
    "ratelimit-remaining": header(count),
    "ratelimit-reset": header(count),
    "x-ratelimit-limit": header(count),
    "x-ratelimit-remaining": header(count),
    "x-ratelimit-reset": header(count)
  }, { requiredKeys: [] })

  it.prop("any header record gives None or a reading with whole, non-negative counts and delays", [
    headers,
    fc.date({ noInvalidDate: true }).map((d) => d.getTime())
  ], ([record, now]) => {
    const info = RateLimit.parse(record, now)
    if (Option.isSome(info)) {
      const { limit, remaining, resetAfter, window } = info.value
      expect(Number.isInteger(remaining) && remaining >= 0).toBe(true)
      const reset = Duration.toMillis(resetAfter)
      expect(Number.isNaN(reset)).toBe(false)
      expect(reset).toBeGreaterThanOrEqual(0)
      if (Option.isSome(limit)) expect(Number.isInteger(limit.value) && limit.value >= 0).toBe(true)
      if (Option.isSome(window)) expect(Duration.toMillis(window.value)).toBeGreaterThanOrEqual(0)
    }
  }, { fastCheck: { numRuns: 500 } })
})

describe("RateLimit.parse and bucketOf on generated header values (valid forms, near-valid garbage, huge numbers, leap seconds, skewed Date headers)", () => {
  it.prop(
    "never throw; whole counts; a finite reset never shorter than the header asks; parse and bucketOf agree on the bucket",
    [properties.rateLimit.arbitrary],
    ([testCase]) => {
      expect(properties.rateLimit.check(testCase)).toStrictEqual([])
    },
    { fastCheck: { numRuns: 10_000 } }
  )
})
