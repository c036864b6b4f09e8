/**
 * One description of what the coordinator promises, as a table of cases both lines run: the Effect 3 line's
 * `Coordinator` (packages/core) and the Effect 4 line's (packages/effect4), each on its own TestClock.
 *
 * A case is a few calls, each starting at an instant (milliseconds after 0), and the answer each gets once it is let
 * go; the expectation is when each call was let go, or how it was refused, in plain values. Every case runs with no
 * release spread and every random draw fixed (`random`), so instants are exact.
 */

/** The origin of the cases. */
export const ORIGIN = "http://api.test"

/** How long each case runs, on the TestClock. */
export const END = 120_000

/** Request headers as both lines take them: lower-case names. */
export type HeaderRecord = Readonly<Record<string, string | ReadonlyArray<string> | undefined>>

/** The user's key of the cases that use one: the request's `x-api-key`, as a credential hash would be. */
export const key = (request: { readonly headers?: HeaderRecord | undefined }): string | undefined => {
  const value = request.headers?.["x-api-key"]
  return typeof value === "string" ? value : undefined
}

/** A duration as both lines read it. */
export type DurationText = `${number} ${"millis" | "second" | "seconds" | "minute" | "minutes"}`

/** Options in the words both lines take (plain values only); `keyed` adds `key` above. */
export interface CaseOptions {
  readonly cautiousStart?: boolean
  readonly limits?: Readonly<
    Record<
      string,
      {
        readonly requests: number
        readonly window: DurationText
        readonly burst?: number
        readonly backToBack?: boolean
      }
    >
  >
  readonly retryBudget?: false | { readonly k?: number; readonly minRequests?: number; readonly window?: DurationText }
  readonly maxSharedCooldown?: DurationText
  readonly originTtl?: DurationText
  readonly maxOrigins?: number
  readonly keyed?: true
}

/** One call: it asks for a permit at `at`; once let go, it is answered `after` ms later (never, without `answer`). */
export interface Call {
  readonly id: string
  readonly at: number
  /** Default: `${ORIGIN}/items/1`. */
  readonly url?: string
  /** Default: "first". */
  readonly attempt?: "first" | "retry" | "retry-after-hint"
  readonly deadline?: number
  /** Sent as the `x-api-key` header. */
  readonly apiKey?: string
  readonly answer?: { readonly after: number; readonly status: number; readonly headers?: HeaderRecord }
}

/** What became of a call: let go at an instant, refused at an instant (`OriginHeld`), or still waiting at the end. */
export type Outcome =
  | { readonly sentAt: number }
  | { readonly refusedAt: number; readonly reason: string; readonly until: number }
  | "waiting"

export interface Case {
  readonly name: string
  readonly options: CaseOptions
  /** Every random draw of the case (the retry budget's). Default: 0.5. */
  readonly random?: number
  /** In the order of `at`. */
  readonly calls: ReadonlyArray<Call>
  readonly expected: Readonly<Record<string, Outcome>>
}

const ok = (after = 0) => ({ after, status: 200 })

/** `X-RateLimit-*` fields: `remaining` of `limit` left, the window's reset in a second. */
const quota = (limit: number, remaining: number): HeaderRecord => ({
  "x-ratelimit-limit": String(limit),
  "x-ratelimit-remaining": String(remaining),
  "x-ratelimit-reset": "1"
})

/** Five calls at 0 the origin fails with a 500 at once: too few accepted for the retry budget. */
const failing: ReadonlyArray<Call> = ["a", "b", "c", "d", "e"].map((id) => ({
  id,
  at: 0,
  answer: { after: 0, status: 500 }
}))
const sentAtZero = Object.fromEntries(failing.map((call) => [call.id, { sentAt: 0 }]))

export const cases: ReadonlyArray<Case> = [
  {
    name: "a server's cooldown is shared: calls that start during it go at its instant",
    options: { cautiousStart: false },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 429, headers: { "retry-after": "2" } } },
      { id: "b", at: 500, answer: ok() },
      { id: "c", at: 500, url: `${ORIGIN}/other`, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 2_000 }, c: { sentAt: 2_000 } }
  },
  {
    name: "a cooldown longer than maxSharedCooldown holds only the call that was told",
    options: { cautiousStart: false, maxSharedCooldown: "10 seconds" },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 503, headers: { "retry-after": "20" } } },
      { id: "b", at: 500, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 500 } }
  },
  {
    name: "cautious start: one request goes first, the others go the instant its answer comes",
    options: {},
    calls: [
      { id: "a", at: 0, answer: ok(310) },
      { id: "b", at: 0, answer: ok(10) },
      { id: "c", at: 20, answer: ok(10) }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 310 }, c: { sentAt: 310 } }
  },
  {
    name: "a used-up window holds calls until its reset",
    options: { cautiousStart: false },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 200, headers: { ratelimit: "limit=2, remaining=0, reset=1" } } },
      { id: "b", at: 100, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 1_000 } }
  },
  {
    name: "a request counted first in the server's next window: the next opener waits for that window's reset",
    options: {},
    calls: [
      { id: "a", at: 0, answer: { after: 10, status: 200, headers: quota(2, 1) } },
      // Sent at a's answer, it left all but one too: the window a found had closed, and the next one ends by 1030.
      { id: "b", at: 0, answer: { after: 20, status: 200, headers: quota(2, 1) } },
      { id: "c", at: 100, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 10 }, c: { sentAt: 1_030 } }
  },
  {
    name: "a hold past the call's deadline fails it at once, saying until when",
    options: { cautiousStart: false },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 503, headers: { "retry-after": "20" } } },
      { id: "b", at: 1_000, deadline: 10_000 }
    ],
    expected: { a: { sentAt: 0 }, b: { refusedAt: 1_000, reason: "cooldown", until: 20_000 } }
  },
  {
    name: "a call waiting for an answer on its way waits up to its deadline, no longer",
    options: {},
    calls: [
      { id: "a", at: 0 },
      { id: "b", at: 0, deadline: 1_300 }
    ],
    expected: { a: { sentAt: 0 }, b: { refusedAt: 1_300, reason: "learning", until: 5_000 } }
  },
  {
    name: "key: requests with different keys to one origin share nothing",
    options: { cautiousStart: false, keyed: true },
    calls: [
      { id: "a", at: 0, apiKey: "A", answer: { after: 0, status: 503, headers: { "retry-after": "20" } } },
      { id: "b", at: 100, apiKey: "B", answer: ok() },
      { id: "c", at: 100, apiKey: "A", answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 100 }, c: { sentAt: 20_000 } }
  },
  {
    name: "a known limit paces requests from the very first: at most `requests` per window",
    options: { limits: { [ORIGIN]: { requests: 2, window: "1 second" } } },
    calls: ["a", "b", "c", "d", "e"].map((id) => ({ id, at: 0, answer: ok() })),
    expected: {
      a: { sentAt: 0 },
      b: { sentAt: 0 },
      c: { sentAt: 1_000 },
      d: { sentAt: 1_000 },
      e: { sentAt: 2_000 }
    }
  },
  {
    name:
      "a known limit whose windows are back to back: each follows the first answer's bound, however late its own answers",
    // The first answer (at 40) bounds the first window's end by 1_040; the second window's answers come 90 ms after
    // it opened. Without `backToBack`, e would wait for 2_130 (that window may have begun with its first request).
    options: { limits: { [ORIGIN]: { requests: 2, window: "1 second", backToBack: true } } },
    calls: [
      ...["a", "b"].map((id) => ({ id, at: 0, answer: { after: 40, status: 200 } })),
      ...["c", "d", "e"].map((id) => ({ id, at: 0, answer: { after: 90, status: 200 } }))
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 0 }, c: { sentAt: 1_040 }, d: { sentAt: 1_040 }, e: { sentAt: 2_040 } }
  },
  {
    name: "a route back in a bucket it left, after that bucket's window ended: its requests on their way count there",
    // a, b and c spend two of the origin's own windows. d's answer names a bucket ("default"): the route goes there.
    // e and f go at once at 6_000, in "default"; e's answer names none and brings the route back to the origin's own
    // bucket, whose window ended at 4_010. f is still on its way, counted in the server's window that e's answer
    // starts: g and h wait for that window's end (a window after e's answer), not go at once into it.
    options: { limits: { [ORIGIN]: { requests: 2, window: "1 second" } } },
    calls: [
      { id: "a", at: 0, answer: { after: 10, status: 200, headers: quota(2, 1) } },
      { id: "b", at: 0, answer: { after: 10, status: 200, headers: quota(2, 0) } },
      { id: "c", at: 3_000, answer: { after: 10, status: 200, headers: quota(2, 1) } },
      {
        id: "d",
        at: 3_500,
        answer: {
          after: 10,
          status: 200,
          headers: { ratelimit: `"default";r=0;t=1`, "ratelimit-policy": `"default";q=2;w=1` }
        }
      },
      { id: "e", at: 6_000, answer: { after: 10, status: 200, headers: quota(2, 1) } },
      { id: "f", at: 6_000, answer: { after: 20, status: 200, headers: quota(2, 0) } },
      ...["g", "h"].map((id): Call => ({ id, at: 6_000, answer: { after: 10, status: 200, headers: quota(2, 1) } }))
    ],
    expected: {
      a: { sentAt: 0 },
      b: { sentAt: 0 },
      c: { sentAt: 3_000 },
      d: { sentAt: 3_500 },
      e: { sentAt: 6_000 },
      f: { sentAt: 6_000 },
      g: { sentAt: 7_010 },
      h: { sentAt: 7_010 }
    }
  },
  {
    name: "a known limit with burst 1 spaces requests evenly over the window",
    options: { limits: { [ORIGIN]: { requests: 10, window: "1 second", burst: 1 } } },
    calls: ["a", "b", "c"].map((id) => ({ id, at: 0, answer: ok() })),
    expected: { a: { sentAt: 0 }, b: { sentAt: 100 }, c: { sentAt: 200 } }
  },
  {
    // Most of the 404s are answers no permit asked to read (one in LEARN_EVERY is read): counted refused, 100 of 120
    // answers would refuse the retry (p = 0.55 > 0.5).
    name: "a 4xx that says nothing of limits is an accepted answer, read or not: the retry budget refuses no retry",
    options: { cautiousStart: false },
    calls: [
      ...Array.from({ length: 20 }, (_, i): Call => ({ id: `ok${i}`, at: i * 10, answer: ok() })),
      ...Array.from({ length: 100 }, (_, i): Call => ({
        id: `missing${i}`,
        at: 200 + i * 10,
        url: `${ORIGIN}/items/${i}`,
        answer: { after: 0, status: 404 }
      })),
      { id: "retry", at: 1_300, attempt: "retry", answer: ok() }
    ],
    expected: {
      ...Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`ok${i}`, { sentAt: i * 10 }])),
      ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`missing${i}`, { sentAt: 200 + i * 10 }])),
      retry: { sentAt: 1_300 }
    }
  },
  {
    name: "the retry budget refuses a retry after a backoff to a failing origin, not a retry a hint asked for",
    options: { cautiousStart: false, retryBudget: { k: 2, minRequests: 5 } },
    random: 0,
    calls: [
      ...failing,
      { id: "retry", at: 100, attempt: "retry", answer: ok() },
      { id: "hinted", at: 100, attempt: "retry-after-hint", answer: ok() }
    ],
    expected: { ...sentAtZero, retry: { refusedAt: 100, reason: "retry-budget", until: 100 }, hinted: { sentAt: 100 } }
  },
  {
    name: "retryBudget: false lets every retry go",
    options: { cautiousStart: false, retryBudget: false },
    random: 0,
    calls: [...failing, { id: "retry", at: 100, attempt: "retry", answer: ok() }],
    expected: { ...sentAtZero, retry: { sentAt: 100 } }
  },
  {
    name: "originTtl: an origin unused that long is forgotten, its cooldown with it",
    options: { cautiousStart: false, originTtl: "10 seconds" },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 503, headers: { "retry-after": "30" } } },
      { id: "b", at: 15_000, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 15_000 } }
  },
  {
    name: "maxOrigins: the least recently used origin is forgotten first",
    options: { cautiousStart: false, maxOrigins: 1 },
    calls: [
      { id: "a", at: 0, answer: { after: 0, status: 503, headers: { "retry-after": "30" } } },
      { id: "b", at: 100, url: "http://other.test/items/1", answer: ok() },
      { id: "c", at: 200, answer: ok() }
    ],
    expected: { a: { sentAt: 0 }, b: { sentAt: 100 }, c: { sentAt: 200 } }
  }
]

/**
 * The outcomes of a case with the calls that differ only in their id made interchangeable: which of several equal
 * calls goes first is not promised, only what becomes of them together. Each line compares
 * `interchangeable(c, observed)` with `interchangeable(c, c.expected)`.
 */
export const interchangeable = (
  c: Case,
  outcomes: Readonly<Record<string, Outcome>>
): Readonly<Record<string, Outcome>> => {
  const twins = new Map<string, Array<string>>()
  for (const call of c.calls) {
    const { id, ...rest } = call
    const like = JSON.stringify(rest)
    twins.set(like, [...(twins.get(like) ?? []), id])
  }
  const result: Record<string, Outcome> = {}
  for (const ids of twins.values()) {
    const sorted = ids.map((id) => outcomes[id] ?? "waiting").sort((x, y) =>
      JSON.stringify(x) < JSON.stringify(y) ? -1 : JSON.stringify(x) > JSON.stringify(y) ? 1 : 0
    )
    ids.forEach((id, i) => {
      result[id] = sorted[i]!
    })
  }
  return result
}

/** What a line's glue writes down of a case's calls, read back as outcomes to compare with `expectedOf(c)`. */
export const recorder = (c: Case) => {
  const outcomes: Record<string, Outcome> = {}
  return {
    sent: (call: Call, at: number) => {
      outcomes[call.id] = { sentAt: at }
    },
    refused: (call: Call, at: number, error: { readonly reason: string; readonly until: number }) => {
      outcomes[call.id] = { refusedAt: at, reason: error.reason, until: error.until }
    },
    outcomes: () =>
      interchangeable(c, Object.fromEntries(c.calls.map((call) => [call.id, outcomes[call.id] ?? "waiting"])))
  }
}

/** What a case expects, with its interchangeable calls made so. */
export const expectedOf = (c: Case) => interchangeable(c, c.expected)

/** The answer to a call's request, as both lines' `observe` takes it. */
export const answerOf = (answer: NonNullable<Call["answer"]>, receivedAt: number) => ({
  status: answer.status,
  headers: answer.headers ?? {},
  receivedAt
})

/** The URL, attempt and headers of a call's request, as both lines take them. */
export const requestOf = (call: Call) => ({
  method: "GET",
  url: call.url ?? `${ORIGIN}/items/1`,
  headers: call.apiKey === undefined ? {} : { "x-api-key": call.apiKey },
  attempt: call.attempt ?? "first",
  ...(call.deadline === undefined ? {} : { deadline: call.deadline })
})

/** A case's options without `keyed`, and `key` when it is keyed. */
export const optionsOf = (c: Case) => {
  const { keyed, ...rest } = c.options
  return keyed === true ? { ...rest, releaseSpread: 0, key } : { ...rest, releaseSpread: 0 }
}
