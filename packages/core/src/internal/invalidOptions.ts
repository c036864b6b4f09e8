import * as Data from "effect/Data"

/** @internal */
export class InvalidRetryOptions extends Data.TaggedError("InvalidRetryOptions")<{
  readonly problems: ReadonlyArray<string>
}> {
  override get message(): string {
    return `Invalid retry options: ${this.problems.join("; ")}`
  }
}
