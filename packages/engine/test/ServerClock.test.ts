import fc from "fast-check"
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { describe, expect, it } from "vitest"
import * as ServerClock from "../src/ServerClock.js"

const date = (serverTime: number) => Math.floor(serverTime / 1000) * 1000

describe("ServerClock", () => {
  it("narrows with each answer: its low bound to one that came just after a tick of Date", () => {
    const clock = ServerClock.unknown()
    // The server's clock is ours. Sent at 900, answered at 905 (Date 0): offset -905.
    ServerClock.learn(clock, date(903) - 905, 900, 905)
    expect([clock.offsetLow, clock.offsetHigh]).toStrictEqual([-905, 100])
    // Sent at 1_998, answered at 2_004 (Date 2 s): the server's clock is at least ours less 4 ms.
    ServerClock.learn(clock, date(2_001) - 2_004, 1_998, 2_004)
    expect([clock.offsetLow, clock.offsetHigh]).toStrictEqual([-4, 100])
    // An instant measured against an answer whose Date dropped 600 ms (offset -600) may be read 596 ms sooner.
    expect(ServerClock.correction(clock, -600)).toBe(596)
  })

  it("starts again from an answer its bounds cannot hold (the server's clock was set)", () => {
    const clock = ServerClock.unknown()
    ServerClock.learn(clock, -4, 1_998, 2_004)
    ServerClock.learn(clock, -60_000, 3_000, 3_010)
    expect([clock.offsetLow, clock.offsetHigh]).toStrictEqual([-60_000, -58_990])
  })

  it("never reads the server's clock ahead of itself: an instant read sooner is never early", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -5_000, max: 5_000 }),
        fc.array(
          fc.record({ at: fc.integer({ min: 0, max: 100_000 }), there: fc.nat(50), handled: fc.nat(50) }),
          { minLength: 1, maxLength: 40 }
        ),
        (offset, answers) => {
          const clock = ServerClock.unknown()
          for (const { at, handled, there } of [...answers].sort((a, b) => a.at - b.at)) {
            // Sent at `at`, answered by the server `there` ms later (its clock), received `handled` ms after that.
            const answeredAt = at + there
            const receivedAt = answeredAt + handled
            const dateOffset = date(answeredAt + offset) - receivedAt
            const sooner = ServerClock.correction(clock, dateOffset)
            ServerClock.learn(clock, dateOffset, at, receivedAt)
            const soonerAfter = ServerClock.correction(clock, dateOffset)
            // Date + sooner is what the client takes the server's clock to have read when the answer arrived: never
            // past what it read then.
            const serverAtReceipt = receivedAt + offset
            expect(date(answeredAt + offset) + Math.max(sooner, soonerAfter)).toBeLessThanOrEqual(serverAtReceipt)
          }
        }
      )
    )
  })

  describe("Clocks", () => {
    /** An epoch instant (epoch resets below 10^9 s are delays): times below are milliseconds after it. */
    const B = 1_800_000_000_000
    const dated = (serverTime: number) => ({ date: new Date(date(B + serverTime)).toUTCString() })

    it("reads a success while the clock is not known to 10 ms, one in 10 ms, and starts again after a minute", () => {
      const clocks = new ServerClock.Clocks(2, 60_000)
      const o = "https://api.test"
      expect(clocks.wants(o, 200, B + 500)).toBe(true)
      expect(clocks.learn(o, dated(500), B + 495, B + 500)).toBe(0)
      // Within 10 ms of that read, another success of the same burst tells nothing new; a failure is always read.
      expect(clocks.wants(o, 200, B + 505)).toBe(false)
      expect(clocks.wants(o, 429, B + 505)).toBe(true)
      expect(clocks.wants(o, 200, B + 510)).toBe(true)
      // Just after a tick, then just before one: known to within 10 ms, a success is not read any more.
      clocks.learn(o, dated(1_003), B + 1_000, B + 1_003)
      clocks.learn(o, dated(1_995), B + 1_993, B + 1_995)
      expect(clocks.wants(o, 200, B + 2_100)).toBe(false)
      // A failure whose Date dropped 700 ms: its epoch reset (second 4) is read 697 ms sooner than by that Date
      // alone, at 4_003 rather than 4_700.
      const reset = { ...dated(2_700), "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(B / 1000 + 4) }
      expect(clocks.observe(o, 429, reset, B + 2_695, B + 2_700)).toBe(B + 4_003)
      // A success's hint, or a failure's delay, is not read sooner.
      expect(clocks.observe(o, 200, reset, B + 2_695, B + 2_700)).toBe(undefined)
      expect(clocks.observe(o, 429, { ...dated(2_700), "retry-after": "2" }, B + 2_695, B + 2_700)).toBe(undefined)
      // A minute after the bounds began, with nothing read since, they start again from the next answer.
      expect(clocks.wants(o, 200, B + 61_000)).toBe(true)
      expect(clocks.learn(o, dated(61_700), B + 61_695, B + 61_700)).toBe(0)
    })

    it("hands over to bounds learned since half-way: a burst of failures stamped with one Date reads them", () => {
      const clocks = new ServerClock.Clocks(2, 60_000)
      const o = "https://api.test"
      const retryAt = (serverTime: number, at: number) => ({
        ...dated(serverTime),
        "retry-after": new Date(B + at).toUTCString()
      })
      clocks.learn(o, dated(1_003), B + 1_000, B + 1_003)
      clocks.learn(o, dated(1_995), B + 1_993, B + 1_995)
      // Half-way through the minute, successes are read again (for the bounds that take over) until those are narrow.
      expect(clocks.wants(o, 200, B + 40_000)).toBe(true)
      clocks.learn(o, dated(40_003), B + 40_000, B + 40_003)
      clocks.learn(o, dated(40_995), B + 40_993, B + 40_995)
      expect(clocks.wants(o, 200, B + 41_100)).toBe(false)
      // A minute after the first bounds began, a 503 whose Date dropped 950 ms says come back at 64 s: read 947 ms
      // sooner by the bounds learned from 40 s on, at 64_003 (bounds started again from this answer alone would read
      // it at 64_950).
      expect(clocks.observe(o, 503, retryAt(61_950, 64_000), B + 61_945, B + 61_950)).toBe(B + 64_003)
      // Those bounds are read until a minute after they began: then the next answer starts them again.
      expect(clocks.observe(o, 503, retryAt(101_950, 104_000), B + 101_945, B + 101_950)).toBe(undefined)
    })

    it("never reads an instant early, whatever answers come when, at any offset", () => {
      fc.assert(
        fc.property(
          fc.integer({ min: -5_000, max: 5_000 }),
          fc.array(
            fc.record({
              gap: fc.integer({ min: 0, max: 20_000 }),
              there: fc.nat(50),
              handled: fc.nat(50),
              failed: fc.boolean(),
              wait: fc.integer({ min: 1, max: 5 })
            }),
            { minLength: 1, maxLength: 60 }
          ),
          (offset, answers) => {
            const clocks = new ServerClock.Clocks(2, 60_000)
            let at = 0
            for (const { failed, gap, handled, there, wait } of answers) {
              at += gap
              const answeredAt = at + there
              const receivedAt = answeredAt + handled
              const serverSecond = date(answeredAt + offset)
              // Come back at a whole second of the server's clock, `wait` seconds after its Date.
              const record = failed
                ? {
                  ...dated(answeredAt + offset),
                  "retry-after": new Date(B + serverSecond + wait * 1_000).toUTCString()
                }
                : dated(answeredAt + offset)
              const read = clocks.observe("https://api.test", failed ? 503 : 200, record, B + at, B + receivedAt)
              // The server's instant on our clock is that second less the offset: never read before it.
              if (read !== undefined) expect(read).toBeGreaterThanOrEqual(B + serverSecond + wait * 1_000 - offset)
            }
          }
        )
      )
    })

    it("forgets bounds a refusal shows wrong (a clock was set): the next instant is read by its Date alone", () => {
      const clocks = new ServerClock.Clocks()
      const o = "https://api.test"
      const retryAt = (serverTime: number) => ({
        ...dated(serverTime),
        "retry-after": new Date(B + 3_000).toUTCString()
      })
      // Both clocks are set back 400 ms while an answer is on its way: stamped Date 2 s by the server at its 2_010,
      // it arrives at 1_620 by the clock set back, and the bounds read the server 380 ms ahead of us, which it is not.
      clocks.learn(o, dated(2_010), B + 1_990, B + 1_620)
      // A 503 sent at 2_090, received at 2_100 (Date 2 s): come back at 3_000. Read 380 ms sooner than the server's
      // clock allows, at 2_620 (the bounds are wrong, and nothing has shown it yet).
      expect(clocks.observe(o, 503, retryAt(2_100), B + 2_090, B + 2_100)).toBe(B + 2_620)
      // The retry leaves at 2_620 and is refused, come back at 3_000: the bounds said the server's clock read 3_000
      // when it left. They are forgotten, and the instant is read by this answer's Date alone, 3_630 (not 2_620
      // again, and again, until the attempts run out).
      expect(clocks.observe(o, 503, retryAt(2_625), B + 2_620, B + 2_630)).toBe(undefined)
      // A refusal the bounds agree with changes nothing: sent at 2_090 with bounds right, its instant read sooner.
      const right = new ServerClock.Clocks()
      right.learn(o, dated(1_003), B + 1_000, B + 1_003)
      right.learn(o, dated(1_990), B + 1_985, B + 1_990)
      expect(right.observe(o, 503, retryAt(2_100), B + 2_090, B + 2_100)).toBe(B + 3_003)
    })

    it("keeps at most maxOrigins clocks, the oldest going first", () => {
      const clocks = new ServerClock.Clocks(2, 60_000)
      for (const o of ["https://a.test", "https://b.test", "https://c.test"]) {
        clocks.learn(o, dated(700), B + 695, B + 700)
        clocks.learn(o, dated(1_010), B + 1_005, B + 1_010)
      }
      // The first origin's clock was dropped: nothing is known of it.
      expect(clocks.learn("https://a.test", dated(1_600), B + 1_595, B + 1_600)).toBe(0)
      expect(clocks.learn("https://c.test", dated(1_600), B + 1_595, B + 1_600)).toBe(590)
    })

    it("keeps of an origin what its name needs, not the URL it was cut from", () => {
      // Measured after V8's own collector ran: 1,000 origins cut from 20 KB URLs must not hold them (20 MB).
      v8.setFlagsFromString("--expose-gc")
      const collect = vm.runInNewContext("gc") as () => void
      const held = (pad: string) => {
        const clocks = new ServerClock.Clocks(1_000, 60_000)
        collect()
        const before = process.memoryUsage().heapUsed
        for (let i = 0; i < 1_000; i++) {
          const url = `https://o${i}.example.test/items/${pad}`
          clocks.learn(url.slice(0, url.indexOf("/items")), dated(700), B + 695, B + 700)
        }
        collect()
        return process.memoryUsage().heapUsed - before
      }
      const short = held("")
      expect(held("x".repeat(20_000))).toBeLessThan(short + 1_000 * 1_000)
    })
  })
})
