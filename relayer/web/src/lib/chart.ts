// The Tokenomics chart: `/api/fees/history` shaped into per-denom lines,
// and the scaling of a small SVG line chart (no chart library: the
// bundle stays small). Pure functions, tested in tests/unit/chart.test.ts.

/** `GET /api/fees/history` (relayer/src/ui_history.rs). */
export interface FeeHistory {
  oldest: number;
  latest: number;
  samples: { height: number; time_ms: number | null }[];
  series: ({ denom: string } & Record<HistoryField, string[]>)[];
  cached: number;
}

export const FIELDS = ["collected", "paid_to_executors", "burned", "community_paid"] as const;
export type HistoryField = (typeof FIELDS)[number];

export const FIELD_LABEL: Record<HistoryField, string> = {
  collected: "Paid (collected)",
  paid_to_executors: "To executors",
  burned: "Burned",
  community_paid: "To the community",
};

/** chimerad's ICS-20 denom traces, `ibc/HASH` → `transfer/CHANNEL/BASE`
 *  (`/api/denoms`): a voucher's hash alone does not say what it is. */
export type DenomPaths = Record<string, string>;

/** How a denom is shown: LUNC for uluna (also arriving over IBC as
 *  `transfer/CHANNEL/uluna`, or as its `ibc/` hash when `paths` traces
 *  it), the base denom otherwise. */
export function unitOf(denom: string, paths: DenomPaths = {}): { unit: string; scale: number } {
  const traced = paths[denom] ?? denom;
  const base = traced.split("/").pop() ?? traced;
  if (base === "uluna") return { unit: "LUNC", scale: 1e6 };
  return { unit: denom, scale: 1 };
}

/** A coin for people: `0.0007 LUNC` (with `700 ibc/4627…` as its title),
 *  or the amount and a shortened `ibc/` denom when nothing traces it. */
export function coinText(amount: string, denom: string, paths: DenomPaths = {}): { text: string; title: string } {
  const { unit, scale } = unitOf(denom, paths);
  const title = `${amount} ${denom}${paths[denom] ? ` (${paths[denom]})` : ""}`;
  if (scale !== 1) return { text: `${formatAmount(displayAmount(amount, scale))} ${unit}`, title };
  const shown = denom.startsWith("ibc/") && denom.length > 16 ? `${denom.slice(0, 10)}…${denom.slice(-4)}` : denom;
  return { text: `${amount} ${shown}`, title };
}

/** A base-unit amount (decimal string) in display units, exact to 6 places. */
export function displayAmount(amount: string, scale: number): number {
  if (scale === 1) return Number(amount);
  const big = BigInt(amount || "0");
  const s = BigInt(scale);
  return Number(big / s) + Number(big % s) / scale;
}

/** Formats a display amount compactly: 1234.5 → "1,234.5", 0.0012 → "0.0012". */
export function formatAmount(x: number): string {
  if (x === 0) return "0";
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : 6;
  return x.toLocaleString("en-US", { maximumFractionDigits: digits });
}

export interface Line {
  field: HistoryField;
  label: string;
  values: number[];
}

export interface DenomChart {
  denom: string;
  unit: string;
  /** x of each point: block time (ms) when every sample has one, else the height. */
  xs: number[];
  xKind: "time" | "height";
  heights: number[];
  times: (number | null)[];
  lines: Line[];
  /** Whether anything was ever paid in this denom (some value above 0). */
  any: boolean;
}

/** One chart per denom, in the API's order. */
export function shapeHistory(h: FeeHistory, paths: DenomPaths = {}): DenomChart[] {
  const heights = h.samples.map((s) => s.height);
  const times = h.samples.map((s) => s.time_ms);
  const byTime = times.length > 0 && times.every((t) => t !== null) && new Set(times).size === times.length;
  const xs = byTime ? (times as number[]) : heights;
  return h.series.map((s) => {
    const { unit, scale } = unitOf(s.denom, paths);
    const lines = FIELDS.map((field) => ({
      field,
      label: FIELD_LABEL[field],
      values: (s[field] ?? []).map((a) => displayAmount(a, scale)),
    }));
    return {
      denom: s.denom,
      unit,
      xs,
      xKind: byTime ? "time" : "height",
      heights,
      times,
      lines,
      any: lines.some((l) => l.values.some((v) => v > 0)),
    };
  });
}

/** Up to about `count` round tick values from 0 to at least `max`. */
export function niceTicks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  if (ticks[ticks.length - 1] < max) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

export interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export interface Scaled {
  /** SVG points per line ("x,y x,y ..."), and the coordinates. */
  paths: { field: HistoryField; points: [number, number][] }[];
  yTicks: { value: number; y: number }[];
  xTicks: { value: number; x: number }[];
  yMax: number;
}

/** Maps the lines into `f` (y from 0 up to the top tick, x over the xs' range). */
export function scaleChart(xs: number[], lines: Line[], f: Frame, xTickCount = 4): Scaled {
  const maxY = Math.max(0, ...lines.flatMap((l) => l.values));
  const ticks = niceTicks(maxY);
  const yMax = ticks[ticks.length - 1];
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const plotW = f.width - f.left - f.right;
  const plotH = f.height - f.top - f.bottom;
  const x = (v: number) => (x1 === x0 ? f.left + plotW / 2 : f.left + ((v - x0) / (x1 - x0)) * plotW);
  const y = (v: number) => f.top + plotH - (v / yMax) * plotH;
  const round = (n: number) => Math.round(n * 10) / 10;
  const xTicks: { value: number; x: number }[] = [];
  if (xs.length > 0) {
    const n = x1 === x0 ? 1 : Math.min(xTickCount, xs.length);
    for (let i = 0; i < n; i++) {
      const v = n === 1 ? x0 : x0 + ((x1 - x0) * i) / (n - 1);
      xTicks.push({ value: v, x: round(x(v)) });
    }
  }
  return {
    paths: lines.map((l) => ({ field: l.field, points: l.values.map((v, i) => [round(x(xs[i])), round(y(v))] as [number, number]) })),
    yTicks: ticks.map((v) => ({ value: v, y: round(y(v)) })),
    xTicks,
    yMax,
  };
}

/** The chart in words (its aria-label): range and the latest value of each line. */
export function summarize(c: DenomChart): string {
  const n = c.heights.length;
  if (n === 0) return `${c.unit}: no samples`;
  const last = (l: Line) => formatAmount(l.values[n - 1] ?? 0);
  const first = (l: Line) => formatAmount(l.values[0] ?? 0);
  const range = n === 1 ? `at height ${c.heights[0]}` : `from height ${c.heights[0]} to ${c.heights[n - 1]} (${n} samples)`;
  const parts = c.lines.map((l) => `${l.label.toLowerCase()} ${first(l)} → ${last(l)}`);
  return `Fee totals in ${c.unit} (${c.denom}) ${range}: ${parts.join(", ")}.`;
}

/** An x tick's text: a time of day (with the date when the range spans days) or a height. */
export function xLabel(c: DenomChart, v: number): string {
  if (c.xKind === "height") return `h ${Math.round(v)}`;
  const d = new Date(v);
  const span = Math.max(...c.xs) - Math.min(...c.xs);
  const hhmm = d.toISOString().slice(11, 16);
  return span > 86_400_000 ? `${d.toISOString().slice(5, 10)} ${hhmm}` : span < 600_000 ? d.toISOString().slice(11, 19) : hhmm;
}
