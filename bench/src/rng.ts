/** A small seeded generator (sfc32 seeded through splitmix32): the same seed gives the same stream everywhere. */
export const seeded = (seed: number): () => number => {
  let s = seed >>> 0
  const split = () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
  let a = split()
  let b = split()
  let c = split()
  let d = split()
  return () => {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t / 4294967296
  }
}

/** Derives the seed of one repeat from the run's seed, so repeats differ and every client of a repeat shares it. */
export const deriveSeed = (seed: number, repeat: number): number =>
  Math.floor(seeded(seed ^ (repeat * 0x2545f491))() * 2 ** 32)
