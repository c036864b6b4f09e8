/** @internal */
export type Jitter = "none" | "full" | "equal" | "decorrelated" | "proportional"

/** @internal */
export const JITTERS: ReadonlyArray<Jitter> = ["none", "full", "equal", "decorrelated", "proportional"]

/**
 * base * factor^attempt, capped; safe for any attempt number (never Infinity or NaN).
 * @internal
 */
export const exponential = (base: number, cap: number, factor: number, attempt: number): number => {
  const grown = base * Math.pow(factor, Math.max(0, attempt))
  return grown < cap ? grown : cap
}

/**
 * One jittered delay in milliseconds. `attempt` is 0 for the first retry; `random` is in [0, 1); `previous` is the
 * last delay this strategy gave (decorrelated jitter grows from it; `base` before the first).
 * @internal
 */
export const delay = (
  jitter: Jitter,
  base: number,
  cap: number,
  factor: number,
  attempt: number,
  random: number,
  previous: number
): number => {
  switch (jitter) {
    case "none":
      return exponential(base, cap, factor, attempt)
    case "full":
      return random * exponential(base, cap, factor, attempt)
    case "equal": {
      const e = exponential(base, cap, factor, attempt)
      return e / 2 + random * (e / 2)
    }
    case "proportional":
      return Math.min(cap, exponential(base, cap, factor, attempt) * (0.8 + 0.4 * random))
    case "decorrelated":
      // Brooker: sleep = min(cap, uniform(base, previous * 3))
      return Math.min(cap, base + random * (Math.max(base, previous * 3) - base))
  }
}
