/**
 * The benchmark's server: a separate process (`child_process.fork` from `main.ts`) listening on 127.0.0.1 only.
 * For every request it logs the arrival time, the call id, the attempt number, the status it answered and the
 * instant it told the call to come back (when it told one); the parent reads the log over IPC.
 *
 * It exits when its parent goes away (the IPC channel closes), so it can never outlive a benchmark run.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { type Arrival, CALL_ID, type FromServer, now, type Scenario, type ToServer } from "./protocol.js"
import { seeded } from "./rng.js"

interface Reply {
  readonly status: number
  readonly headers?: Record<string, string>
  readonly toldAt?: number
  readonly hint?: string
}

interface Request {
  readonly at: number
  readonly method: string
  readonly path: string
  readonly attempt: number
}

interface Tenant {
  readonly log: Array<Arrival>
  readonly attempts: Map<string, number>
  readonly handle: (request: Request) => Reply
}

const rateLimit = (scenario: Extract<Scenario, { kind: "rate-limit" }>) => {
  let windowStart = Number.NEGATIVE_INFINITY
  let used = 0
  const seconds = scenario.windowMs / 1000
  return ({ at }: Request): Reply => {
    if (scenario.windows === "fixed") {
      const current = scenario.start + Math.floor((at - scenario.start) / scenario.windowMs) * scenario.windowMs
      if (current !== windowStart) {
        windowStart = current
        used = 0
      }
    } else if (at >= windowStart + scenario.windowMs) {
      // express-rate-limit / @fastify/rate-limit memory stores: the window starts with the first request after expiry.
      windowStart = at
      used = 0
    }
    const resetAt = windowStart + scenario.windowMs
    // Whole seconds, rounded up, as real servers send them: the instant told is never before the window resets.
    const resetIn = Math.max(1, Math.ceil((resetAt - at) / 1000))
    const resetEpoch = Math.ceil(resetAt / 1000)
    const allowed = used < scenario.limit
    if (allowed) used++
    const remaining = String(Math.max(0, scenario.limit - used))
    const headers: Record<string, string> = {}
    let told: { readonly at: number; readonly hint: string }
    switch (scenario.headers) {
      case "retry-after":
      case "x-ratelimit": {
        headers["x-ratelimit-limit"] = String(scenario.limit)
        headers["x-ratelimit-remaining"] = remaining
        headers["x-ratelimit-reset"] = String(resetEpoch)
        told = { at: resetEpoch * 1000, hint: "x-ratelimit-reset" }
        if (scenario.headers === "retry-after" && !allowed) {
          headers["retry-after"] = String(resetIn)
          // Of the two instants told, the earlier: a request after either one is not early.
          if (at + resetIn * 1000 < told.at) told = { at: at + resetIn * 1000, hint: "retry-after" }
        }
        break
      }
      case "ratelimit": {
        headers["ratelimit"] = `"default";r=${remaining};t=${resetIn}`
        headers["ratelimit-policy"] = `"default";q=${scenario.limit};w=${seconds}`
        told = { at: at + resetIn * 1000, hint: "ratelimit" }
        break
      }
      case "draft-6": {
        headers["ratelimit-limit"] = String(scenario.limit)
        headers["ratelimit-remaining"] = remaining
        headers["ratelimit-reset"] = String(resetIn)
        headers["ratelimit-policy"] = `${scenario.limit};w=${seconds}`
        if (!allowed) headers["retry-after"] = String(resetIn)
        told = { at: at + resetIn * 1000, hint: allowed ? "ratelimit-reset" : "retry-after" }
        break
      }
    }
    if (allowed) return { status: 200, headers }
    return { status: 429, headers, toldAt: told.at, hint: told.hint }
  }
}

const FLAKY_STATUSES = [500, 502, 503, 504] as const

const handler = (scenario: Scenario): (request: Request) => Reply => {
  switch (scenario.kind) {
    case "rate-limit":
      return rateLimit(scenario)
    case "maintenance":
      return ({ at }) =>
        at < scenario.until
          ? {
            status: 503,
            headers: { "retry-after": new Date(scenario.until).toUTCString() },
            toldAt: scenario.until,
            hint: "retry-after-date"
          }
          : { status: 200 }
    case "flaky": {
      const random = seeded(scenario.seed)
      return () => {
        const fails = random() < scenario.p
        const pick = random()
        return { status: fails ? FLAKY_STATUSES[Math.floor(pick * FLAKY_STATUSES.length)]! : 200 }
      }
    }
    case "permanent":
      return ({ path }) => ({ status: Number(/\/status\/(\d{3})/.exec(path)?.[1] ?? 400) })
    case "post":
      return ({ attempt, method }) => ({ status: method !== "POST" ? 405 : attempt === 1 ? 503 : 201 })
    case "ok":
      return () => ({ status: 200 })
    case "dead":
      return () => ({ status: 503 })
    case "held":
      return ({ at, path }) =>
        path.startsWith("/held")
          ? {
            status: 429,
            headers: { "retry-after": String(scenario.seconds) },
            toldAt: at + scenario.seconds * 1000,
            hint: "retry-after"
          }
          : { status: 200 }
  }
}

const tenants = new Map<string, Tenant>()

const send = (message: FromServer) => process.send?.(message)

const server = http.createServer((req, res) => {
  const at = now()
  const path = req.url ?? "/"
  const match = /^\/t\/([^/]+)(\/.*)?$/.exec(path)
  const tenant = match === null ? undefined : tenants.get(match[1]!)
  const respond = (status: number, headers: Record<string, string> = {}) => {
    if (res.headersSent || res.destroyed) return
    const body = JSON.stringify({ status })
    res.writeHead(status, {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      ...headers
    })
    res.end(body)
  }
  req.on("error", () => res.destroy())
  req.on("end", () => {
    if (tenant === undefined) return respond(404)
    const rawCall = req.headers[CALL_ID]
    const call = typeof rawCall === "string" ? rawCall : "(none)"
    const attempt = (tenant.attempts.get(call) ?? 0) + 1
    tenant.attempts.set(call, attempt)
    const method = req.method ?? "GET"
    const reply = tenant.handle({ at, method, path: match![2] ?? "/", attempt })
    const arrival: Arrival = {
      at,
      sentAt: now(),
      call,
      attempt,
      method,
      status: reply.status,
      key: req.headers["idempotency-key"] !== undefined,
      ...(reply.toldAt === undefined ? {} : { toldAt: reply.toldAt }),
      ...(reply.hint === undefined ? {} : { hint: reply.hint })
    }
    tenant.log.push(arrival)
    respond(reply.status, reply.headers)
  })
  req.resume()
})
// Clients may hold an idle connection for seconds between attempts: never close it under them mid-run.
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.maxRequestsPerSocket = 0

process.on("message", (raw) => {
  const message = raw as ToServer
  switch (message.op) {
    case "open":
      tenants.set(message.tenant, { log: [], attempts: new Map(), handle: handler(message.scenario) })
      send({ op: "opened", seq: message.seq })
      break
    case "dump": {
      const logs: Record<string, ReadonlyArray<Arrival>> = {}
      for (const name of message.tenants) logs[name] = [...(tenants.get(name)?.log ?? [])]
      send({ op: "log", seq: message.seq, logs })
      break
    }
    case "counts": {
      const counts: Record<string, number> = {}
      for (const [name, tenant] of tenants) counts[name] = tenant.log.length
      send({ op: "counts", seq: message.seq, counts })
      break
    }
  }
})

// The parent went away (normal end, crash or kill): stop at once.
process.on("disconnect", () => process.exit(0))

server.listen(0, "127.0.0.1", () => {
  send({ op: "ready", port: (server.address() as AddressInfo).port })
})
