import fc from "fast-check"
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest"
import * as CoordinatorAnswer from "../src/CoordinatorAnswer.js"
import * as CoordinatorPlan from "../src/CoordinatorPlan.js"
import * as CoordinatorState from "../src/CoordinatorState.js"

const { Hold, Permit } = CoordinatorState

const request = CoordinatorPlan.requestOf("https://api.test/v1/items/42?page=2", "retry", undefined)

/** A duration reader of the cases: a number is milliseconds, `"<n> ms"` too; anything else is a problem. */
const checks: CoordinatorPlan.Checks = {
  millis: (problems, name, value, fallback) => {
    const input = value === undefined ? fallback : value
    const ms = typeof input === "number" ? input : typeof input === "string" ? Number(input.replace(/ ms$/, "")) : NaN
    if (!(ms >= 0)) {
      problems.push(`${name} must be a duration, got ${String(input)}`)
      return NaN
    }
    return ms
  },
  show: (u) => typeof u === "string" ? JSON.stringify(u) : String(u)
}

describe("CoordinatorPlan.requestOf", () => {
  it("reads the origin, the route and the partition (the origin and the key)", () => {
    expect(request).toStrictEqual({
      partition: "https://api.test",
      origin: "https://api.test",
      route: "/v1/items/:",
      attempt: "retry"
    })
    expect(CoordinatorPlan.requestOf("http://API.test:80/a", "first", "team-a")).toStrictEqual({
      partition: "http://api.test team-a",
      origin: "http://api.test",
      route: "/a",
      attempt: "first"
    })
  })
  it("reads a URL that differs from the last only by its last item as that request, and any other afresh", () => {
    const first = CoordinatorPlan.requestOf("https://api.test/v1/items/41", "first", undefined)
    expect(CoordinatorPlan.requestOf("https://api.test/v1/items/42", "first", undefined)).toBe(first)
    expect(CoordinatorPlan.requestOf("https://api.test/v1/items/42", "retry", undefined)).toStrictEqual({
      ...first,
      attempt: "retry"
    })
    expect(CoordinatorPlan.requestOf("https://api.test/v1/items/42", "first", "team-a").partition).toBe(
      "https://api.test team-a"
    )
    expect(CoordinatorPlan.requestOf("https://api.test/v1/items/search", "first", undefined).route).toBe(
      "/v1/items/search"
    )
    expect(CoordinatorPlan.requestOf("https://api.test/v1/items/42/tags", "first", undefined).route).toBe(
      "/v1/items/:/tags"
    )
  })

  it("gives every URL its own origin and route, whatever came before it", () => {
    const segment = fc.constantFrom("items", "42", "v1", "abc", "0f3e9a2b", "12ab", "", "x?q=1", "7#top", "users")
    const url = fc.tuple(
      fc.constantFrom("https://api.test", "https://API.test:443", "http://api.test:8080", "https://other.test"),
      fc.array(segment, { maxLength: 4 })
    ).map(([origin, path]) => `${origin}/${path.join("/")}`)
    const key = fc.constantFrom(undefined, "team-a")
    const attempt = fc.constantFrom<CoordinatorState.Attempt>("first", "retry", "retry-after-hint")
    fc.assert(
      fc.property(fc.array(fc.tuple(url, attempt, key), { minLength: 1, maxLength: 12 }), (calls) => {
        for (const [u, a, k] of calls) {
          const origin = CoordinatorAnswer.originOf(u)
          expect(CoordinatorPlan.requestOf(u, a, k)).toStrictEqual({
            partition: k === undefined ? origin : `${origin} ${k}`,
            origin,
            route: CoordinatorState.routeOf(u),
            attempt: a
          })
        }
      })
    )
  })
})

describe("CoordinatorPlan.plan", () => {
  it("goes with a permit", () => {
    const permit = new Permit("https://api.test", "b", "/v1/items/:", 0, false, false, 1_000, "retry", false)
    expect(CoordinatorPlan.plan(request, permit, 1_000, Infinity, 20, undefined)).toStrictEqual({
      _tag: "Go",
      permit
    })
  })

  it("stops a retry the budget refused, whatever the deadline", () => {
    expect(CoordinatorPlan.plan(request, Hold.refusedRetry(1_000), 1_000, Infinity, 20, undefined)).toStrictEqual({
      _tag: "Refused"
    })
  })

  it("stops a hold that ends past the deadline, saying until when; one with no instant ends at the deadline", () => {
    expect(CoordinatorPlan.plan(request, new Hold(5_001, "cooldown"), 1_000, 5_000, 20, undefined)).toStrictEqual({
      _tag: "Stop",
      until: 5_001,
      reason: "cooldown"
    })
    // The deadline is already past: even a hold until news stops, at the deadline.
    expect(CoordinatorPlan.plan(request, new Hold(undefined, "learning"), 5_000, 5_000, 20, undefined))
      .toStrictEqual({ _tag: "Stop", until: 5_000, reason: "learning" })
  })

  it("waits until the instant and a drawn part of the release spread, in the group of its route, attempt and reason", () => {
    const hold = new Hold(5_000, "cooldown")
    const step = CoordinatorPlan.plan(request, hold, 1_000, 5_000, 20, undefined)
    if (step._tag !== "Wait") throw new Error(step._tag)
    expect([step.waited, step.draws, step.changed]).toStrictEqual([
      { hold, group: "/v1/items/: retry cooldown" },
      true,
      true
    ])
    expect([step.millis(0), step.millis(0.5), step.millis(0.99)]).toStrictEqual([4_000, 4_010, 4_020])
  })

  it("waits a paced slot on time, with no spread", () => {
    const step = CoordinatorPlan.plan(request, Hold.paced(1_250), 1_000, Infinity, 20, undefined)
    if (step._tag !== "Wait") throw new Error(step._tag)
    expect([step.waited.group, step.millis(0.99)]).toStrictEqual(["/v1/items/: retry pacing", 250])
  })

  it("waits for news a second at most, and never past the deadline", () => {
    const hold = Hold.forAnswer(undefined, "learning")
    const long = CoordinatorPlan.plan(request, hold, 1_000, Infinity, 20, undefined)
    const short = CoordinatorPlan.plan(request, hold, 1_000, 1_300, 20, undefined)
    if (long._tag !== "Wait" || short._tag !== "Wait") throw new Error("no wait")
    expect([long.draws, long.millis(0), short.millis(0)]).toStrictEqual([false, 1_000, 300])
  })

  it("waits for an answer on its way past the deadline's instant, up to the deadline", () => {
    const step = CoordinatorPlan.plan(request, Hold.forAnswer(9_000, "learning"), 1_000, 2_500.5, 20, undefined)
    if (step._tag !== "Wait") throw new Error(step._tag)
    expect(step.millis(0)).toBe(1_501)
  })

  it("caps a wait at the longest timer", () => {
    const step = CoordinatorPlan.plan(request, new Hold(1e15, "cooldown"), 0, Infinity, 20, undefined)
    if (step._tag !== "Wait") throw new Error(step._tag)
    expect(step.millis(0)).toBe(2 ** 31 - 1)
  })

  it("says a hold is new only when its reason or instant changed", () => {
    const first = new Hold(5_000, "cooldown")
    const last: CoordinatorPlan.Waited = { hold: first, group: "/v1/items/: retry cooldown" }
    const changed = (hold: CoordinatorState.Hold) => {
      const step = CoordinatorPlan.plan(request, hold, 1_000, Infinity, 20, last)
      return step._tag === "Wait" && step.changed
    }
    expect([
      changed(new Hold(5_000, "cooldown")),
      changed(new Hold(6_000, "cooldown")),
      changed(new Hold(5_000, "pacing"))
    ]).toStrictEqual([false, true, true])
  })
})

describe("CoordinatorPlan messages", () => {
  it("writes instants as ISO dates, or words past any date", () => {
    expect([CoordinatorPlan.instant(1_000), CoordinatorPlan.instant(Infinity), CoordinatorPlan.instant(NaN)])
      .toStrictEqual(["1970-01-01T00:00:01.000Z", "a time past any date", "a time past any date"])
  })

  it("annotates a hold's log line with the origin, the reason, until when and how it ends", () => {
    expect(CoordinatorPlan.holdAnnotations("https://api.test", new Hold(1_000, "cooldown"))).toStrictEqual({
      origin: "https://api.test",
      reason: "cooldown",
      until: "1970-01-01T00:00:01.000Z",
      ends: "at the instant"
    })
    expect(CoordinatorPlan.holdAnnotations("https://api.test", Hold.forAnswer(undefined, "learning"))).toStrictEqual({
      origin: "https://api.test",
      reason: "learning",
      until: "an answer",
      ends: "on an answer"
    })
    expect(CoordinatorPlan.holdMessage("https://api.test", "pacing")).toBe(
      "holding a request to https://api.test: pacing"
    )
    expect(CoordinatorPlan.refusedMessage("https://api.test")).toBe(
      "a retry to https://api.test was refused by the retry budget"
    )
  })

  it("says why a call was held or refused", () => {
    expect(CoordinatorPlan.heldMessage("https://api.test", 1_000, "cooldown")).toBe(
      "requests to https://api.test are held until 1970-01-01T00:00:01.000Z (cooldown), past this call's deadline"
    )
    expect(CoordinatorPlan.heldMessage("https://api.test", 1_000, "retry-budget")).toBe(
      "a retry to https://api.test was refused: the server accepts too few requests (retry budget)"
    )
  })

  it("names the metrics and span events", () => {
    expect([CoordinatorPlan.HOLDS.name, CoordinatorPlan.RELEASES.name, CoordinatorPlan.REFUSALS.name]).toStrictEqual([
      "http_client_coordinator_holds_total",
      "http_client_coordinator_releases_total",
      "http_client_coordinator_retry_refusals_total"
    ])
    expect(CoordinatorPlan.EVENTS).toStrictEqual({
      hold: "coordinator.hold",
      release: "coordinator.release",
      refused: "coordinator.retry_refused"
    })
  })
})

describe("CoordinatorPlan.resolve", () => {
  it("reads the defaults", () => {
    expect(CoordinatorPlan.resolve({}, checks)).toStrictEqual({
      _tag: "Settings",
      settings: {
        releaseSpread: 20,
        key: undefined,
        config: {
          cautiousStart: true,
          limits: new Map(),
          maxSharedCooldown: 60_000,
          retryThrottle: { k: 2, minRequests: 20, window: 60_000 },
          ttl: 300_000,
          maxPartitions: 10_000
        }
      }
    })
  })

  it("reads limits by origin, burst defaulting to requests, backToBack to false, and turns the retry budget off", () => {
    const key = () => "k"
    const resolved = CoordinatorPlan.resolve({
      releaseSpread: 0,
      cautiousStart: false,
      limits: {
        "HTTPS://API.test:443": { requests: 10, window: "1000 ms" },
        "http://b.test": { requests: 4, window: 60, burst: 1, backToBack: true }
      },
      retryBudget: false,
      key,
      maxOrigins: 3
    }, checks)
    if (resolved._tag !== "Settings") throw new Error(resolved.problems.join("; "))
    expect(resolved.settings.key).toBe(key)
    expect(resolved.settings.releaseSpread).toBe(0)
    expect(resolved.settings.config.cautiousStart).toBe(false)
    expect(resolved.settings.config.retryThrottle).toBe(undefined)
    expect(resolved.settings.config.maxPartitions).toBe(3)
    expect([...resolved.settings.config.limits]).toStrictEqual([
      ["https://api.test", { requests: 10, window: 1_000, burst: 10, backToBack: false }],
      ["http://b.test", { requests: 4, window: 60, burst: 1, backToBack: true }]
    ])
  })

  it("lists every problem, in the order of the options", () => {
    expect(CoordinatorPlan.resolve({
      releaseSpread: -1,
      cautiousStart: "yes",
      limits: { "https://a.test": { requests: 2, window: 0, burst: 3, backToBack: "yes" } },
      retryBudget: { k: 0, minRequests: 1.5, window: 0 },
      maxSharedCooldown: "x ms",
      originTtl: -5,
      maxOrigins: 0,
      key: "k"
    }, checks)).toStrictEqual({
      _tag: "Problems",
      problems: [
        "releaseSpread must be a duration, got -1",
        "cautiousStart must be true or false, got \"yes\"",
        "limits[\"https://a.test\"].window must be more than zero",
        "limits[\"https://a.test\"].burst must be at most its requests, got 3",
        "limits[\"https://a.test\"].backToBack must be true or false, got \"yes\"",
        "retryBudget.k must be a number from 1 to 1000, got 0",
        "retryBudget.minRequests must be a whole number of at least 0, got 1.5",
        "retryBudget.window must be more than zero",
        "maxSharedCooldown must be a duration, got x ms",
        "originTtl must be a duration, got -5",
        "maxOrigins must be a whole number of at least 1, got 0",
        "key must be a function of the request, got \"k\""
      ]
    })
  })

  it("says what is not an object", () => {
    expect(CoordinatorPlan.resolve(null as never, checks)).toStrictEqual({
      _tag: "Problems",
      problems: ["options must be an object, got null"]
    })
    expect(CoordinatorPlan.resolve({ limits: 5, retryBudget: "on" }, checks)).toStrictEqual({
      _tag: "Problems",
      problems: [
        "limits must be an object keyed by origin, got 5",
        "retryBudget must be false or an object, got \"on\""
      ]
    })
  })
})

describe("CoordinatorPlan.Waiters", () => {
  it("keeps waiters by partition and group, in the order they came; takes the first of a group out", () => {
    const waiters = new CoordinatorPlan.Waiters<string>()
    waiters.add("p", "/a first learning", "w1")
    waiters.add("p", "/a first learning", "w2")
    waiters.add("p", "/b retry cooldown", "w3")
    waiters.add("q", "/a first learning", "w4")
    expect(waiters.groups("p")).toStrictEqual(["/a first learning", "/b retry cooldown"])
    expect(waiters.groups("none")).toStrictEqual([])
    expect(waiters.takeFirst("p", "/a first learning")).toBe("w1")
    expect(waiters.takeFirst("p", "/a first learning")).toBe("w2")
    expect(waiters.takeFirst("p", "/a first learning")).toBe(undefined)
    // The emptied group is dropped.
    expect(waiters.groups("p")).toStrictEqual(["/b retry cooldown"])
    expect(waiters.takeFirst("q", "/a first learning")).toBe("w4")
  })

  it("removes a waiter once, dropping an empty group and an empty partition", () => {
    const waiters = new CoordinatorPlan.Waiters<string>()
    waiters.add("p", "g", "w1")
    waiters.add("p", "h", "w2")
    expect([waiters.remove("p", "g", "w1"), waiters.remove("p", "g", "w1"), waiters.remove("p", "h", "other")])
      .toStrictEqual([true, false, false])
    expect(waiters.groups("p")).toStrictEqual(["h"])
    expect(waiters.remove("p", "h", "w2")).toBe(true)
    expect(waiters.groups("p")).toStrictEqual([])
    // A group made again after it was dropped starts empty.
    waiters.add("p", "h", "w3")
    expect([waiters.takeFirst("p", "h"), waiters.takeFirst("p", "h")]).toStrictEqual(["w3", undefined])
  })
})

describe("CoordinatorPlan.Waiters.park", () => {
  // (Fake timers: nothing here sleeps for real.)
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it("a parked call goes once: when woken, or when its time passes, whichever comes first; leaving never runs it", () => {
    const waiters = new CoordinatorPlan.Waiters<() => void>()
    const went: Array<string> = []
    const start = Date.now()
    waiters.park("p", "g", 100, () => went.push(`a at ${Date.now() - start}`))
    waiters.park("p", "g", 100, () => went.push(`b at ${Date.now() - start}`))
    const leaveC = waiters.park("p", "g", 50, () => went.push("c"))
    // Woken at 30 ms: the first of the group goes, then; its timer is gone with it.
    vi.advanceTimersByTime(30)
    waiters.takeFirst("p", "g")?.()
    // An interrupted call leaves its group, and its timer never runs it.
    leaveC()
    vi.advanceTimersByTime(70)
    expect(went).toStrictEqual(["a at 30", "b at 100"])
    expect(waiters.groups("p")).toStrictEqual([])
    expect(vi.getTimerCount()).toBe(0)
    vi.advanceTimersByTime(1000)
    expect(went).toHaveLength(2)
  })

  it("a call woken, then interrupted before it took its step, hands the wake on to the next of its group", () => {
    const waiters = new CoordinatorPlan.Waiters<() => void>()
    const went: Array<string> = []
    const start = Date.now()
    const leaveA = waiters.park("p", "g", 1000, () => went.push(`a at ${Date.now() - start}`))
    waiters.park("p", "g", 1000, () => went.push(`b at ${Date.now() - start}`))
    waiters.park("p", "g", 1000, () => went.push(`c at ${Date.now() - start}`))
    vi.advanceTimersByTime(20)
    waiters.takeFirst("p", "g")?.()
    // Its fiber was interrupted before it went on: the next call goes now, not at its own timer (1000 ms).
    leaveA()
    // Leaving again does nothing more.
    leaveA()
    vi.advanceTimersByTime(10)
    expect(went).toStrictEqual(["a at 20", "b at 20"])
    vi.advanceTimersByTime(970)
    expect(went).toStrictEqual(["a at 20", "b at 20", "c at 1000"])
    expect(vi.getTimerCount()).toBe(0)
  })

  it("a wait past what a timer holds ends at 2^31 - 1 ms; one that is not a positive number, at once", () => {
    const waiters = new CoordinatorPlan.Waiters<() => void>()
    const went: Array<string> = []
    const start = Date.now()
    waiters.park("p", "g", Infinity, () => went.push(`long at ${Date.now() - start}`))
    waiters.park("p", "g", Number.NaN, () => went.push(`NaN at ${Date.now() - start}`))
    waiters.park("p", "g", -5, () => went.push(`negative at ${Date.now() - start}`))
    vi.advanceTimersByTime(0)
    expect(went).toStrictEqual(["NaN at 0", "negative at 0"])
    vi.advanceTimersByTime(2 ** 31 - 2)
    expect(went).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(went).toStrictEqual(["NaN at 0", "negative at 0", `long at ${2 ** 31 - 1}`])
  })
})

describe("CoordinatorPlan.Timeline", () => {
  it("reads the wall clock once, then advances with the monotonic clock alone, to the fraction of a millisecond", () => {
    const timeline = new CoordinatorPlan.Timeline()
    const ms = (n: number) => BigInt(Math.round(n * 1_000_000))
    // The monotonic clock's origin is its own (here 5 s); the first reading puts it on the wall clock's scale.
    expect(timeline.now(1_700_000_000_000, ms(5_000))).toBe(1_700_000_000_000)
    // The wall clock set 8 s forward, then 12 s back: the timeline moves by what the monotonic clock measured.
    expect(timeline.now(1_700_000_009_000, ms(6_000))).toBe(1_700_000_001_000)
    expect(timeline.now(1_699_999_998_500, ms(6_500.25))).toBe(1_700_000_001_500.25)
  })
})
