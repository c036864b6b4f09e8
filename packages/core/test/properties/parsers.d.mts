import type * as FastCheck from "effect/FastCheck"

/** Generated cases and the rules a parser keeps on each: `check` lists the broken ones as "kind: detail". */
export interface Property {
  readonly arbitrary: FastCheck.Arbitrary<unknown>
  readonly check: (testCase: unknown) => ReadonlyArray<string>
}

export declare const httpDate: Property
export declare const retryAfter: Property
export declare const serverHintRead: Property
export declare const rateLimit: Property
export declare const fc: typeof FastCheck
export declare const all: {
  readonly HttpDate: Property
  readonly RetryAfter: Property
  readonly ServerHint: Property
  readonly RateLimit: Property
}
