/**
 * Response bodies read part by part up to a cap, on plain byte arrays (the retrying clients of both lines feed them
 * the parts of a body stream), or straight from the runtime's own response (a web `Response`, a Node.js message).
 */

/** The bytes gathered from a body's parts so far. */
export interface Gathered {
  /**
   * Takes the next part; `false` when reading should stop (the cap is reached, or passed under `whole`).
   */
  readonly add: (part: Uint8Array) => boolean
  /** How many bytes came: under `whole`, more than the cap once it was passed. */
  readonly size: () => number
  /** The bytes kept, as one array. */
  readonly bytes: () => Uint8Array
}

const gather = (max: number, truncate: boolean): Gathered => {
  const parts: Array<Uint8Array> = []
  let size = 0
  let kept = 0
  return {
    add: (part) => {
      if (truncate) {
        const room = max - kept
        const taken = part.length > room ? part.subarray(0, room) : part
        if (taken.length > 0) parts.push(taken)
        kept += taken.length
        size = kept
        return kept < max
      }
      size += part.length
      if (size > max) return false
      parts.push(part)
      kept = size
      return true
    },
    size: () => size,
    bytes: () => {
      if (parts.length === 1) return parts[0]!
      const whole = new Uint8Array(kept)
      let offset = 0
      for (const part of parts) {
        whole.set(part, offset)
        offset += part.length
      }
      return whole
    }
  }
}

/**
 * The first `max` bytes of a body (a failure's body kept on its error): a part that does not fit is cut, and
 * reading stops once `max` bytes are kept.
 */
export const prefix = (max: number): Gathered => gather(max, true)

/**
 * A whole body of at most `max` bytes (`Infinity` for no cap): reading stops at the part that passes the cap, and
 * then `size()` is more than `max`.
 */
export const whole = (max: number): Gathered => gather(max, false)

/** Whether a declared `Content-Length` (a header value, or undefined) says the body is larger than `max` bytes. */
export const declaredOver = (contentLength: string | undefined, max: number): boolean => Number(contentLength) > max

/** Statuses whose answers have no body (RFC 9110): 204, 205 and 304. */
export const NO_BODY: ReadonlySet<number> = new Set([204, 205, 304])

/**
 * A response body that can be read without the HTTP client's own body effects: the runtime's web `Response`, or a
 * Node.js message (`http.IncomingMessage`), neither read from yet; `owner` is the client's response that holds it,
 * kept alive while the body is read (an Effect HTTP client aborts a request once its response is collected).
 */
export type Source =
  | { readonly _tag: "Web"; readonly response: Response; readonly owner: object }
  | { readonly _tag: "Node"; readonly message: NodeMessage; readonly owner: object }

/** What is read of a Node.js message: the members of `stream.Readable` used here. */
export interface NodeMessage {
  readonly readableDidRead: boolean
  readonly readableEnded: boolean
  readonly readableEncoding: string | null
  readonly readableFlowing: boolean | null
  readonly destroyed: boolean
  on(event: "data", listener: (part: Uint8Array) => void): unknown
  on(event: "end" | "close", listener: () => void): unknown
  on(event: "error", listener: (error: unknown) => void): unknown
  removeListener(event: "data", listener: (part: Uint8Array) => void): unknown
  removeListener(event: "end" | "close", listener: () => void): unknown
  destroy(): unknown
}

/** A Node.js message nobody has read from, paused or set to decode its bytes itself. */
const isNodeMessage = (u: object): u is NodeMessage => {
  const m = u as Partial<Record<keyof NodeMessage, unknown>>
  return typeof m.on === "function" && typeof m.removeListener === "function" && typeof m.destroy === "function" &&
    m.readableDidRead === false && m.readableEnded === false && m.readableEncoding === null &&
    m.readableFlowing === null && m.destroyed === false
}

/**
 * The runtime's response under an Effect HTTP client's response, and the client's response that holds it: both
 * Effect lines keep it as an own `source`, under the `original` of the wrapper that makes a request interruptible.
 * A response that only inherits its `source` (a view made to do more when its body is read) is not looked into.
 */
const held = (u: object): readonly [unknown, object] => {
  const original = (u as { readonly original?: unknown }).original
  const owner = typeof original === "object" && original !== null ? original : u
  return Object.hasOwn(owner, "source") ? [(owner as { readonly source: unknown }).source, owner] : [owner, owner]
}

/**
 * The body of `response` (or of the runtime's response an Effect HTTP client's `response` holds) when it is a web
 * `Response` whose body is neither used nor locked, or a Node.js message nobody has read from (nor paused, nor set
 * to decode its bytes itself); undefined for anything else, which is then read the client's way.
 */
export const sourceOf = (response: unknown): Source | undefined => {
  if (typeof response !== "object" || response === null) return undefined
  const [u, owner] = held(response)
  if (typeof u !== "object" || u === null) return undefined
  if (typeof Response === "function" && u instanceof Response) {
    return u.bodyUsed || u.body?.locked === true ? undefined : { _tag: "Web", response: u, owner }
  }
  return isNodeMessage(u) ? { _tag: "Node", message: u, owner } : undefined
}

const utf8 = new TextDecoder()

/** The owners of the bodies being read (see `Source`): held here until their read ends. */
const reading = new Set<object>()

/**
 * Reads a body to its end, keeping its first `max` bytes (the rest is read and dropped, so the connection can serve
 * another request), and calls `done` once with them as UTF-8 text, or with undefined when the body broke off. `done`
 * is never called before `readText` returns. The function handed back stops the read (which ends the connection)
 * and keeps `done` from being called; it does nothing once `done` was. There is no time limit: a caller bounds the
 * read with a timer of its own. The source's `owner` is kept alive until the read ends.
 */
export const readText = (source: Source, max: number, done: (text: string | undefined) => void): () => void => {
  const start = prefix(max)
  const owner = source.owner
  reading.add(owner)
  let over = false
  /** Ends the read once: false when it had ended already. */
  const end = (): boolean => {
    if (over) return false
    over = true
    reading.delete(owner)
    return true
  }
  const finish = (text: string | undefined) => {
    if (end()) done(text)
  }
  if (source._tag === "Web") {
    const body = source.response.body
    if (body === null) {
      void Promise.resolve().then(() => finish(""))
      return end
    }
    const reader = body.getReader()
    const pump = (): void => {
      reader.read().then((read) => {
        if (over) return
        if (read.done) return finish(utf8.decode(start.bytes()))
        start.add(read.value)
        pump()
      }, () => finish(undefined))
    }
    pump()
    return () => {
      if (end()) reader.cancel().catch(() => {})
    }
  }
  const message = source.message
  const onData = (part: Uint8Array) => {
    start.add(part)
  }
  const onEnd = () => {
    unlisten()
    finish(utf8.decode(start.bytes()))
  }
  // A message closed before its end broke off; an error is then followed by its close.
  const onClose = () => {
    unlisten()
    finish(undefined)
  }
  const unlisten = () => {
    message.removeListener("data", onData)
    message.removeListener("end", onEnd)
    message.removeListener("close", onClose)
  }
  message.on("data", onData)
  message.on("end", onEnd)
  message.on("close", onClose)
  // Never removed: an error with no listener left would end the process.
  message.on("error", () => {})
  return () => {
    if (!end()) return
    unlisten()
    message.destroy()
  }
}
