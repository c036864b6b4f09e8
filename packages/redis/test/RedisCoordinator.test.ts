/**
 * The Redis-backed coordinator against a real redis-server and a real rate-limited server on 127.0.0.1: the Lua
 * script's transitions one by one, two coordinators (two processes' worth) sharing one learned limit, and Redis
 * killed in the middle of a burst.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import { Coordinator, StatusError } from "@effect-retry/core"
import { withStatusRetry } from "@effect-retry/platform"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { describe, expect, it } from "@effect/vitest"
import type * as Duration from "effect/Duration"
import * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Supervisor from "effect/Supervisor"
import * as TestClock from "effect/TestClock"
import { Redis } from "ioredis"
import { RedisCoordinator } from "../src/index.js"
import * as Script from "../src/internal/script.js"
import * as RedisServer from "./utils/redis.js"
import { type LimitedServer, limited } from "./utils/server.js"

const connect = (url: string) =>
  Effect.acquireRelease(
    Effect.sync(() => new Redis(url, { maxRetriesPerRequest: 1 })),
    (redis) => Effect.sync(() => redis.disconnect())
  )

/**
 * One bucket's key on the shared Redis (of `origin`, under a prefix of its own), and the script run on it (EVAL: the
 * script's text, as written).
 */
const bucket = (name: string, origin = "origin") =>
  Effect.map(Effect.flatMap(RedisServer.shared, connect), (redis) => {
    const prefix = RedisServer.prefix(name)
    const key = `${prefix}:{${origin}|}`
    const run = (...args: ReadonlyArray<string | number>) =>
      Effect.promise(() => redis.eval(Script.SOURCE, 2, key, `${key}:fleet`, ...args)).pipe(Effect.map(Script.decode))
    return { prefix, key, redis, run }
  })

/** A bucket whose opener's answer opened a window of 4 with `left` left, ending in `resetMillis`. */
const opened = (name: string, left: number, resetMillis: number) =>
  Effect.gen(function*() {
    const b = yield* bucket(name)
    const opener = (yield* b.run("admit", 1000, 1000, "a"))!
    const reply = (yield* b.run("observe", 1000, opener.epoch, 1, -1, left, resetMillis, 4, 30000))!
    const epoch = Number(yield* Effect.promise(() => b.redis.hget(b.key, "ep")))
    return { ...b, opened: reply, epoch }
  })

describe("the bucket script", () => {
  it.scopedLive("an unknown bucket lets one opener go; its answer opens a window that admits what remains", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("script")
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      expect([opener.status, opener.opener]).toEqual([0, true])
      // The others wait for its answer, at most until the opener's time-out.
      const second = (yield* run("admit", 1000, 1000, "a"))!
      expect(second.status).toBe(3)
      expect(second.until).toBe(opener.now + 1000)
      // Its answer: 3 left of 4, the window ends in 800 ms.
      const opened = (yield* run("observe", 1000, opener.epoch, 1, -1, 3, 800, 4, 30000))!
      expect(opened.status).toBe(0)
      const state = yield* Effect.promise(() => redis.hgetall(key))
      expect(state["rem"]).toBe("3")
      expect(state["lim"]).toBe("4")
      expect(state["op"]).toBeUndefined()
      const epoch = Number(state["ep"])
      expect(epoch).toBeGreaterThan(opener.epoch)
      expect(Number(state["end"]) - opened.now).toBe(800)
      // Nothing outlives what it learned: the key expires a grace second after the window's end.
      const ttl = yield* Effect.promise(() => redis.pttl(key))
      expect(ttl).toBeGreaterThan(1500)
      expect(ttl).toBeLessThanOrEqual(1800)
      const admitted = yield* Effect.forEach([1, 2, 3, 4], () => run("admit", 1000, 1000, "a"))
      expect(admitted.map((r) => r!.status)).toEqual([0, 0, 0, 2])
      expect(admitted[3]!.until).toBe(Number(state["end"]))
      // An answer from before the window opened (an older epoch): its quota and reset are dropped.
      const stale = (yield* run("observe", 1000, opener.epoch, 0, -1, 0, 900, 4, 30000))!
      expect(stale.status).toBe(4)
      expect(yield* Effect.promise(() => redis.hmget(key, "rem", "end", "cd"))).toEqual(["0", state["end"], null])
      // A hint holds every worker until its instant, from the current window or an older one (an instant told).
      const held = (yield* run("observe", 1000, epoch, 0, 5000, -1, 0, -1, 30000))!
      const cooled = (yield* run("admit", 1000, 1000, "a"))!
      expect(cooled.status).toBe(1)
      expect(cooled.until).toBe(held.now + 5000)
      const later = (yield* run("observe", 1000, 0, 0, 8000, -1, 0, -1, 30000))!
      expect(later.status).toBe(4)
      expect((yield* run("admit", 1000, 1000, "a"))!.until).toBe(later.now + 8000)
    }))

  it.scopedLive("an opener whose answer names no limit frees the bucket for a while; a later limit paces it again", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("free")
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("observe", 1000, opener.epoch, 1, -1, -1, 0, -1, 30000)
      expect(yield* Effect.promise(() => redis.hgetall(key))).toEqual({ free: "1" })
      const ttl = yield* Effect.promise(() => redis.pttl(key))
      expect(ttl).toBeGreaterThan(29_000)
      expect(ttl).toBeLessThanOrEqual(31_000)
      const admitted = yield* Effect.forEach([1, 2, 3], () => run("admit", 1000, 1000, "a"))
      expect(admitted.map((r) => [r!.status, r!.opener])).toEqual([[0, false], [0, false], [0, false]])
      // An answer with a limit opens a window: the bucket is paced from then on.
      yield* run("observe", 1000, admitted[0]!.epoch, 0, -1, 0, 700, 5, 30000)
      const held = (yield* run("admit", 1000, 1000, "a"))!
      expect(held.status).toBe(2)
      expect(held.limit).toBe(5)
      expect(held.fleet).toBe(1)
    }))

  it.scopedLive("a window ends at the earliest reset its answers told, spent or not", () =>
    Effect.gen(function*() {
      const { epoch, key, opened: window, redis, run } = yield* opened("earliest", 3, 800)
      const end = window.now + 800
      // Resets are rounded up to the second: a later one, even the one that says the quota is spent, says no more.
      const spent = (yield* run("observe", 1000, epoch, 0, -1, 0, 1700 - (Date.now() - window.now), 4, 30000))!
      expect(yield* Effect.promise(() => redis.hmget(key, "rem", "end"))).toEqual(["0", String(end)])
      // An earlier one moves the end to it, and the held calls are told so.
      const earlier = (yield* run("observe", 1000, epoch, 0, -1, 0, 300, 4, 30000))!
      expect(Number(yield* Effect.promise(() => redis.hget(key, "end")))).toBe(earlier.now + 300)
      const held = (yield* run("admit", 1000, 1000, "a"))!
      expect([held.status, held.until]).toEqual([2, earlier.now + 300])
      expect(spent.status).toBe(0)
    }))

  it.scopedLive("an answer counted in a later server window moves the window's end to that window's", () =>
    Effect.gen(function*() {
      const { key, opened: window, redis, run } = yield* opened("spilled", 3, 100)
      const admitted = (yield* run("admit", 1000, 1000, "a", 2))!
      expect([admitted.status, admitted.granted]).toEqual([0, 2])
      // One of them was the first of its server window (it left 3 of 4, as the opener did): counted in the next
      // window, which ends by its reset, after this window's end; the next opener may go 200 ms before it.
      const spilled = (yield* run("observe", 1000, admitted.epoch, 0, -1, 3, 1000, 4, 30000, "", 1, 200, 1))!
      expect(yield* Effect.promise(() => redis.hmget(key, "end", "oe"))).toEqual([
        String(spilled.now + 1000),
        String(spilled.now + 800)
      ])
      // Another answer of that window tells a later reset (rounded up): the first one's stays.
      yield* run("observe", 1000, admitted.epoch, 0, -1, 2, 1500, 4, 30000, "", 1, 0, 1)
      expect(Number(yield* Effect.promise(() => redis.hget(key, "end")))).toBe(spilled.now + 1000)
      expect(yield* Effect.promise(() => redis.hget(key, "rem"))).toBe("1")
      const next = (yield* run("admit", 1000, 1000, "a"))!
      expect([next.status, next.until]).toEqual([0, spilled.now + 1000])
      expect(window.now + 100).toBeLessThan(spilled.now + 1000)
    }))

  it.scopedLive("a spent window's next opener may go the lead told before its end; the others follow its answer", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("lead")
      const first = (yield* run("admit", 1000, 1000, "a"))!
      // Its answer: 1 left of 2, the reset told in 400 ms, of which the last 300 ms may be the next window's.
      const window = (yield* run("observe", 1000, first.epoch, 1, -1, 1, 400, 2, 30000, "", 0, 300, 1))!
      const epoch = Number(yield* Effect.promise(() => redis.hget(key, "ep")))
      expect((yield* run("admit", 1000, 1000, "a"))!.status).toBe(0)
      const spent = (yield* run("admit", 1000, 1000, "a"))!
      expect([spent.status, spent.until, spent.opens]).toEqual([2, window.now + 400, window.now + 100])
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 120)))
      // From then on, one request goes before the end told; the others wait for its answer.
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      expect([opener.status, opener.opener, opener.epoch]).toEqual([0, true, epoch])
      expect((yield* run("admit", 1000, 1000, "a"))!.status).toBe(3)
      // Accepted with 1 left: the next window, opened before the reset told.
      const next = (yield* run("observe", 1000, opener.epoch, 1, -1, 1, 1000, 2, 30000, "", 0, 0, 1))!
      expect(Number(yield* Effect.promise(() => redis.hget(key, "ep")))).toBeGreaterThan(epoch)
      expect(yield* Effect.promise(() => redis.hmget(key, "rem", "end", "op"))).toEqual([
        "1",
        String(next.now + 1000),
        null
      ])
    }))

  it.scopedLive("a spent window's opener refused before the end told: the others wait for that end", () =>
    Effect.gen(function*() {
      const { epoch, key, opened: window, redis, run } = yield* opened("refused", 0, 1000)
      yield* Effect.promise(() => redis.hset(key, "oe", window.now))
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      expect([opener.status, opener.opener]).toEqual([0, true])
      // A 429 with its window's fields and no hint: no other request goes before the end (its reset, the earliest).
      const refused = (yield* run("observe", 1000, epoch, 1, -1, 0, 900, 4, 30000, "", 0, 0, 0))!
      expect(yield* Effect.promise(() => redis.hmget(key, "op", "oe", "ep"))).toEqual([null, null, String(epoch)])
      const held = (yield* run("admit", 1000, 1000, "a"))!
      expect([held.status, held.until, held.opens]).toEqual([2, refused.now + 900, refused.now + 900])
      expect(refused.now + 900).toBeLessThan(window.now + 1000)
    }))

  it.scopedLive("admissions asked for together get what the window has left, in one call", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("together")
      // Nobody knows the bucket: of five asked for at once, one goes (the opener), the others wait for its answer.
      const opener = (yield* run("admit", 1000, 1000, "a", 5))!
      expect([opener.status, opener.opener, opener.granted]).toEqual([0, true, 1])
      yield* run("observe", 1000, opener.epoch, 1, -1, 3, 800, 4, 30000)
      // Three left: five asked for get three, and the window's quota is spent.
      const five = (yield* run("admit", 1000, 1000, "a", 5))!
      expect([five.status, five.granted]).toEqual([0, 3])
      expect(yield* Effect.promise(() => redis.hget(key, "rem"))).toBe("0")
      const more = (yield* run("admit", 1000, 1000, "a", 2))!
      expect([more.status, more.granted]).toEqual([2, 0])
    }))

  it.scopedLive("a window opened, a bucket freed or an opener given up is published on the channel named", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("publish")
      const channel = `${key}:opened-test`
      const listener = yield* connect(yield* RedisServer.shared)
      const heard: Array<string> = []
      listener.on("message", (_: string, message: string) => heard.push(message))
      yield* Effect.promise(() => listener.subscribe(channel))
      const until = (count: number) =>
        Effect.promise(async () => {
          for (let i = 0; i < 100 && heard.length < count; i++) await new Promise((r) => setTimeout(r, 10))
        })
      // An opener given up: the next one may go.
      const first = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("release", 1000, first.now, channel)
      yield* until(1)
      expect(heard).toEqual([key])
      // The opener's answer opens the window.
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("observe", 1000, opener.epoch, 1, -1, 3, 800, 4, 30000, channel)
      yield* until(2)
      expect(heard).toEqual([key, key])
      // Answers inside the open window, and a release by a call that is no longer the opener, say nothing new.
      const inside = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("observe", 1000, inside.epoch, 0, -1, 0, 800, 4, 30000, channel)
      yield* run("release", 1000, opener.now, channel)
      // A marker published after them arrives after anything they would have published.
      yield* Effect.promise(() => redis.publish(channel, "marker"))
      yield* until(3)
      expect(heard).toEqual([key, key, "marker"])
    }))

  it.scopedLive("a told limit: the first admissions get its quota, no opener; the first answer moves the end a window after it", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("told")
      // Told 4 per 500 ms: of five asked for at once, four go in a window of their own, none waiting for an answer.
      const five = (yield* run("admit", 1000, 1000, "a", 5, 4, 500, 0))!
      expect([five.status, five.opener, five.granted, five.limit]).toEqual([0, false, 4, 4])
      expect([five.until, five.epoch]).toEqual([five.now + 500, five.now])
      const spent = (yield* run("admit", 1000, 1000, "a", 1, 4, 500, 0))!
      expect([spent.status, spent.until]).toEqual([2, five.now + 500])
      // The window's first answer (a told one: its length) moves its end to a window after it; a second does not.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 30)))
      const first = (yield* run("observe", 1000, five.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 500, 0))!
      const end = first.now + 500
      expect(yield* Effect.promise(() => redis.hmget(key, "end", "ta"))).toEqual([String(end), "1"])
      yield* run("observe", 1000, five.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 500, 0)
      expect(Number(yield* Effect.promise(() => redis.hget(key, "end")))).toBe(end)
      expect((yield* run("admit", 1000, 1000, "a", 1, 4, 500, 0))!.until).toBe(end)
      // After its end, the next window opens with the next admission, and is measured again from its first answer.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 20))))
      const next = (yield* run("admit", 1000, 1000, "a", 2, 4, 500, 0))!
      expect([next.status, next.granted, next.until]).toEqual([0, 2, next.now + 500])
      expect(next.epoch).toBeGreaterThan(five.epoch)
      expect(yield* Effect.promise(() => redis.hmget(key, "rem", "ta"))).toEqual(["2", null])
    }))

  it.scopedLive("a told limit back to back: windows after the first answered one follow it; a 429 measures again", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("told-back-to-back")
      const wait = (until: number) =>
        Effect.promise(() => new Promise((r) => setTimeout(r, Math.max(0, until - Date.now() + 20))))
      const first = (yield* run("admit", 1000, 1000, "a", 2, 2, 300, 1))!
      const answered = (yield* run("observe", 1000, first.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0))!
      yield* wait(answered.now + 300)
      // The first window's end was measured from its answer; the next follows it, a window from its first admission.
      const second = (yield* run("admit", 1000, 1000, "a", 2, 2, 300, 1))!
      expect([second.granted, second.until]).toEqual([2, second.now + 300])
      expect(yield* Effect.promise(() => redis.hget(key, "ta"))).toBe("1")
      // Its answers do not move its end.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 30)))
      yield* run("observe", 1000, second.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0)
      expect(Number(yield* Effect.promise(() => redis.hget(key, "end")))).toBe(second.now + 300)
      // A 429 within the quota: the next window is measured again from its first answer, whatever another process's
      // first answer of this window says after it.
      yield* run("observe", 1000, second.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 0, 300, 1)
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "tr"))).toEqual([null, "1"])
      yield* run("observe", 1000, second.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0)
      expect(yield* Effect.promise(() => redis.hget(key, "ta"))).toBeNull()
      yield* wait(Number(yield* Effect.promise(() => redis.hget(key, "end"))))
      const third = (yield* run("admit", 1000, 1000, "a", 1, 2, 300, 1))!
      expect(third.status).toBe(0)
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "tr"))).toEqual([null, null])
      // Its first answer measures it, once; the window after it follows again.
      const measured = (yield* run("observe", 1000, third.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0))!
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "end"))).toEqual(["1", String(measured.now + 300)])
      yield* wait(measured.now + 300)
      const fourth = (yield* run("admit", 1000, 1000, "a", 1, 2, 300, 1))!
      expect(yield* Effect.promise(() => redis.hget(key, "ta"))).toBe("1")
      // A 429 to a request of an older window, reported late, has the next window measured again too.
      yield* run("observe", 1000, third.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 0, 300, 1)
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "tr"))).toEqual([null, "1"])
      // This window keeps the end it was opened with (a window from its first admission).
      yield* run("observe", 1000, fourth.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0)
      expect(yield* Effect.promise(() => redis.hget(key, "end"))).toBe(String(fourth.now + 300))
      // The next one is measured from its first answer, once: another process's first answer does not move it again.
      yield* wait(fourth.now + 300)
      const fifth = (yield* run("admit", 1000, 1000, "a", 1, 2, 300, 1))!
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "tm", "tr"))).toEqual([null, null, null])
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 20)))
      const answer = (yield* run("observe", 1000, fifth.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0))!
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 20)))
      yield* run("observe", 1000, fifth.epoch, 0, -1, -1, 0, -1, 30000, "", 0, 0, 1, 300, 0)
      expect(yield* Effect.promise(() => redis.hmget(key, "ta", "end"))).toEqual(["1", String(answer.now + 300)])
    }))

  it.scopedLive("a told window opens with the server's limit once its answers said one", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("told-server-limit")
      // Told 4 per 200 ms; the server's answer says its limit is 2.
      const first = (yield* run("admit", 1000, 1000, "a", 4, 4, 200, 0))!
      expect(first.granted).toBe(4)
      yield* run("observe", 1000, first.epoch, 0, -1, 1, 1000, 2, 30000, "", 0, 0, 1, 200, 0)
      const end = Number(yield* Effect.promise(() => redis.hget(key, "end")))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 20))))
      const next = (yield* run("admit", 1000, 1000, "a", 4, 4, 200, 0))!
      expect([next.status, next.granted, next.limit]).toEqual([0, 2, 2])
    }))

  it.scopedLive("a limit guessed from an answer without one does not become a told window's quota", () =>
    Effect.gen(function*() {
      const { key, redis, run } = yield* bucket("told-guessed-limit")
      // An answer with none left and no limit, reported after the told window ended: it opens a window of its own,
      // its limit guessed as 1.
      const first = (yield* run("admit", 1000, 1000, "a", 4, 4, 100, 0))!
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, Math.max(0, first.now + 120 - Date.now()))))
      yield* run("observe", 1000, first.epoch, 0, -1, 0, 50, -1, 30000)
      expect(yield* Effect.promise(() => redis.hmget(key, "lim", "sl"))).toEqual(["1", null])
      const end = Number(yield* Effect.promise(() => redis.hget(key, "end")))
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, Math.max(0, end - Date.now() + 20))))
      const next = (yield* run("admit", 1000, 1000, "a", 4, 4, 100, 0))!
      expect([next.status, next.granted]).toEqual([0, 4])
    }))

  it.scopedLive("an opener that comes back without an answer lets the next one go at once", () =>
    Effect.gen(function*() {
      const { run } = yield* bucket("release")
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("release", 1000, opener.now)
      const next = (yield* run("admit", 1000, 1000, "a"))!
      expect([next.status, next.opener]).toEqual([0, true])
    }))
})

/** The status a call ended with; -1 for a call held past its timeout (`OriginHeld`), -2 for any other error. */
const get = (client: HttpClient.HttpClient.With<unknown>, url: string) =>
  client.get(url).pipe(
    Effect.map((r) => r.status),
    Effect.catchAll((e) =>
      Effect.succeed(StatusError.isStatusError(e) ? e.status : e instanceof Coordinator.OriginHeld ? -1 : -2)
    )
  )

/** One worker: its own coordinator (in memory, or on Redis), its own client, `calls` calls at once. */
const worker = (
  coordinator: Coordinator.Coordinator,
  server: LimitedServer,
  calls: number,
  timeout: Duration.DurationInput = "10 seconds"
) =>
  Effect.gen(function*() {
    const client = withStatusRetry({ timeout })(yield* HttpClient.HttpClient)
    return yield* Effect.forEach(
      Array.from({ length: calls }, (_, i) => i),
      (i) => get(client, server.url(`/items/${i}`)),
      { concurrency: "unbounded" }
    )
  }).pipe(Effect.provideService(Coordinator.Coordinator, coordinator), Effect.provide(NodeHttpClient.layerUndici))

/** The keys of the server's bucket: its hash, and the processes that asked for it lately. */
const bucketKeys = (prefix: string, server: LimitedServer) => {
  const key = `${prefix}:{${server.url("")}|}`
  return [key, `${key}:fleet`]
}

const LIMIT = 10
const PER_WORKER = 15

/** Two processes' coordinators on the shared Redis, under one prefix. */
const twoProcesses = (name: string) =>
  Effect.gen(function*() {
    const url = yield* RedisServer.shared
    const prefix = RedisServer.prefix(name)
    const a = yield* RedisCoordinator.make({ url, prefix })
    const b = yield* RedisCoordinator.make({ url, prefix })
    return { a, b }
  })

/** A request to api.example.com, as the coordinator sees it. */
const info = { method: "GET", url: "https://api.example.com/items/1", headers: {}, attempt: "first" } as const

/** A coordinator whose Redis was killed before it was made, and a rate-limited server. */
const withoutRedis = (name: string) =>
  Effect.gen(function*() {
    const redis = yield* RedisServer.own
    yield* redis.kill
    const server = yield* limited({ limit: LIMIT, windowMs: 1000 })
    const a = yield* RedisCoordinator.make({ url: redis.url, prefix: RedisServer.prefix(name) })
    return { a, server }
  })

/** One process's coordinator on the shared Redis, a connection to read its state, and the key of `info`'s bucket. */
const oneProcess = (name: string) =>
  Effect.gen(function*() {
    const url = yield* RedisServer.shared
    const prefix = RedisServer.prefix(name)
    const a = yield* RedisCoordinator.make({ url, prefix })
    const redis = yield* connect(url)
    return { a, redis, key: `${prefix}:{https://api.example.com|}` }
  })

describe("RedisCoordinator", () => {
  it.scopedLive("a window whose first answer tells its reset as an instant: its next opener goes a second after", () =>
    Effect.gen(function*() {
      const { a, key, redis } = yield* oneProcess("instant")
      // The reset in Unix seconds, rounded up: between one and two seconds away, the window's end a second after its
      // first request (as servers count windows) is the likeliest.
      const receivedAt = Date.now()
      const reset = Math.ceil(receivedAt / 1000) + 1
      yield* a.withPermit(info, (permit) =>
        a.observe(permit, {
          status: 200,
          headers: { "x-ratelimit-limit": "4", "x-ratelimit-remaining": "3", "x-ratelimit-reset": String(reset) },
          receivedAt
        }))
      const [end, opens] = (yield* Effect.promise(() => redis.hmget(key, "end", "oe"))).map(Number)
      expect(Math.abs(end! - reset * 1000)).toBeLessThan(50)
      expect(Math.abs(opens! - (receivedAt + 1000))).toBeLessThan(50)
    }))

  it.scopedLive("a request counted first in a window after its opener's is reported: the next opener waits for that window", () =>
    Effect.gen(function*() {
      const { a, key, redis } = yield* oneProcess("spill")
      const state = Effect.promise(() => redis.hmget(key, "rem", "end"))
      const answer = (remaining: number, reset: number) => ({
        status: 200,
        headers: {
          "x-ratelimit-limit": "4",
          "x-ratelimit-remaining": String(remaining),
          "x-ratelimit-reset": String(reset)
        },
        receivedAt: Date.now()
      })
      // The opener's answer: 3 left of 4, the window ends within a second.
      yield* a.withPermit(info, (permit) => a.observe(permit, answer(3, 1)))
      const [, end] = yield* state
      // The first of its server window too (3 of 4 left): counted in the server's next window, which ends within 2 s.
      yield* a.withPermit(info, (permit) => a.observe(permit, answer(3, 2)))
      const [rem, moved] = yield* state
      expect(rem).toBe("2")
      expect(Number(moved) - Number(end)).toBeGreaterThan(900)
      expect(Number(moved) - Number(end)).toBeLessThan(1100)
      // Not the first of its window: nothing new, not sent to Redis.
      yield* a.withPermit(info, (permit) => a.observe(permit, answer(1, 2)))
      expect(yield* state).toEqual(["1", moved])
    }))

  it.scopedLive("two coordinators on one Redis send together at most the learned limit per window", () =>
    Effect.gen(function*() {
      const url = yield* RedisServer.shared
      const prefix = RedisServer.prefix("fleet")
      const server = yield* limited({ limit: LIMIT, windowMs: 1000 })
      // A time-out a busy test machine never reaches: this test is about sharing, the next ones about Redis failing.
      const a = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second" })
      const b = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second" })
      const began = Date.now()
      const [fromA, fromB] = yield* Effect.all([worker(a, server, PER_WORKER), worker(b, server, PER_WORKER)], {
        concurrency: 2
      })
      const elapsed = Date.now() - began
      expect([...fromA, ...fromB]).toEqual(Array(2 * PER_WORKER).fill(200))
      // Every call needed one request: the server never had to refuse one.
      expect(server.arrivals.filter((x) => x.status === 429)).toEqual([])
      expect(server.arrivals.length).toBe(2 * PER_WORKER)
      const perWindow = new Map<number, number>()
      for (const x of server.arrivals) perWindow.set(x.window, (perWindow.get(x.window) ?? 0) + 1)
      expect(Math.max(...perWindow.values())).toBeLessThanOrEqual(LIMIT)
      // Three windows: each opens at the instant the answer that spent the last one told (its reset, rounded up to a
      // whole second, counts from that answer), so up to a burst's length later than the server's own window.
      expect(elapsed).toBeLessThan(4500)
    }))

  it.scopedLive.each([
    // A server that says nothing of its limit, whose windows start with the first request after the last one ended.
    { server: "says nothing of its limit", options: { quiet: true } },
    // The same windows, and IETF fields that name the policy "p": the routes move to that bucket after the first
    // answers, and the quota is still one per window (counted under one key).
    { server: "names its policy", options: { policy: "p" } }
  ])("two coordinators told a limit on one Redis send together at most that limit per window: a server that $server", ({
    options
  }) =>
    Effect.gen(function*() {
      const url = yield* RedisServer.shared
      const prefix = RedisServer.prefix(`fleet-told-${options.policy ?? "quiet"}`)
      const server = yield* limited({ limit: LIMIT, windowMs: 500, ...options })
      const limits = { [server.url("")]: { requests: LIMIT, window: "500 millis" as const } }
      const a = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second", coordinator: { limits } })
      const b = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second", coordinator: { limits } })
      const [fromA, fromB] = yield* Effect.all([worker(a, server, PER_WORKER), worker(b, server, PER_WORKER)], {
        concurrency: 2
      })
      expect([...fromA, ...fromB]).toEqual(Array(2 * PER_WORKER).fill(200))
      // No refusal: each window of the fleet sent the told quota at most, and 30 calls took three windows.
      expect(server.arrivals.map((x) => x.status)).toEqual(Array(2 * PER_WORKER).fill(200))
      const perWindow = [0, 1, 2].map((w) => server.arrivals.filter((x) => x.window === w).length)
      expect(perWindow).toEqual([LIMIT, LIMIT, LIMIT])
    }))

  it.scopedLive("told the same limit without Redis, two processes send twice that limit in the first window", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: LIMIT, windowMs: 500, quiet: true })
      const limits = { [server.url("")]: { requests: LIMIT, window: "500 millis" as const } }
      const a = yield* Coordinator.make({ limits })
      const b = yield* Coordinator.make({ limits })
      yield* Effect.all([worker(a, server, PER_WORKER), worker(b, server, PER_WORKER)], { concurrency: 2 })
      expect(server.arrivals.filter((x) => x.window === 0).length).toBe(2 * LIMIT)
    }))

  it.scopedLive("without Redis, the same two workers overrun the limit in the first window", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: LIMIT, windowMs: 1000 })
      const a = yield* Coordinator.make()
      const b = yield* Coordinator.make()
      yield* Effect.all([worker(a, server, PER_WORKER), worker(b, server, PER_WORKER)], { concurrency: 2 })
      expect(server.arrivals.filter((x) => x.status === 429).length).toBeGreaterThan(0)
    }))

  it.scopedLive("Redis killed in the middle of a burst: every call completes within its timeout, and sharing resumes", () =>
    Effect.gen(function*() {
      const redis = yield* RedisServer.own
      const prefix = RedisServer.prefix("outage")
      const server = yield* limited({ limit: LIMIT, windowMs: 1000 })
      const a = yield* RedisCoordinator.make({ url: redis.url, prefix })
      const b = yield* RedisCoordinator.make({ url: redis.url, prefix })
      const before = (yield* Metric.value(RedisCoordinator.fallbacks)).count
      const began = Date.now()
      const [fromA, fromB] = yield* Effect.all([
        worker(a, server, PER_WORKER),
        worker(b, server, PER_WORKER),
        Effect.zipRight(Effect.sleep("600 millis"), redis.kill)
      ], { concurrency: 3 })
      const elapsed = Date.now() - began
      expect([...fromA!, ...fromB!]).toEqual(Array(2 * PER_WORKER).fill(200))
      expect(elapsed).toBeLessThan(6000)
      expect((yield* Metric.value(RedisCoordinator.fallbacks)).count).toBeGreaterThan(before)
      // Redis is back: the next answers are shared again (the bucket's hash is written anew).
      yield* redis.restart
      yield* Effect.sleep("600 millis")
      yield* Effect.all([worker(a, server, 2), worker(b, server, 2)], { concurrency: 2 })
      const check = yield* connect(redis.url)
      const keys = yield* Effect.promise(() => check.keys(`${prefix}:*`))
      expect(keys.sort()).toEqual(bucketKeys(prefix, server))
      // Without Redis each process kept to its share of the last known limit (10 / 2 per window), spaced: a server
      // window sees at most a share of each process once the window the fleet was in when Redis died is over, never
      // an unlimited burst.
      expect(server.arrivals.filter((x) => x.status === 429).length).toBeLessThanOrEqual(LIMIT)
    }))

  it.scopedLive("a process's burst in a known window asks Redis once for all its calls, not once per call", () =>
    Effect.gen(function*() {
      const redis = yield* RedisServer.own
      const prefix = RedisServer.prefix("burst")
      const a = yield* RedisCoordinator.make({ url: redis.url, prefix })
      const answer = (remaining: number) => ({
        status: 200,
        headers: { "x-ratelimit-limit": "100", "x-ratelimit-remaining": String(remaining), "x-ratelimit-reset": "60" },
        receivedAt: Date.now()
      })
      // The opener's answer opens the window: 99 left.
      yield* a.withPermit(info, (permit) => a.observe(permit, answer(99)))
      const check = yield* connect(redis.url)
      const evalsha = Effect.map(
        Effect.promise(() => check.info("commandstats")),
        (stats) => Number(/cmdstat_evalsha:calls=(\d+)/.exec(stats)?.[1] ?? 0)
      )
      const before = yield* evalsha
      const admitted = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () => a.withPermit(info, (permit) => Effect.as(a.observe(permit, answer(50)), 1)),
        { concurrency: "unbounded" }
      )
      expect(admitted).toEqual(Array(20).fill(1))
      // One script call admitted the twenty; answers that leave quota in a known window are not sent.
      expect((yield* evalsha) - before).toBe(1)
      expect(yield* Effect.promise(() => check.hget(`${prefix}:{https://api.example.com|}`, "rem"))).toBe("79")
    }))

  it.scopedLive("one slow reply in a known window: the call asks Redis again rather than spend a share alone", () =>
    Effect.gen(function*() {
      const redis = yield* RedisServer.own
      const prefix = RedisServer.prefix("slow")
      const a = yield* RedisCoordinator.make({ url: redis.url, prefix, timeout: "100 millis" })
      const key = `${prefix}:{https://api.example.com|}`
      const answer = {
        status: 200,
        headers: { "x-ratelimit-limit": "10", "x-ratelimit-remaining": "5", "x-ratelimit-reset": "60" },
        receivedAt: Date.now()
      }
      // The opener's answer opens the window (5 left); the next admission teaches this process the limit (4 left).
      yield* a.withPermit(info, (permit) => a.observe(permit, answer))
      yield* a.withPermit(info, () => Effect.void)
      const check = yield* connect(redis.url)
      expect(yield* Effect.promise(() => check.hget(key, "rem"))).toBe("4")
      const before = (yield* Metric.value(RedisCoordinator.fallbacks)).count
      // Redis stalls for 150 ms from 20 ms before the call: the first ask gets no reply within 100 ms, the second is
      // answered when Redis resumes.
      // (A script that spins for 150 ms on Redis's clock: Redis serves nobody else meanwhile.)
      const stall = check.eval(
        "local function ms() local t = redis.call('TIME') return t[1] * 1000 + t[2] / 1000 end " +
          "local start = ms() while ms() - start < 150 do end return 1",
        0
      )
      yield* Effect.sleep("20 millis")
      yield* a.withPermit(info, () => Effect.void)
      yield* Effect.promise(() => stall)
      // Both asks ran once Redis resumed (the late one's admission goes unused); none was decided alone.
      expect((yield* Metric.value(RedisCoordinator.fallbacks)).count - before).toBe(0)
      expect(yield* Effect.promise(() => check.hget(key, "rem"))).toBe("2")
    }))

  it.scopedLive("a Redis that never answers: calls are decided locally, none waits for it", () =>
    Effect.gen(function*() {
      const { a, server } = yield* withoutRedis("absent")
      const began = Date.now()
      const statuses = yield* worker(a, server, 5)
      expect(statuses).toEqual(Array(5).fill(200))
      expect(Date.now() - began).toBeLessThan(500)
    }))

  it.scopedLive("no Redis and no limit known yet: one request goes first, the others keep to the limit it names", () =>
    Effect.gen(function*() {
      const { a, server } = yield* withoutRedis("probe")
      const statuses = yield* worker(a, server, PER_WORKER)
      expect(statuses).toEqual(Array(PER_WORKER).fill(200))
      // Not fifteen at once into a limit of ten: the first answer names the limit, and the rest wait for the window.
      expect(server.arrivals.length).toBe(PER_WORKER)
      expect(server.arrivals.filter((x) => x.status === 429)).toEqual([])
    }))

  it.scopedLive("without Redis, a process sends its share of a window evenly spaced, not in a burst", () =>
    Effect.gen(function*() {
      const { a, server } = yield* withoutRedis("spaced")
      const before = (yield* Metric.value(RedisCoordinator.fallbacks)).count
      expect(yield* worker(a, server, 16)).toEqual(Array(16).fill(200))
      // One per request admitted alone, however many times a call waiting for its slot asked again.
      expect((yield* Metric.value(RedisCoordinator.fallbacks)).count - before).toBe(16)
      expect(server.arrivals.filter((x) => x.status === 429)).toEqual([])
      // 10 per second, one every 100 ms or more: half a second holds 5 of them (6 with a late one), never the whole
      // share at once (which, sent at each window of its own, could meet a window of the server's twice).
      const at = server.arrivals.map((x) => x.at)
      const most = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + 500).length))
      expect(most).toBeLessThanOrEqual(6)
    }))

  it.scopedLive("a script Redis forgot (SCRIPT FLUSH) is loaded again", () =>
    Effect.gen(function*() {
      const url = yield* RedisServer.own.pipe(Effect.map((r) => r.url))
      const prefix = RedisServer.prefix("noscript")
      const server = yield* limited({ limit: LIMIT, windowMs: 1000 })
      const a = yield* RedisCoordinator.make({ url, prefix })
      const check = yield* connect(url)
      yield* Effect.promise(() => check.script("FLUSH"))
      const before = (yield* Metric.value(RedisCoordinator.fallbacks)).count
      expect(yield* worker(a, server, 3)).toEqual([200, 200, 200])
      expect((yield* Metric.value(RedisCoordinator.fallbacks)).count).toBe(before)
      expect((yield* Effect.promise(() => check.keys(`${prefix}:*`))).sort()).toEqual(bucketKeys(prefix, server))
    }))

  it.scopedLive("a bucket nobody knows: one process's request goes first, another's waits for its answer", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoProcesses("opener")
      const first = yield* a.permit(info)
      const second = yield* Effect.fork(Effect.scoped(Effect.map(b.permit(info), () => Date.now())))
      yield* Effect.sleep("150 millis")
      expect(yield* Fiber.poll(second)).toEqual(Option.none())
      const answeredAt = Date.now()
      yield* a.observe(first, {
        status: 200,
        headers: { "x-ratelimit-limit": "5", "x-ratelimit-remaining": "4", "x-ratelimit-reset": "1" },
        receivedAt: answeredAt
      })
      const admittedAt = yield* Fiber.join(second)
      expect(admittedAt).toBeGreaterThanOrEqual(answeredAt)
      // Let go by the message Redis publishes on the answer (or its own poll, every 10 to 20 ms): well before the
      // opener's time-out (1 s).
      expect(admittedAt - answeredAt).toBeLessThan(500)
    }))

  it.scoped("a call held for an opener's answer is let go by the message Redis publishes, not by its own poll", () =>
    Effect.gen(function*() {
      // The test clock never moves: the held call's polls never fire, only the message can wake it.
      const url = yield* RedisServer.shared
      const { key, prefix, redis, run } = yield* bucket("woken", "https://api.example.com")
      const b = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second" })
      const learning = Metric.tagged(Coordinator.holds, "reason", "learning")
      const before = (yield* Metric.value(learning)).count
      // Another process's opener is out.
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      expect(opener.opener).toBe(true)
      const held = yield* Effect.fork(b.withPermit(info, () => Clock.currentTimeMillis))
      // Wait (in real time) until it asked, was told to wait, and holds.
      yield* Effect.promise(async () => {
        for (let i = 0; i < 200 && (await redis.zcard(`${key}:fleet`)) < 2; i++) {
          await new Promise((r) => setTimeout(r, 5))
        }
        await new Promise((r) => setTimeout(r, 50))
      })
      expect(yield* Fiber.poll(held)).toEqual(Option.none())
      expect((yield* Metric.value(learning)).count - before).toBe(1)
      // The opener's answer opens the window: published on the coordinators' channel.
      yield* run("observe", 1000, opener.epoch, 1, -1, 3, 800, 4, 30000, `${prefix}:opened`)
      // Admitted with no time passed on its clock.
      expect(yield* Fiber.join(held)).toBe(0)
      expect(yield* Effect.promise(() => redis.hget(key, "rem"))).toBe("2")
    }))

  it.scoped("calls held until a spent window's end go at its end, not spread after it", () =>
    Effect.gen(function*() {
      const url = yield* RedisServer.shared
      const { prefix, run } = yield* bucket("spent", "https://api.example.com")
      // The in-memory layer's spread (20 ms by default) is left to calls decided without Redis.
      const b = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second" })
      // Another process's opener: its answer spends the window, which ends in 300 ms.
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      yield* run("observe", 1000, opener.epoch, 1, -1, 0, 300, 1, 30000)
      const held = yield* Effect.fork(
        Effect.all(Array.from({ length: 3 }, () => b.withPermit(info, () => Clock.currentTimeMillis)), {
          concurrency: "unbounded"
        })
      )
      // In real time, past the window's end on Redis's clock; on the held calls' clock, exactly its end.
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 350)))
      expect(yield* Fiber.poll(held)).toEqual(Option.none())
      yield* TestClock.adjust("300 millis")
      // One of them opens the next window; no answer comes (it only reads the clock), so each in turn goes as the
      // next opener, let go by the message its predecessor's release publishes.
      // All three at one instant: the window's end on their clock (what was left of the 300 ms when they asked), where
      // a spread would have let each go at its own random instant after it.
      const at = yield* Fiber.join(held)
      expect(at).toEqual([at[0], at[0], at[0]])
      expect(at[0]).toBeGreaterThan(0)
      expect(at[0]).toBeLessThanOrEqual(300)
    }))

  it.scopedLive("calls held for another process's opener wait on timers, not fibers, and go on its answer", () =>
    Effect.gen(function*() {
      const url = yield* RedisServer.shared
      const { prefix, run } = yield* bucket("waiting", "https://api.example.com")
      const b = yield* RedisCoordinator.make({ url, prefix, timeout: "1 second" })
      // Another process's opener is out: this one's calls wait for its answer (asking Redis again now and then).
      const opener = (yield* run("admit", 1000, 1000, "a"))!
      // The fibers alive under `Effect.all` of 20 calls: those of 20 plain sleeps, and those of 20 held calls.
      const fibersOf = <A, E>(call: Effect.Effect<A, E>) =>
        Effect.gen(function*() {
          const supervisor = yield* Supervisor.track
          const fiber = yield* Effect.fork(Effect.supervised(
            Effect.all(Array.from({ length: 20 }, () => call), { concurrency: "unbounded" }),
            supervisor
          ))
          yield* Effect.sleep("200 millis")
          return { fiber, alive: (yield* supervisor.value).length }
        })
      const sleeps = yield* fibersOf(Effect.sleep("1 second"))
      const held = yield* fibersOf(b.withPermit(info, () => Effect.void))
      expect(yield* Fiber.poll(held.fiber)).toEqual(Option.none())
      // No fiber per wait (a race of a sleep and a signal adds two to each held call: about 60 in all, not 21).
      expect(sleeps.alive).toBeGreaterThanOrEqual(20)
      expect(held.alive).toBe(sleeps.alive)
      // The opener's answer opens a window with quota for all of them: published, they go.
      yield* run("observe", 1000, opener.epoch, 1, -1, 30, 800, 31, 30000, `${prefix}:opened`)
      expect((yield* Fiber.join(held.fiber)).length).toBe(20)
    }))

  it.scopedLive("a hint shared through Redis holds another process's call; one held past its deadline fails typed", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoProcesses("held")
      const receivedAt = Date.now()
      yield* a.withPermit(
        info,
        (permit) => a.observe(permit, { status: 429, headers: { "retry-after": "5" }, receivedAt })
      )
      const error = yield* Effect.flip(b.withPermit({ ...info, deadline: Date.now() + 100 }, () => Effect.void))
      expect(error).toBeInstanceOf(Coordinator.OriginHeld)
      expect([error.origin, error.reason]).toEqual(["https://api.example.com", "cooldown"])
      // The instant Redis holds: five seconds after the answer (Redis `TIME` and this clock agree within a few ms).
      expect(Math.abs(error.until - (receivedAt + 5000))).toBeLessThan(50)
    }))

  it.scoped("under a TestClock, an answer's hint is read on that clock: shared through Redis, it holds another process", () =>
    Effect.gen(function*() {
      const { a, b } = yield* twoProcesses("held-test-clock")
      // The answer arrives at the TestClock's instant (0), as the platform reads it, decades before the wall clock.
      const receivedAt = yield* Clock.currentTimeMillis
      yield* a.withPermit(
        info,
        (permit) => a.observe(permit, { status: 429, headers: { "retry-after": "5" }, receivedAt })
      )
      const error = yield* Effect.flip(b.withPermit({ ...info, deadline: receivedAt + 100 }, () => Effect.void))
      expect(error).toBeInstanceOf(Coordinator.OriginHeld)
      expect([error.origin, error.reason]).toEqual(["https://api.example.com", "cooldown"])
      // Five seconds after the answer, on the same clock (Redis counts the 5 s on its own).
      expect(Math.abs(error.until - (receivedAt + 5000))).toBeLessThan(50)
    }))

  it("rejects bad options when built", () => {
    expect(() => RedisCoordinator.layer({ url: "http://127.0.0.1", timeout: -1 })).toThrow(
      "url must be a redis:// or rediss:// URL, got another scheme"
    )
  })

  it("a told burst, which Redis does not share, is refused with the option named", () => {
    expect(() =>
      RedisCoordinator.layer({
        coordinator: { limits: { "https://api.example.com": { requests: 10, window: "1 second", burst: 2 } } }
      })
    )
      .toThrow(/coordinator\.limits\["https:\/\/api\.example\.com"\]\.burst is not shared through Redis/)
    expect(() =>
      RedisCoordinator.layer({ coordinator: { limits: { "https://api.example.com": { requests: 0, window: -1 } } } })
    )
      .toThrow(/coordinator\.limits\["https:\/\/api\.example\.com"\]\.requests/)
  })
})
