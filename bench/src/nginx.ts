/**
 * A real nginx in front of the benchmark: started from Debian's binary with a config generated in a temporary
 * directory, on a free port of 127.0.0.1, as a single process (`daemon off; master_process off;`) so that killing it
 * leaves nothing behind. Nothing is written outside the temporary directory (pid, logs, temp paths are all in it).
 *
 * Every location rate-limits with `limit_req` per tenant (the path prefix `/t/<tenant>/`), without burst and without
 * any hint header, and answers 200 by itself (a small static file) to what it lets through. `/t/<tenant>/s503/...` rejects
 * with nginx's default status (503), `/t/<tenant>/s429/...` with `limit_req_status 429`, `/t/<tenant>/ok/...` never
 * rejects (the warm-up). Every request is written to an access log (arrival time, status, call id), which `arrivals`
 * reads back.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { type Arrival, now } from "./protocol.js"

export interface NginxOptions {
  /** Requests per second allowed per tenant and location, without burst. */
  readonly rate: number
}

export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  readonly base: string
  readonly version: string
  /** The requests nginx logged so far, per tenant (the path segment after `/t/`). */
  readonly arrivals: () => Record<string, ReadonlyArray<Arrival>>
  /** Stops nginx (at once) and removes its directory; safe to call twice. */
  readonly stop: () => void
}

/** The nginx binary: on PATH, or where Debian puts it (`/usr/sbin` is not on every user's PATH). */
export const findNginx = (): string | undefined => {
  for (const dir of [...(process.env["PATH"] ?? "").split(path.delimiter), "/usr/sbin", "/usr/local/sbin"]) {
    if (dir === "") continue
    const candidate = path.join(dir, "nginx")
    try {
      fs.accessSync(candidate, fs.constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  return undefined
}

/** A port of 127.0.0.1 free at the time of asking. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })

const config = (dir: string, port: number, options: NginxOptions): string => `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 120s;
  keepalive_requests 100000;
  map $uri $tenant { ~^/t/(?<name>[^/]+)/ $name; default ""; }
  log_format bench '$msec $status $request_method $tenant $http_x_call_id $http_idempotency_key';
  limit_req_zone $tenant zone=s503:10m rate=${options.rate}r/s;
  limit_req_zone $tenant zone=s429:10m rate=${options.rate}r/s;
  limit_req_log_level info;
  server {
    listen 127.0.0.1:${port};
    access_log ${dir}/access.log bench;
    # A static file (content phase): \`return\` would answer in the rewrite phase, before limit_req runs.
    root ${dir}/www;
    default_type application/json;
    location ~ ^/t/[^/]+/s503/ { limit_req zone=s503; try_files /ok.json =404; }
    location ~ ^/t/[^/]+/s429/ { limit_req zone=s429; limit_req_status 429; try_files /ok.json =404; }
    location / { try_files /ok.json =404; }
  }
}
`

/**
 * Starts nginx, or answers why it cannot (no binary, a config it refuses, no answer within 5 s). The process is
 * killed when this process exits, however it exits.
 */
export const startNginx = async (options: NginxOptions): Promise<Nginx | string> => {
  const binary = findNginx()
  if (binary === undefined) return "nginx is not installed (Debian: `apt-get install -y nginx-light`)"
  // `nginx -v` prints to stderr.
  const probe = spawnSync(binary, ["-v"], { encoding: "utf8", timeout: 5_000 })
  if (probe.error !== undefined) return `nginx -v failed: ${probe.error.message}`
  const version = /nginx\/([\d.]+)/.exec(`${probe.stdout}${probe.stderr}`)?.[1] ?? "?"
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-nginx-"))
  fs.mkdirSync(path.join(dir, "www"))
  fs.writeFileSync(path.join(dir, "www", "ok.json"), "{}")
  const port = await freePort()
  const conf = path.join(dir, "nginx.conf")
  fs.writeFileSync(conf, config(dir, port, options))
  let child: ChildProcess | undefined
  let stopped = false
  const stop = () => {
    if (stopped) return
    stopped = true
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {
      // best effort
    }
  }
  process.once("exit", stop)
  // `-e`: the error log from the first instant (before the config is read nginx would open its built-in path).
  child = spawn(binary, ["-p", dir, "-c", conf, "-e", path.join(dir, "error.log")], {
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr?.on("data", (chunk) => {
    stderr += String(chunk)
  })
  const exited = new Promise<string>((resolve) => {
    child!.once("error", (error) => resolve(`nginx did not start: ${error.message}`))
    child!.once(
      "exit",
      (code, signal) => resolve(`nginx exited (${code ?? signal}): ${stderr.trim().split("\n")[0] ?? ""}`)
    )
  })
  const base = `http://127.0.0.1:${port}`
  const deadline = now() + 5_000
  while (now() < deadline) {
    const ready = await Promise.race([
      fetch(`${base}/`).then((r) => r.status === 200, () => false),
      exited.then((why) => why)
    ])
    if (ready === true) break
    if (typeof ready === "string") {
      stop()
      return ready
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  if (now() >= deadline) {
    stop()
    return "nginx did not answer within 5 s"
  }
  const logFile = path.join(dir, "access.log")
  return {
    base,
    version,
    stop,
    arrivals: () => {
      const out: Record<string, Array<Arrival>> = {}
      const attempts = new Map<string, number>()
      let text = ""
      try {
        text = fs.readFileSync(logFile, "utf8")
      } catch {
        return out
      }
      for (const line of text.split("\n")) {
        const [msec, status, method, tenant, call, key] = line.split(" ")
        if (tenant === undefined || tenant === "" || call === undefined) continue
        const id = call === "-" ? "(none)" : call
        const attempt = (attempts.get(id) ?? 0) + 1
        attempts.set(id, attempt)
        ;(out[tenant] ??= []).push({
          at: Number(msec) * 1000,
          call: id,
          attempt,
          method: method ?? "GET",
          status: Number(status),
          key: key !== undefined && key !== "-"
        })
      }
      return out
    }
  }
}
