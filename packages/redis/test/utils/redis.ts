/**
 * Real Redis servers for the integration tests. `shared` is the server `.ci/run` started (its URL in
 * `EFFECT_RETRY_REDIS_URL`), or else the one the global set-up started; `own` always starts a server of its own, on
 * a free port of 127.0.0.1, which a test may kill and start again. Without a `redis-server` binary the tests fail
 * with a message saying how to get one: they are never skipped.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import * as Net from "node:net"

/** The binary: `EFFECT_RETRY_REDIS_SERVER`, else `redis-server` on the PATH. */
const binary = process.env["EFFECT_RETRY_REDIS_SERVER"] ?? "redis-server"

const missing = () =>
  new Error(
    `the Redis tests need a real redis-server and found none ("${binary}" did not run). Install it ` +
      "(Debian: apt-get install -y redis-server), or run the tests through .ci/run, which installs and starts one, " +
      "or set EFFECT_RETRY_REDIS_URL to a Redis the tests may write to."
  )

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = Net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as Net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

/** A redis-server process of the tests' own. */
export interface OwnRedis {
  readonly url: string
  readonly port: number
  /** Kills it at once (SIGKILL): connections drop, nothing is saved. */
  readonly kill: Effect.Effect<void>
  /** Starts it again on the same port, empty. */
  readonly restart: Effect.Effect<void>
}

/** Answers true once a PING on the port gets its PONG. */
const pong = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    let reply = ""
    socket.setTimeout(200, () => socket.destroy())
    socket.on("connect", () => socket.write("PING\r\n"))
    socket.on("data", (chunk) => {
      reply += chunk.toString()
      if (reply.includes("\r\n")) socket.end()
    })
    socket.on("error", () => {})
    socket.on("close", () => resolve(reply.startsWith("+PONG")))
  })

export const spawnOn = async (port: number): Promise<ChildProcess> => {
  try {
    execFileSync(binary, ["--version"], { stdio: "ignore" })
  } catch {
    throw missing()
  }
  const child = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore"
  })
  const started = Date.now()
  while (Date.now() - started < 5000) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} on port ${port}`)
    if (await pong(port)) return child
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  child.kill("SIGKILL")
  throw new Error(`redis-server did not answer on port ${port} within 5 s`)
}

export const stop = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGKILL")
  })

/** Starts a redis-server of the test's own on a free port, stopped when the scope closes. */
export const own: Effect.Effect<OwnRedis, never, Scope.Scope> = Effect.gen(function*() {
  const port = yield* Effect.promise(freePort)
  let child = yield* Effect.promise(() => spawnOn(port))
  yield* Effect.addFinalizer(() => Effect.promise(() => stop(child)))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: Effect.promise(() => stop(child)),
    restart: Effect.promise(async () => {
      child = await spawnOn(port)
    })
  }
})

/**
 * The URL of the Redis the tests of this run share: `EFFECT_RETRY_REDIS_URL`, set by `.ci/run` or else by the
 * global set-up (test/setup.ts), which starts a redis-server for the run and stops it after. Tests keep apart by a
 * prefix of their own.
 */
export const shared: Effect.Effect<string> = Effect.sync(() => {
  const url = process.env["EFFECT_RETRY_REDIS_URL"]
  if (url === undefined || url === "") throw missing()
  return url
})

let prefixes = 0
/** A key prefix no other test (or earlier run) uses. */
export const prefix = (name: string): string => `test-${name}-${process.pid}-${Date.now()}-${prefixes++}`
