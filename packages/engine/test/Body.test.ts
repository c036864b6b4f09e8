import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { PassThrough } from "node:stream"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Body from "../src/Body.js"

const bytes = (text: string) => new TextEncoder().encode(text)
const text = (gathered: Body.Gathered) => new TextDecoder().decode(gathered.bytes())

/** A web body of the given parts, that records how far it was read and whether it was cancelled. */
const webBody = (parts: ReadonlyArray<string>) => {
  const seen = { pulled: 0, cancelled: false }
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const part = parts[seen.pulled++]
      if (part === undefined) controller.close()
      else controller.enqueue(bytes(part))
    },
    cancel() {
      seen.cancelled = true
    }
  })
  return { response: new Response(stream), seen }
}

const read = (source: Body.Source, max: number) =>
  new Promise<string | undefined>((resolve) => {
    Body.readText(source, max, resolve)
  })

describe("Body", () => {
  it("prefix keeps the first bytes, cutting the part that does not fit", () => {
    const start = Body.prefix(5)
    expect(start.add(bytes("abc"))).toBe(true)
    expect(start.add(bytes("defg"))).toBe(false)
    expect(start.add(bytes("h"))).toBe(false)
    expect([text(start), start.size()]).toEqual(["abcde", 5])
  })

  it("whole stops at the part that passes the cap, and says how much came", () => {
    const body = Body.whole(4)
    expect(body.add(bytes("ab"))).toBe(true)
    expect(body.add(bytes("cd"))).toBe(true)
    expect(text(body)).toBe("abcd")
    expect(body.add(bytes("e"))).toBe(false)
    expect(body.size()).toBe(5)
  })

  describe("sourceOf", () => {
    it("takes a web Response whose body is unread, and nothing else", async () => {
      const fresh = new Response("x")
      const source = Body.sourceOf(fresh)
      expect(source?._tag === "Web" && source.response).toBe(fresh)
      const used = new Response("x")
      await used.text()
      expect(Body.sourceOf(used)).toBeUndefined()
      const locked = new Response("x")
      locked.body!.getReader()
      expect(Body.sourceOf(locked)).toBeUndefined()
      expect([Body.sourceOf(undefined), Body.sourceOf("x"), Body.sourceOf({ on: () => {} })]).toEqual([
        undefined,
        undefined,
        undefined
      ])
    })

    it("finds the runtime's response under an Effect HTTP client's response, and names its holder", () => {
      const web = new Response("x")
      const inner = { source: web }
      const direct = Body.sourceOf(inner)
      expect([direct?._tag === "Web" && direct.response, direct?.owner]).toEqual([web, inner])
      expect(direct?.owner).toBe(inner)
      const wrapped = Body.sourceOf({ original: inner, controller: {} })
      expect(wrapped?._tag === "Web" && wrapped.response).toBe(web)
      expect(wrapped?.owner).toBe(inner)
      expect(Body.sourceOf({ source: "not a response" })).toBeUndefined()
      // A view that only inherits `source` (it does more when its body is read) is read the client's way.
      expect(Body.sourceOf(Object.create(inner))).toBeUndefined()
    })

    it("takes a Node.js stream nobody has read from, paused or set to decode", () => {
      const fresh = new PassThrough()
      const source = Body.sourceOf(fresh)
      expect(source?._tag === "Node" && source.message).toBe(fresh)
      const decoding = new PassThrough()
      decoding.setEncoding("utf8")
      const paused = new PassThrough()
      paused.pause()
      const started = new PassThrough()
      started.end("x")
      started.read()
      const destroyed = new PassThrough()
      destroyed.destroy()
      expect([decoding, paused, started, destroyed].map(Body.sourceOf)).toEqual([
        undefined,
        undefined,
        undefined,
        undefined
      ])
    })
  })

  describe("readText from a web Response", () => {
    it("keeps the first max bytes and reads the body to its end", async () => {
      const { response, seen } = webBody(["abc", "def", "ghi"])
      expect(await read(Body.sourceOf(response)!, 4)).toBe("abcd")
      // Three parts, then the pull that found the end.
      expect(seen).toEqual({ pulled: 4, cancelled: false })
    })

    it("with max 0 keeps nothing and still reads the body to its end (a drain)", async () => {
      const { response, seen } = webBody(["abc", "def"])
      expect(await read(Body.sourceOf(response)!, 0)).toBe("")
      expect(seen).toEqual({ pulled: 3, cancelled: false })
    })

    it("reads an empty body as empty text, and never calls back before it returns", async () => {
      let called = false
      const done = new Promise<string | undefined>((resolve) => {
        Body.readText(Body.sourceOf(new Response(null))!, 10, (text) => {
          called = true
          resolve(text)
        })
        expect(called).toBe(false)
      })
      expect(await done).toBe("")
    })

    it("stopped: the body is cancelled and done is never called", async () => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes("a"))
        },
        cancel() {
          cancelled = true
        }
      })
      let cancelled = false
      const calls: Array<string | undefined> = []
      const stop = Body.readText(Body.sourceOf(new Response(stream))!, 10, (text) => calls.push(text))
      await new Promise((resolve) => setTimeout(resolve, 5))
      stop()
      await new Promise((resolve) => setTimeout(resolve, 5))
      expect([cancelled, calls]).toEqual([true, []])
    })

    it("a body that breaks off gives undefined", async () => {
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes("a"))
          controller.error(new Error("reset"))
        }
      })
      expect(await read(Body.sourceOf(new Response(stream))!, 10)).toBeUndefined()
    })
  })

  describe("readText from a Node.js message (a real server on 127.0.0.1)", () => {
    let server: Http.Server
    let port = 0
    /** Sockets the server saw closed, by path. */
    const closed = new Set<string>()

    beforeAll(async () => {
      server = Http.createServer((request, response) => {
        request.socket.once("close", () => closed.add(request.url!))
        if (request.url === "/parts") {
          response.writeHead(503, { "content-type": "text/plain" })
          response.write("abc")
          setTimeout(() => response.end("def"), 5)
        } else if (request.url === "/broken") {
          response.writeHead(503, { "content-length": "10" })
          response.write("abc")
          setTimeout(() => response.socket!.destroy(), 5)
        } else {
          // Never finishes its body.
          response.writeHead(503, { "content-type": "text/plain" })
          response.write("abc")
        }
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      port = (server.address() as AddressInfo).port
    })

    afterAll(async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    })

    const get = (path: string) =>
      new Promise<Http.IncomingMessage>((resolve, reject) => {
        Http.get({ host: "127.0.0.1", port, path, agent: false }, resolve).once("error", reject)
      })

    it("keeps the first max bytes of a body sent in parts", async () => {
      const message = await get("/parts")
      expect(await read(Body.sourceOf(message)!, 4)).toBe("abcd")
      expect(message.readableEnded).toBe(true)
    })

    it("never calls back before it returns, even on a body that has already come", async () => {
      const message = await get("/parts")
      await new Promise((resolve) => setTimeout(resolve, 20))
      let returned = false
      const text = await new Promise<string | undefined>((resolve) => {
        Body.readText(Body.sourceOf(message)!, 100, (text) => {
          expect(returned).toBe(true)
          resolve(text)
        })
        returned = true
      })
      expect(text).toBe("abcdef")
    })

    it("a body cut off before its length gives undefined", async () => {
      const message = await get("/broken")
      expect(await read(Body.sourceOf(message)!, 100)).toBeUndefined()
    })

    it("stopped: the message is destroyed (the server sees its connection close) and done is never called", async () => {
      const message = await get("/hang")
      const calls: Array<string | undefined> = []
      const stop = Body.readText(Body.sourceOf(message)!, 100, (text) => calls.push(text))
      await new Promise((resolve) => setTimeout(resolve, 10))
      stop()
      for (let i = 0; i < 100 && !closed.has("/hang"); i++) await new Promise((resolve) => setTimeout(resolve, 5))
      expect([message.destroyed, closed.has("/hang"), calls]).toEqual([true, true, []])
    })
  })
})
