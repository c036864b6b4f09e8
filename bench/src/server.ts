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
  let window = -1
  let used = 0
  return ({ at }: Request): Reply => {
    const current = Math.max(0, Math.floor((at - scenario.start) / scenario.windowMs))
    if (current !== window) {
      window = current
      used = 0
    }
    const resetAt = scenario.start + (current + 1) * scenario.windowMs
    // Whole seconds, rounded up: the instant told is never before the window really resets.
    const resetIn = Math.max(1, Math.ceil((resetAt - at) / 1000))
    const headers: Record<string, string> = {
      "x-ratelimit-limit": String(scenario.limit),
      "x-ratelimit-remaining": String(Math.max(0, scenario.limit - used - 1)),
      "x-ratelimit-reset": String(resetIn)
    }
    if (used < scenario.limit) {
      used++
      return { status: 200, headers }
    }
    headers["x-ratelimit-remaining"] = "0"
    if (scenario.retryAfter) headers["retry-after"] = String(resetIn)
    return {
      status: 429,
      headers,
      toldAt: at + resetIn * 1000,
      hint: scenario.retryAfter ? "retry-after" : "x-ratelimit-reset"
    }
  }
}

const FLAKY_STATUSES = [500, 502, 503, 504] as const

const handler = (scenario: Scenario): ((request: Request) => Reply) => {
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
      return ({ attempt, method }) => ({ status: method !== "POST" ? 405 : attempt === 1 ? 503 : 200 })
    case "ok":
      return () => ({ status: 200 })
    case "dead":
      return () => ({ status: 503 })
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
    res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers })
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
