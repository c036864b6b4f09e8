import * as Coordinator from "@effect-retry/core/Coordinator"
import * as RateLimit from "@effect-retry/core/RateLimit"
import * as CoordinatorPlan from "@effect-retry/engine/CoordinatorPlan"
import * as CoordinatorState from "@effect-retry/engine/CoordinatorState"
import * as Hints from "@effect-retry/engine/ServerHint"
import * as RetryPolicy from "@effect-retry/core/RetryPolicy"
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"
import { Redis } from "ioredis"
import { createHash, randomBytes } from "node:crypto"
import type * as RedisCoordinator from "../RedisCoordinator.js"
import * as script from "./script.js"

/** @internal */
export interface Settings {
  readonly url: string
  readonly prefix: string
  readonly timeout: number
  readonly openerTimeout: number
  readonly releaseSpread: number
  readonly maxSharedCooldown: number
  /** The limits told, by origin (`coordinator.limits`), windows in whole milliseconds: each one quota for the fleet. */
  readonly limits: ReadonlyMap<string, CoordinatorState.Limit>
  readonly coordinator: Coordinator.CoordinatorOptions | undefined
}

/** The sleep of Effect's own clock: under another (a TestClock), held calls wait through it instead of on timers. */
const liveSleep = Clock.make().sleep

/** A call asks Redis again this many times after slow replies before deciding alone. */
const SLOW_RETRIES = 3
/** No reply for this many time-outs (on a connection that looks open) is an outage. */
const OUTAGE_TIMEOUTS = 4
/** After a failed call, Redis is left alone this long before the next call tries it again. */
const PROBE_AFTER_MILLIS = 250
/** A held call waiting for an opener's answer asks again after this long, plus as much at random. */
const POLL_MILLIS = 10
/** Keys live this long past the last instant they hold (an opener's state, a window's epoch). */
const GRACE_MILLIS = 1000
/** A bucket whose opener found no limit is taken as free for this long. */
const FREE_MILLIS = 30_000
/** What the server's clock may be off by, when the reset is an instant: the most, as this layer does not measure it. */
const SECOND = 1_000

const show = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return typeof value
  }
}

const millis = (problems: Array<string>, name: string, value: unknown, fallback: Duration.DurationInput): number => {
  const decoded = Duration.decodeUnknown(value === undefined ? fallback : value)
  const ms = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : NaN
  if (!Number.isFinite(ms) || ms < 0 || (typeof value === "number" && value < 0)) {
    problems.push(`${name} must be a finite, non-negative duration, got ${show(value)}`)
  }
  return ms
}

/** @internal */
export const resolve = (input: RedisCoordinator.Options | undefined = {}): Settings => {
  const problems: Array<string> = []
  if (typeof input !== "object" || input === null) {
    throw new RetryPolicy.InvalidRetryOptions({ problems: [`options must be an object, got ${show(input)}`] })
  }
  const url = input.url ?? "redis://127.0.0.1:6379"
  if (typeof url !== "string" || !/^rediss?:\/\//.test(url)) {
    problems.push(
      `url must be a redis:// or rediss:// URL, got ${typeof url === "string" ? "another scheme" : show(url)}`
    )
  }
  const prefix = input.prefix ?? "effect-retry"
  if (typeof prefix !== "string" || prefix.length === 0 || /[{}]/.test(prefix)) {
    problems.push(`prefix must be a non-empty string without braces, got ${show(prefix)}`)
  }
  const timeout = millis(problems, "timeout", input.timeout, "75 millis")
  if (timeout === 0) problems.push("timeout must be more than zero")
  const openerTimeout = millis(problems, "openerTimeout", input.openerTimeout, "1 second")
  if (openerTimeout === 0) problems.push("openerTimeout must be more than zero")
  const local = input.coordinator
  const releaseSpread = millis(problems, "coordinator.releaseSpread", local?.releaseSpread, "20 millis")
  const maxSharedCooldown = millis(problems, "coordinator.maxSharedCooldown", local?.maxSharedCooldown, "1 minute")
  // The told limits, read as the in-memory coordinator reads them (which checks the rest of its options itself).
  const told = CoordinatorPlan.resolve({ limits: local?.limits }, {
    millis: (found, name, value, fallback) => millis(found, `coordinator.${name}`, value, Duration.millis(fallback)),
    show
  })
  // (Windows in whole milliseconds: Redis expires keys by them.)
  const limits = new Map<string, CoordinatorState.Limit>()
  if (told._tag === "Settings") {
    for (const [origin, limit] of told.settings.config.limits) {
      limits.set(origin, { ...limit, window: Math.ceil(limit.window) })
    }
  }
  if (told._tag === "Problems") {
    for (const problem of told.problems) {
      problems.push(problem.startsWith("coordinator.") ? problem : `coordinator.${problem}`)
    }
  }
  for (const [origin, limit] of limits) {
    // A fleet-wide spacing would need every admission to go through Redis one slot at a time: not done.
    if (limit.burst < limit.requests) {
      problems.push(
        `coordinator.limits["${origin}"].burst is not shared through Redis (each process would space its own ` +
          `requests, the fleet together sending more): leave it out, or use the in-memory coordinator`
      )
    }
  }
  if (problems.length > 0) throw new RetryPolicy.InvalidRetryOptions({ problems })
  return {
    url,
    prefix,
    timeout: Math.ceil(timeout),
    openerTimeout: Math.ceil(openerTimeout),
    releaseSpread,
    maxSharedCooldown,
    limits,
    coordinator: local
  }
}

/** @internal */
export const fallbacks = Metric.counter("http_client_coordinator_store_fallbacks_total", {
  description:
    "Requests admitted by this process alone, and reports of outcomes the shared store did not answer in time (or that were not sent while it was down)",
  incremental: true
})

/** What Redis said when the request was admitted. */
interface Grant {
  readonly key: string
  /** Admitted by Redis (false: decided locally, Redis did not answer). */
  readonly shared: boolean
  readonly epoch: number
  /** The end of the window it was admitted in (0: no window known). */
  readonly windowEnd: number
  /** The first request of a window (or of a bucket nobody knows): the others wait for its answer. */
  readonly opener: boolean
  /** When Redis admitted it (the opener's mark). */
  readonly at: number
  /** Decided locally while nothing was known of the bucket's limit: this process's other calls follow its answer. */
  readonly probe?: boolean
  /** When this process was told it may send (its clock). */
  readonly admittedAt?: number
  /** Admitted in a window of a limit the user told: the window's length. */
  readonly told?: number
}

class SharedPermit implements Coordinator.Permit {
  answered = false
  constructor(readonly local: Coordinator.Permit, readonly grant: Grant) {}
  get partition() {
    return this.local.partition
  }
  get bucket() {
    return this.local.bucket
  }
  get route() {
    return this.local.route
  }
  /** Every answer may open or close the fleet's window: always reported. */
  get learn() {
    return true
  }
  get settled() {
    return this.local.settled
  }
  get hintAt() {
    return this.local.hintAt
  }
  get paced() {
    return this.local.paced
  }
}

/** Quota fields (remaining, reset, limit, policy), which Redis keeps for the fleet; bucket names stay. */
const QUOTA = /^(x-)?ratelimit(-(limit|remaining|reset|reset-after|used|policy))?$/

const withoutQuota = (headers: Coordinator.Observed["headers"]): Coordinator.Observed["headers"] => {
  const kept: Record<string, string | ReadonlyArray<string>> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !QUOTA.test(name)) kept[name] = value
  }
  // A bucket named by the IETF fields keeps its name, so a route joins the same bucket (and Redis key) either way.
  const bucket = RateLimit.bucketOf(headers)
  if (Option.isSome(bucket) && kept["x-ratelimit-resource"] === undefined) kept["x-ratelimit-bucket"] = bucket.value
  return kept
}

const REASONS: Record<number, Coordinator.HoldReason> = { 1: "cooldown", 2: "pacing", 3: "learning" }

/** @internal */
export const make = (settings: Settings): Effect.Effect<Coordinator.Coordinator, never, Scope.Scope> =>
  Effect.gen(function*() {
    const local = yield* Coordinator.make({ cautiousStart: false, ...settings.coordinator })
    const client = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(settings.url, {
          // Each call's own time-out (`timeout`) decides; this one only ends a command Redis never answers.
          commandTimeout: Math.max(1000, 10 * settings.timeout),
          connectTimeout: Math.max(settings.timeout, 500),
          enableOfflineQueue: false,
          maxRetriesPerRequest: 0,
          enableAutoPipelining: true,
          retryStrategy: (times) => Math.min(50 * times, 500),
          lazyConnect: false
        })
      ),
      (client) => Effect.sync(() => client.disconnect())
    )
    // Errors are counted and logged once per outage by the calls themselves; the client's own events stay quiet.
    client.on("error", () => {})
    /**
     * The channel on which the script names a bucket that may admit again (an opener's answer came, or its opener gave
     * up): a second connection listens, and wakes this process's calls held for that bucket at once. Messages lost
     * (no connection, a reconnect) only leave the held calls to their own polls.
     */
    const channel = `${settings.prefix}:opened`
    const listener = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Redis(settings.url, {
          connectTimeout: Math.max(settings.timeout, 500),
          maxRetriesPerRequest: null,
          retryStrategy: (times) => Math.min(50 * times, 500),
          lazyConnect: false
        })
      ),
      (listener) => Effect.sync(() => listener.disconnect())
    )
    listener.on("error", () => {})
    listener.subscribe(channel).catch(() => {})
    const sha = createHash("sha1").update(script.SOURCE).digest("hex")

    /** How many times each bucket was named on the channel: a call that asked meanwhile asks again at once. */
    const heard = new Map<string, number>()

    /** Runs the script: EVALSHA, and SCRIPT LOAD then EVALSHA again when Redis does not know it (NOSCRIPT). */
    const evaluate = (key: string, args: ReadonlyArray<string | number>): Promise<unknown> =>
      client.evalsha(sha, 2, key, `${key}:fleet`, ...args).catch((error: unknown) =>
        error instanceof Error && error.message.startsWith("NOSCRIPT")
          ? client.script("LOAD", script.SOURCE).then(() => client.evalsha(sha, 2, key, `${key}:fleet`, ...args))
          : Promise.reject(error)
      )
    /** This process among the fleet's (a bucket counts the processes that asked for it lately). */
    const processId = randomBytes(8).toString("hex")

    // Waits for the first connection briefly, and loads the script: neither failing stops the layer.
    yield* Effect.promise(() =>
      new Promise<void>((resolve) => {
        if (client.status === "ready") return resolve()
        const timer = setTimeout(resolve, Math.max(settings.timeout, 500))
        client.once("ready", () => {
          clearTimeout(timer)
          resolve()
        })
      })
    )
    yield* Effect.promise(() => client.script("LOAD", script.SOURCE).catch(() => undefined))

    let down = false
    let probeAt = 0
    // (Real time, not the Effect clock: Redis replies, and its time-outs run, in real time.)
    let answeredAt = Date.now()

    /** One script call: its reply, or `undefined` when Redis failed or was slow (then the caller decides locally). */
    const call = (key: string, args: ReadonlyArray<string | number>): Effect.Effect<script.Reply | undefined> =>
      Effect.suspend(() => {
        if (down && Date.now() < probeAt) return Effect.succeed(undefined)
        return Effect.flatMap(
          Effect.async<script.Reply | string>((resume) => {
            let done = false
            const settle = (result: script.Reply | string) => {
              if (done) return
              done = true
              clearTimeout(timer)
              resume(Effect.succeed(result))
            }
            // The time-out fires only if the reply has not come by the time the event loop reads its sockets: a
            // process that was busy (or not scheduled) for a while does not count that against Redis.
            const timer = setTimeout(() => setImmediate(() => settle("no reply in time")), settings.timeout)
            evaluate(key, args).then(
              (raw) => {
                const reply = script.decode(raw)
                // Made an opener too late to be told: the request went on local decisions, so the fleet is not kept
                // waiting for an answer that will never be reported.
                if (done && reply?.opener === true) {
                  evaluate(key, ["release", GRACE_MILLIS, reply.now, channel]).catch(() => {})
                }
                settle(reply ?? "an unreadable reply")
              },
              (error: unknown) => settle(error instanceof Error ? error.message : "an error")
            )
          }),
          (result) => {
            if (typeof result !== "string") {
              answeredAt = Date.now()
              if (!down) return Effect.succeed(result)
              down = false
              // The calls waiting for a slot of their share ask Redis again now, not at their slot.
              for (const slot of [...slots]) openGate(slot)
              return Effect.as(
                Effect.logInfo("the shared coordinator store answers again: sharing resumed"),
                result
              )
            }
            // (Counted in `fallbacks` where the caller decides alone: a slow reply may be asked again first.)
            const fallback = Effect.succeed(undefined)
            // A slow reply is decided locally, alone; a lost connection, or no reply at all for a while, is an outage:
            // Redis is left alone for a while, then tried again.
            if (client.status === "ready" && Date.now() - answeredAt < OUTAGE_TIMEOUTS * settings.timeout) {
              return fallback
            }
            probeAt = Date.now() + PROBE_AFTER_MILLIS
            if (down) return fallback
            down = true
            return Effect.zipRight(
              Effect.logWarning(`the shared coordinator store failed (${result}): deciding locally until it answers`),
              fallback
            )
          }
        )
      })

    /**
     * Reports an outcome to Redis (an answer, an opener given up); one that gets no reply in time, or is not sent
     * while Redis is taken for down, is counted in `fallbacks`.
     */
    const report = (key: string, args: ReadonlyArray<string | number>): Effect.Effect<void> =>
      Effect.flatMap(call(key, args), (reply) => reply === undefined ? Metric.increment(fallbacks) : Effect.void)

    /**
     * The admissions of this process that ask Redis for one bucket at once share one script call: the first of them
     * asks for all that joined it by the time the event loop turns (or its bucket's call in flight returns), and each
     * gets its part of the reply. One round trip admits a burst, and at most one admission per bucket is in flight
     * from a process, so a burst of calls does not queue hundreds of scripts behind one another on the connection.
     */
    interface Batch {
      size: number
      readonly reply: Deferred.Deferred<script.Reply | undefined>
    }
    const batches = new Map<string, Batch>()
    const flights = new Map<string, Deferred.Deferred<void>>()
    const turn = Effect.async<void>((resume) => {
      setImmediate(() => resume(Effect.void))
    })
    /** The part of a batch's reply for its `slot`-th admission. */
    const part = (reply: script.Reply | undefined, slot: number): script.Reply | undefined => {
      if (reply === undefined || reply.status !== 0 || slot < reply.granted) return reply
      // Not granted: the window's quota went to the ones before, or the first one went to open the window.
      return reply.opener
        ? { ...reply, status: 3, opener: false, until: reply.now + settings.openerTimeout, granted: 0 }
        : { ...reply, status: 2, granted: 0 }
    }
    const ask = (key: string, told: CoordinatorState.Limit | undefined): Effect.Effect<script.Reply | undefined> =>
      Effect.suspend(() => {
        const open = batches.get(key)
        if (open !== undefined) {
          const slot = open.size++
          return Effect.map(Deferred.await(open.reply), (reply) => part(reply, slot))
        }
        const batch: Batch = { size: 1, reply: Deferred.unsafeMake(FiberId.none) }
        batches.set(key, batch)
        const before = flights.get(key)
        const flight = Deferred.unsafeMake<void>(FiberId.none)
        flights.set(key, flight)
        return (before === undefined ? turn : Effect.zipRight(Deferred.await(before), turn)).pipe(
          Effect.zipRight(Effect.suspend(() => {
            if (batches.get(key) === batch) batches.delete(key)
            return call(key, [
              "admit",
              GRACE_MILLIS,
              settings.openerTimeout,
              processId,
              batch.size,
              told?.requests ?? 0,
              told?.window ?? 0,
              told?.backToBack === true ? 1 : 0
            ])
          })),
          Effect.onExit((exit) =>
            Effect.sync(() => {
              Deferred.unsafeDone(batch.reply, Exit.isSuccess(exit) ? exit : Exit.succeed(undefined))
              Deferred.unsafeDone(flight, Effect.void)
              if (flights.get(key) === flight) flights.delete(key)
            })
          ),
          Effect.map((reply) => part(reply, 0))
        )
      })

    /**
     * What this process knows of a held bucket: until when, and why. Its held calls wait until the instant, or until
     * the bucket opens (`reopen`): on Effect's own clock each on a timer and a callback, parked under the gate's `id`,
     * under another clock on its sleep raced with `signal`. While an opener's answer is awaited, one of them asks Redis
     * for all.
     */
    interface Gate {
      readonly id: string
      until: number
      reason: Coordinator.HoldReason
      /** The held calls wake at `until` plus up to this long at random. */
      spread: number
      readonly signal: Deferred.Deferred<void>
      /** The bucket opened: a call that comes to wait on this gate now goes at once. */
      opened: boolean
    }
    let gateCount = 0
    const gateOf = (until: number, reason: Coordinator.HoldReason, spread: number): Gate => ({
      id: String(gateCount++),
      until,
      reason,
      spread,
      signal: Deferred.unsafeMake<void>(FiberId.none),
      opened: false
    })
    /** The calls held on Effect's own clock, by gate: a timer and a callback each, no fiber (see `waitLive`). */
    const parked = new CoordinatorPlan.Waiters<() => void>()
    const gates = new Map<string, Gate>()
    const shut = (key: string, until: number, reason: Coordinator.HoldReason, spread: number): Gate => {
      const gate = gates.get(key)
      if (gate !== undefined) {
        gate.until = until
        gate.reason = reason
        gate.spread = spread
        return gate
      }
      if (gates.size > 10_000) gates.clear()
      const made = gateOf(until, reason, spread)
      gates.set(key, made)
      return made
    }
    /** Lets the calls held on a gate go (and any that comes to wait on it later). */
    const openGate = (gate: Gate) => {
      gate.opened = true
      Deferred.unsafeDone(gate.signal, Effect.void)
      for (let go = parked.takeFirst(gate.id, ""); go !== undefined; go = parked.takeFirst(gate.id, "")) go()
    }
    const reopen = (key: string) => {
      const gate = gates.get(key)
      if (gate === undefined) return
      gates.delete(key)
      openGate(gate)
    }
    /** The gates of the calls waiting for a slot of a share (see `alone`): opened all at once when Redis is back. */
    const slots = new Set<Gate>()
    /** Waits on a gate for `millis` at most, on a timer and a callback: a held call costs no fiber while it waits. */
    // (A timer holds 2^31 - 1 ms at most: a longer hold wakes then, finds the gate shut, and waits again.)
    const waitLive = (gate: Gate, millis: number): Effect.Effect<void> =>
      Effect.async<void>((resume) =>
        gate.opened
          ? resume(Effect.void)
          : Effect.sync(parked.park(gate.id, "", millis, () => resume(Effect.void)))
      )
    listener.on("message", (_: string, key: string) => {
      if (heard.size > 10_000) heard.clear()
      heard.set(key, (heard.get(key) ?? 0) + 1)
      reopen(key)
    })

    /**
     * Each bucket's last known limit, window and fleet size, and when this process may next send a request of it
     * alone while Redis does not answer: without Redis, a process keeps to its share (limit / processes) per window,
     * never to "unlimited".
     */
    interface Share {
      limit: number
      fleet: number
      windowMs: number
      /** No request alone before this instant (see `alone`), on Effect's clock, as the calls' own instants. */
      due: number
      /** This process's calls waiting for a slot of the share, each one spacing after the one before. */
      waiting: number
    }
    const shares = new Map<string, Share>()
    /** The processes that asked for each bucket lately, as Redis last said (also before any limit was known). */
    const fleets = new Map<string, number>()
    const learn = (key: string, reply: script.Reply, now: number) => {
      if (reply.fleet > 0) {
        if (fleets.size > 10_000) fleets.clear()
        fleets.set(key, reply.fleet)
      }
      if (reply.limit <= 0 || reply.fleet <= 0) return
      let share = shares.get(key)
      if (share === undefined) {
        if (shares.size > 10_000) shares.clear()
        share = { limit: reply.limit, fleet: reply.fleet, windowMs: 0, due: 0, waiting: 0 }
        shares.set(key, share)
      }
      share.limit = reply.limit
      share.fleet = reply.fleet
      // An admission in a window, or one refused because its quota is spent, tells the window (its start and end).
      if ((reply.status === 0 || reply.status === 2) && reply.until > reply.epoch && reply.epoch > 0) {
        share.windowMs = Math.min(3_600_000, reply.until - reply.epoch)
        // A window the fleet has spent: nothing alone before its end (on this process's clock: Redis's instant, less
        // Redis's time now, plus this process's time now).
        if (reply.status === 2) share.due = Math.max(share.due, now + (reply.until - reply.now))
      }
    }
    /** The buckets whose limit this process does not know, with a request decided alone in flight to learn it. */
    const probing = new Set<string>()
    /** What a probe's answer teaches this process alone: the limit and window it names, or none (not limited). */
    const teach = (key: string, observed: Coordinator.Observed) => {
      probing.delete(key)
      const rate = Option.getOrUndefined(RateLimit.parse(observed.headers, observed.receivedAt))
      if (shares.size > 10_000) shares.clear()
      if (rate === undefined) {
        shares.set(key, { limit: 0, fleet: 1, windowMs: 0, due: 0, waiting: 0 })
      } else {
        // (On the caller's clock, which read `receivedAt`: the instant the share's slots are counted from.)
        const left = Math.max(1, Math.ceil(Duration.toMillis(rate.resetAfter)))
        // Its share: the limit over the processes Redis last counted for the bucket (none counted: the whole limit,
        // with its in-memory layer keeping to the quota and hints its own answers give). The window: the policy's,
        // else what is left of the current one, but no less than a second (a reset rounded to seconds says no more).
        const share: Share = {
          limit: Option.getOrElse(rate.limit, () => rate.remaining + 1),
          fleet: fleets.get(key) ?? 1,
          windowMs: Math.min(
            3_600_000,
            Option.match(rate.window, { onNone: () => Math.max(SECOND, left), onSome: Duration.toMillis })
          ),
          due: 0,
          waiting: 0
        }
        // The probe was the first request of the share; a window it found spent holds the next until its end.
        share.due = observed.receivedAt + (rate.remaining === 0 ? left : spacing(share))
        shares.set(key, share)
      }
      reopen(key)
    }

    /** The time between two requests of a share sent alone: its window over its part of the limit. */
    const spacing = (share: Share) => share.windowMs / Math.max(1, Math.floor(share.limit / Math.max(1, share.fleet)))
    /**
     * Counts a request sent without Redis; answers until when to wait instead: the share's next slot, one spacing
     * later for each call of this process already waiting for one. A share goes evenly spaced, not in a burst per
     * window: this process knows the server's windows only to the second (resets rounded up), and a share sent at
     * once at each of its own windows' start could put two shares in one of the server's. Spaced, a stretch of a
     * window's length holds about one share of this process's requests, whatever the windows' phase.
     */
    const alone = (key: string, now: number): number | undefined => {
      const share = shares.get(key)
      if (share === undefined || share.windowMs <= 0) return undefined
      const step = spacing(share)
      // Never sooner than a spacing after the last one. A call woken for its slot that finds it moved on a little
      // (the one before went late) waits for it rather than queue again behind the others.
      if (now < share.due) return share.due - now <= step ? share.due : share.due + share.waiting * step
      share.due = now + step
      return undefined
    }

    /** A bucket's key: its partition and name in one cluster hash tag. */
    const keyOf = (partition: string, bucket: string) => `${settings.prefix}:{${partition}|${bucket}}`

    const admit = (
      info: Coordinator.RequestInfo,
      permit: Coordinator.Permit,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    ): Effect.Effect<Grant, Coordinator.OriginHeld> => {
      // A limit told for the origin is one quota for the whole fleet, counted under the origin's own key whatever
      // bucket the server names: each process learns a bucket's name from its own answers, and two processes that
      // counted the same server window under two keys would each spend a quota in it.
      const told = settings.limits.get(Coordinator.originOf(info.url))
      const key = keyOf(permit.partition, told === undefined ? permit.bucket : "")
      const deadline = info.deadline ?? Infinity
      let announced = false
      let retries = 0
      const hold = (gate: Gate, now: number): Effect.Effect<void, Coordinator.OriginHeld> => {
        const { reason, spread, until } = gate
        if (until > deadline || now >= deadline) {
          return Effect.fail(new Coordinator.OriginHeld({ origin: Coordinator.originOf(info.url), until, reason }))
        }
        const wait = Effect.flatMap(Random.next, (r) => {
          const millis = Math.max(0, until - now) + r * spread
          return restore(Effect.clockWith((clock) =>
            clock.sleep === liveSleep
              ? waitLive(gate, millis)
              : Effect.raceFirst(Effect.sleep(Duration.millis(millis)), Deferred.await(gate.signal))
          ))
        })
        if (announced) return wait
        announced = true
        return Effect.logDebug(`holding a request to ${Coordinator.originOf(info.url)}: ${reason} (shared)`).pipe(
          Effect.annotateLogs({ origin: Coordinator.originOf(info.url), reason }),
          Effect.zipRight(Metric.increment(Metric.tagged(Coordinator.holds, "reason", reason))),
          Effect.zipRight(wait)
        )
      }
      const loop: Effect.Effect<Grant, Coordinator.OriginHeld> = Effect.clockWith((clock) => {
        const now = clock.unsafeCurrentTimeMillis()
        const gate = gates.get(key)
        if (gate !== undefined) {
          if (gate.until > now) return Effect.zipRight(hold(gate, now), loop)
          // The first call to wake while an opener's answer is awaited asks Redis; the others wait for what it learns.
          if (gate.reason === "learning") gate.until = now + POLL_MILLIS
        }
        const seen = heard.get(key)
        return Effect.flatMap(
          ask(key, told),
          (reply): Effect.Effect<Grant, Coordinator.OriginHeld> => {
            if (reply === undefined) {
              // A limit told is this process's to keep to alone, shared by the processes Redis last counted.
              const known = shares.get(key)
              if (told !== undefined && (known === undefined || known.windowMs <= 0)) {
                if (shares.size > 10_000) shares.clear()
                shares.set(key, {
                  limit: known !== undefined && known.limit > 0 ? known.limit : told.requests,
                  fleet: known?.fleet ?? fleets.get(key) ?? 1,
                  windowMs: told.window,
                  due: 0,
                  waiting: 0
                })
              }
              // A slow reply: ask again (a few times, and only while Redis is not taken for gone) before deciding
              // alone. Even with a share known: one reply late on a busy machine is no outage, and a share sent
              // alone may land in a window the fleet has spent already (the call's deadline allowing).
              const share = shares.get(key)
              // A limit without its window is not enough to keep to one.
              const unknown = share === undefined || (share.limit > 0 && share.windowMs <= 0)
              if (!down && retries < SLOW_RETRIES && (unknown || now + settings.timeout < deadline)) {
                retries++
                return loop
              }
              if (unknown) {
                // Nothing known of the bucket's window, and no Redis to ask: one request of this process goes first,
                // the others follow what its answer teaches (never a burst of every call at once).
                if (probing.has(key)) {
                  return Effect.zipRight(hold(shut(key, now + POLL_MILLIS, "learning", POLL_MILLIS), now), loop)
                }
                probing.add(key)
                const grant: Grant = { key, shared: false, epoch: 0, windowEnd: 0, opener: false, at: 0, probe: true }
                return Effect.as(Metric.increment(fallbacks), grant)
              }
              reopen(key)
              const until = alone(key, now)
              if (until === undefined) {
                const grant: Grant = { key, shared: false, epoch: 0, windowEnd: 0, opener: false, at: 0 }
                return Effect.as(Metric.increment(fallbacks), grant)
              }
              // Waits for its slot on a gate of its own, counted among the calls waiting: they wake one by one, each
              // at its own slot, or all at once when Redis answers again; then each asks again.
              const queued = share!
              queued.waiting++
              const slot = gateOf(until, "pacing", 0)
              slots.add(slot)
              return Effect.zipRight(
                Effect.ensuring(
                  hold(slot, now),
                  Effect.sync(() => {
                    queued.waiting--
                    slots.delete(slot)
                  })
                ),
                loop
              )
            }
            const repliedAt = clock.unsafeCurrentTimeMillis()
            learn(key, reply, repliedAt)
            if (reply.status === 0) {
              if (!reply.opener) {
                reopen(key)
              }
              return Effect.succeed({
                key,
                shared: true,
                epoch: reply.epoch,
                windowEnd: reply.until,
                opener: reply.opener,
                at: reply.now,
                admittedAt: repliedAt,
                ...(told === undefined ? {} : { told: told.window })
              })
            }
            // An opener's answer is awaited: ask again soon, not past the opener's time-out.
            const learning = reply.status === 3
            // The bucket was named on the channel while this call asked: what it was told may be old already.
            if (learning && heard.get(key) !== seen) return loop
            // (A spent window's next opener may go before its end: the calls ask again then.)
            const left = Math.max(
              0,
              (reply.status === 2 ? Math.min(reply.until, reply.opens) : reply.until) - reply.now
            )
            // The calls held until a window's end (or a cooldown's) go together: Redis lets one of the fleet open
            // the next window, the others wait for its answer (no spread needed to keep them from a burst).
            const next = shut(
              key,
              now + (learning ? Math.min(left, POLL_MILLIS) : left),
              REASONS[reply.status] ?? "learning",
              learning ? POLL_MILLIS : 0
            )
            return Effect.zipRight(hold(next, now), loop)
          }
        )
      })
      return loop
    }

    /** Hands a local permit back, as a request that never went. */
    const handBack = (scope: Scope.CloseableScope) => Effect.fiberIdWith((id) => Scope.close(scope, Exit.interrupt(id)))

    const acquire = (
      info: Coordinator.RequestInfo,
      restore: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
    ): Effect.Effect<readonly [SharedPermit, Scope.CloseableScope], Coordinator.OriginHeld> =>
      Effect.flatMap(Scope.make(), (scope) =>
        Effect.flatMap(
          Effect.onError(restore(Scope.extend(local.permit(info), scope)), () => handBack(scope)),
          (permit) =>
            Effect.map(
              Effect.onError(admit(info, permit, restore), () => handBack(scope)),
              (grant) => [new SharedPermit(permit, grant), scope] as const
            )
        ))

    /** An opener (or a probe) that ends without an answer lets the next request go at once. */
    const release = (permit: SharedPermit): Effect.Effect<void> => {
      if (permit.grant.probe === true && !permit.answered) {
        probing.delete(permit.grant.key)
        reopen(permit.grant.key)
      }
      if (!permit.grant.opener || permit.answered) return Effect.void
      return report(permit.grant.key, ["release", GRACE_MILLIS, permit.grant.at, channel])
    }

    const finish = (permit: SharedPermit, scope: Scope.CloseableScope, exit: Exit.Exit<unknown, unknown>) =>
      Effect.zipRight(release(permit), Scope.close(scope, exit))

    /** Stands for a call held past its deadline inside the local permit, which then goes back as never used. */
    const neverWent = Cause.interrupt(FiberId.none)

    // The local layer's own `withPermit`, without a scope per request (the scoped `permit` costs several times more).
    const withPermit = <A, E, R>(
      info: Coordinator.RequestInfo,
      use: (permit: Coordinator.Permit) => Effect.Effect<A, E, R>
    ): Effect.Effect<A, E | Coordinator.OriginHeld, R> =>
      Effect.suspend(() => {
        let held: Coordinator.OriginHeld | undefined
        return Effect.catchAllCause(
          local.withPermit(info, (own) =>
            Effect.uninterruptibleMask((restore) =>
              Effect.matchEffect(admit(info, own, restore), {
                onFailure: (error) => {
                  held = error
                  return Effect.failCause(neverWent)
                },
                onSuccess: (grant) => {
                  const permit = new SharedPermit(own, grant)
                  return Effect.onExit(restore(use(permit)), () =>
                    release(permit))
                }
              })
            )),
          (cause): Effect.Effect<never, E | Coordinator.OriginHeld> =>
            held === undefined ? Effect.failCause(cause) : Effect.fail(held)
        )
      })

    const permit = (
      info: Coordinator.RequestInfo
    ): Effect.Effect<Coordinator.Permit, Coordinator.OriginHeld, Scope.Scope> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          acquire(info, restore),
          ([permit, scope]) => Effect.as(Effect.addFinalizer((exit) => finish(permit, scope, exit)), permit)
        )
      )

    /** The milliseconds a 429/503 answer's hint holds the bucket from `now` (up to `maxSharedCooldown`), or -1. */
    const hintOf = (observed: Coordinator.Observed, now: number): number => {
      if (observed.status !== 429 && observed.status !== 503) return -1
      const told = Hints.read(observed.headers, observed.receivedAt).hint
      if (told === undefined || !(told.millis <= settings.maxSharedCooldown)) return -1
      const left = Math.ceil(told.at - now)
      return left > 0 ? left : -1
    }

    /** The window (epoch) of each bucket in which this process last reported a request that spilled over. */
    const spills = new Map<string, number>()
    /** The told window (epoch) of each bucket whose first answer this process last reported. */
    const anchors = new Map<string, number>()

    const observe = (permit: Coordinator.Permit, observed: Coordinator.Observed): Effect.Effect<void> => {
      if (!(permit instanceof SharedPermit)) return local.observe(permit, observed)
      const grant = permit.grant
      // While Redis keeps the fleet's windows, the in-memory layer is not taught them from successes: it would pace
      // each process by counts the others spend too. It still reads every failure in full (hints, throttles), and
      // every answer while Redis is gone.
      const own = !permit.local.learn && observed.status < 400
        ? Effect.void
        : local.observe(
          permit.local,
          grant.shared && !down && observed.status < 400
            ? { ...observed, headers: withoutQuota(observed.headers) }
            : observed
        )
      if (!grant.shared) {
        const taught = grant.probe !== true || permit.answered ? Effect.void : Effect.sync(() => {
          permit.answered = true
          teach(grant.key, observed)
        })
        // A request decided alone still shares the hint of its 429/503 (when Redis answers again).
        return Effect.zipRight(
          Effect.zipRight(own, taught),
          Effect.clockWith((clock) => {
            const hint = hintOf(observed, clock.unsafeCurrentTimeMillis())
            return hint < 0 || down
              ? Effect.void
              : report(grant.key, ["observe", GRACE_MILLIS, 0, 0, hint, -1, 0, -1, FREE_MILLIS])
          })
        )
      }
      return Effect.zipRight(
        own,
        // (On the clock the answer's arrival was read with: under a TestClock too.)
        Effect.clockWith((clock) => {
          const now = clock.unsafeCurrentTimeMillis()
          const elapsed = Math.max(0, now - observed.receivedAt)
          const hint = hintOf(observed, now)
          // (Read once with `hintOf`'s: the same headers at the same instant.) A told window counts the origin's
          // quota: the fields of a bucket the server names (which may count another window) do not narrow it.
          const fields = Hints.read(observed.headers, observed.receivedAt).rateLimit
          const rate = grant.told !== undefined && Option.isSome(RateLimit.bucketOf(observed.headers))
            ? undefined
            : fields
          const accepted = observed.status < 400
          const reset = rate === undefined ? 0 : Math.max(0, Math.ceil(rate.resetMillis - elapsed))
          const first = rate !== undefined && rate.limit !== undefined && rate.remaining === rate.limit - 1
          // Not the opener of its window, yet the first of the server's: counted in a later window than the opener's
          // (told once per window by each process: a server that always leaves all but one says nothing new).
          // (Not in a told window: its requests all go at once, none of them an opener.)
          const spilled = first && !grant.opener && grant.told === undefined && grant.windowEnd > 0 &&
            spills.get(grant.key) !== grant.epoch
          if (spilled) {
            if (spills.size > 10_000) spills.clear()
            spills.set(grant.key, grant.epoch)
          }
          // The first of a window: the next opener may go before a reset told as an instant in whole seconds, the
          // fewest whole seconds after this request that the reset allows (the server's clock is not measured here).
          const lead = first && accepted && rate.fromDate
            ? CoordinatorState.openerLead(now + reset, now, grant.admittedAt ?? now, SECOND, true)
            : 0
          // A told window's first answer (this process's first, of the window: the first of them to reach Redis
          // bounds the window's end), and a 429 within a told quota.
          const anchor = grant.told !== undefined && (anchors.get(grant.key) ?? -1) < grant.epoch
          if (anchor) {
            if (anchors.size > 10_000) anchors.clear()
            anchors.set(grant.key, grant.epoch)
          }
          const refused = grant.told !== undefined && observed.status === 429
          // The other answers of an open window that leave quota add nothing the fleet does not know: not sent.
          if (
            !grant.opener && hint < 0 && !spilled && !anchor && !refused &&
            (rate === undefined || (rate.remaining > 0 && grant.windowEnd > 0))
          ) {
            return Effect.void
          }
          permit.answered = true
          // This process's calls held for the opener's answer go at once; the others' poll.
          const after = grant.opener ? Effect.sync(() => reopen(grant.key)) : Effect.void
          return Effect.zipRight(
            report(grant.key, [
              "observe",
              GRACE_MILLIS,
              grant.epoch,
              grant.opener ? 1 : 0,
              hint,
              rate === undefined ? -1 : rate.remaining,
              reset,
              rate?.limit ?? -1,
              FREE_MILLIS,
              channel,
              spilled ? 1 : 0,
              lead,
              accepted ? 1 : 0,
              grant.told ?? 0,
              refused ? 1 : 0
            ]),
            after
          )
        })
      )
    }

    return { withPermit, permit, observe, size: local.size } satisfies Coordinator.Coordinator
  })
