/**
 * What every adapter (adapters.ts, effect4.ts) answers to: the call the harness makes, how it ended, and the
 * adapter's description. The Effect 4 rows live in a file of their own because they import another major version of
 * `effect` (the `effect-4` alias).
 */
export interface CallSpec {
  readonly url: string
  readonly method: "GET" | "POST"
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string
  readonly signal: AbortSignal
}

export type Outcome =
  | { readonly kind: "ok"; readonly status: number }
  | { readonly kind: "failed"; readonly status: number }
  | { readonly kind: "exception"; readonly error: string }
  /** Never sent: its phase's deadline passed before its turn (the harness's, not the library's doing). */
  | { readonly kind: "not-started" }

export interface Client {
  readonly call: (spec: CallSpec) => Promise<Outcome>
  readonly close: () => Promise<void>
}

/** Known quotas, per origin (`http://127.0.0.1:<port>`), for the row that is told them. */
export type ToldLimits = Readonly<
  Record<
    string,
    { readonly requests: number; readonly windowMs: number; readonly burst?: number; readonly backToBack?: boolean }
  >
>

export interface Adapter {
  /** Short id, used in tenant names. */
  readonly id: string
  /** Row label in the tables. */
  readonly label: string
  /** The packages it exercises (their installed versions go into RESULTS.md). */
  readonly packages: ReadonlyArray<string>
  /** The configuration, as one line for RESULTS.md (the comments in `make` say why). */
  readonly config: string
  /** The row is told the quotas (and only runs the workloads whose quota it was told). */
  readonly told?: boolean
  /**
   * A row of this toolkit (compared with the best peer in the summary), and the HTTP client under it: the peers are
   * every other row.
   */
  readonly toolkit?: { readonly effect: 3 | 4; readonly transport: "NodeHttpClient" | "FetchHttpClient" }
  /**
   * The rows of a workload run in groups, one group after the other, so that no more clients share the benchmark's
   * process at once than a program would: 0 (the default) for `NodeHttpClient` and its ecosystem's peers, 1 for the
   * `fetch`-based and Effect 4 rows.
   */
  readonly group?: 0 | 1
  /**
   * Makes one client instance, kept for the whole run as a program keeps its client: every workload goes through
   * it. `limits` are the quotas a told row is told.
   */
  readonly make: (retry: boolean, limits?: ToldLimits) => Promise<Client>
}

/** The rows of `withStatusRetry()` alone, one per Effect line and HTTP client. */
export const ALONE_IDS: ReadonlySet<string> = new Set(["effect-retry", "effect-retry-fetch", "effect4-retry"])

/**
 * The row `withStatusRetry()` alone on the same Effect line and HTTP client as row `i` (a coordinator is judged
 * against its own client without it); for a peer, the `NodeHttpClient` one; -1 when there is none.
 */
export const aloneOf = (adapters: ReadonlyArray<Adapter>, i: number): number => {
  const toolkit = adapters[i]?.toolkit
  const alone = adapters.findIndex((a) => a.id === "effect-retry")
  if (toolkit === undefined) return alone
  const same = adapters.findIndex((a) =>
    ALONE_IDS.has(a.id) && a.toolkit?.effect === toolkit.effect && a.toolkit.transport === toolkit.transport
  )
  return same < 0 ? alone : same
}

/** A response's status as an outcome: below 400 a success, else the failure the library surfaced. */
export const byStatus = (
  status: number
): Outcome => (status < 400 ? { kind: "ok", status } : { kind: "failed", status })

/** A short, single-line description of an unexpected error. */
export const describe = (error: unknown): string => {
  if (error instanceof Error || (typeof error === "object" && error !== null && "message" in error)) {
    const e = error as { name?: unknown; message?: unknown; code?: unknown; _tag?: unknown }
    const name = typeof e._tag === "string" ? e._tag : typeof e.name === "string" ? e.name : "Error"
    const code = typeof e.code === "string" ? ` [${e.code}]` : ""
    return `${name}${code}: ${String(e.message)}`.split("\n")[0]!.slice(0, 160)
  }
  return String(error).slice(0, 160)
}

/** An unexpected error as an outcome (counted as thrown). */
export const exception = (error: unknown): Outcome => ({ kind: "exception", error: describe(error) })
