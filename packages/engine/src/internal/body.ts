/**
 * Response bodies read part by part up to a cap, on plain byte arrays: the retrying clients of both lines feed them
 * the parts of a body stream.
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
