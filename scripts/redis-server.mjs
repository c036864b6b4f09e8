#!/usr/bin/env node
/**
 * Makes sure a `redis-server` binary is there for the Redis integration tests and the fleet benchmark.
 *
 * `node scripts/redis-server.mjs` (run by `pnpm install`): when `redis-server` is missing and this is root on a
 * Debian-like system, installs Debian's `redis-server` package (`apt-get install -y`, non-interactive; `apt-get
 * update` first if the package is not found); otherwise it only says how to install it. It never fails the install.
 * `node scripts/redis-server.mjs --require` does the same and exits 1 when there is still no binary (`.ci/run`).
 */
import { spawnSync } from "node:child_process"

const required = process.argv.includes("--require")
const binary = process.env.EFFECT_RETRY_REDIS_SERVER ?? "redis-server"
const runs = (command, args) => spawnSync(command, args, { stdio: "ignore" }).status === 0
const found = () => runs(binary, ["--version"])

if (!found() && process.env.EFFECT_RETRY_REDIS_URL === undefined) {
  const root = typeof process.getuid === "function" && process.getuid() === 0
  if (root && runs("apt-get", ["--version"])) {
    console.log("redis-server not found: installing Debian's redis-server package (apt-get install -y redis-server)")
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" }
    const install = () =>
      spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "redis-server"], { stdio: "inherit", env })
        .status === 0
    if (!install()) {
      spawnSync("apt-get", ["update"], { stdio: "inherit", env })
      install()
    }
  }
  if (!found()) {
    console.log(
      "redis-server not found: the Redis tests need it. Install it (Debian/Ubuntu: apt-get install -y redis-server, " +
        "macOS: brew install redis), or set EFFECT_RETRY_REDIS_URL to a Redis the tests may write to."
    )
    if (required) process.exit(1)
  }
}
