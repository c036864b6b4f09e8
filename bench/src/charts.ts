/**
 * Charts as SVG, drawn by vega-lite (compiled to a vega spec) and rendered headless by vega's `View.toSVG()`: no
 * canvas, no browser.
 */
import * as vega from "vega"
import * as vl from "vega-lite"
import type { TopLevelSpec } from "vega-lite"
import type { ClientRun } from "./harness.js"

export const BIN_MS = 100

interface Point {
  readonly client: string
  /** Seconds since the client's calls started. */
  readonly t: number
  readonly series: string
}

/** One point per request the server received, one row per client, coloured by `series(arrival)`. */
const points = (
  runs: ReadonlyArray<ClientRun>,
  series: (arrival: ClientRun["arrivals"][number]) => string
): ReadonlyArray<Point> =>
  runs.flatMap((run) =>
    run.arrivals.map((a) => ({
      client: plain(run.adapter.label),
      t: Math.max(0, (a.at - run.start) / 1000),
      series: series(a)
    }))
  )

/** Labels without Markdown. */
const plain = (label: string) => label.replace(/`/g, "")

const render = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

const timeline = (
  title: string,
  subtitle: string,
  data: ReadonlyArray<Point>,
  order: ReadonlyArray<string>,
  legend: string,
  domain: ReadonlyArray<string>,
  range: ReadonlyArray<string>,
  maxSeconds: number
): TopLevelSpec => ({
  title: { text: title, subtitle: [...subtitle.split("\n")], anchor: "start", subtitleColor: "#444" },
  data: { values: data as Array<Point> },
  facet: {
    row: {
      field: "client",
      type: "nominal",
      sort: order.map(plain),
      title: null,
      header: {
        labelOrient: "top",
        labelAnchor: "start",
        labelAngle: 0,
        labelFontSize: 12,
        labelFontWeight: "bold",
        labelPadding: 2
      }
    }
  },
  spec: {
    width: 720,
    height: 60,
    mark: { type: "bar", binSpacing: 0 },
    encoding: {
      x: {
        field: "t",
        type: "quantitative",
        bin: { step: BIN_MS / 1000, extent: [0, maxSeconds] },
        title: "seconds since the client's calls started (bins of 100 ms)",
        scale: { domain: [0, maxSeconds] },
        axis: { values: Array.from({ length: Math.floor(maxSeconds * 2) + 1 }, (_, k) => k / 2), labelFlush: true }
      },
      y: { aggregate: "count", type: "quantitative", title: "requests", axis: { tickCount: 3 } },
      color: { field: "series", type: "nominal", title: legend, scale: { domain: [...domain], range: [...range] } }
    }
  },
  spacing: 8,
  resolve: { scale: { y: "shared" } },
  config: { view: { stroke: "#ddd" }, font: "sans-serif" }
})

const STATUS_COLOURS: Readonly<Record<string, string>> = {
  "200": "#3a923a",
  "429": "#d62728",
  "503": "#9467bd",
  "other": "#7f7f7f"
}

/** Requests per 100 ms, coloured by the status the server returned. */
export const statusTimeline = (
  title: string,
  subtitle: string,
  runs: ReadonlyArray<ClientRun>,
  maxSeconds: number
): Promise<string> => {
  const data = points(runs, (a) => (a.status in STATUS_COLOURS ? String(a.status) : "other"))
  const present = Object.keys(STATUS_COLOURS).filter((s) => data.some((d) => d.series === s))
  return render(timeline(
    title,
    subtitle,
    data,
    runs.map((r) => r.adapter.label),
    "status",
    present,
    present.map((s) => STATUS_COLOURS[s]!),
    maxSeconds
  ))
}

const ATTEMPT_COLOURS = ["#1f77b4", "#ff7f0e", "#d62728", "#8c564b", "#7f7f7f"] as const

/** Requests per 100 ms, coloured by attempt (first request of a call, first retry...). */
export const attemptTimeline = (
  title: string,
  subtitle: string,
  runs: ReadonlyArray<ClientRun>,
  maxSeconds: number
): Promise<string> => {
  const name = (
    attempt: number
  ) => (attempt === 1 ? "1st request" : attempt >= 5 ? "4th+ retry" : `retry ${attempt - 1}`)
  const domain = ["1st request", "retry 1", "retry 2", "retry 3", "4th+ retry"]
  const data = points(runs, (a) => name(a.attempt))
  const present = domain.filter((s) => data.some((d) => d.series === s))
  return render(timeline(
    title,
    subtitle,
    data,
    runs.map((r) => r.adapter.label),
    "attempt",
    present,
    present.map((s) => ATTEMPT_COLOURS[domain.indexOf(s)]!),
    maxSeconds
  ))
}
