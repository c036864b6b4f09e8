/**
 * Global set-up of the Redis tests: when `EFFECT_RETRY_REDIS_URL` is not set (a developer running `pnpm test`
 * without `.ci/run`), starts a redis-server on a free port of 127.0.0.1 for the run, and stops it after. Without a
 * redis-server binary the run fails here, saying how to get one.
 */
import { freePort, spawnOn, stop } from "./utils/redis.js"

export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const given = process.env["EFFECT_RETRY_REDIS_URL"]
  if (given !== undefined && given !== "") return undefined
  const port = await freePort()
  const child = await spawnOn(port)
  process.env["EFFECT_RETRY_REDIS_URL"] = `redis://127.0.0.1:${port}`
  return async () => {
    delete process.env["EFFECT_RETRY_REDIS_URL"]
    await stop(child)
  }
}
