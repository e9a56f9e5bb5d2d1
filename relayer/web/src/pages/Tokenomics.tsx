import type { FeeParams, Total } from "../api";
import { Empty, Page, Show, unreachable } from "../components";
import { useDenomPaths, useJson } from "../hooks";
import { coinText, type DenomChart, type DenomPaths, type FeeHistory, formatAmount, scaleChart, shapeHistory, summarize, unitOf, xLabel } from "../lib/chart";

const pct = (bps: number) => `${(bps / 100).toFixed(2)}%`;

const COLUMNS: [keyof Total, string][] = [
  ["collected", "Collected"],
  ["paid_to_executors", "Paid to executors"],
  ["burned", "Burned"],
  ["burn_pending", "Burn pending"],
  ["burn_in_flight", "Burn in flight"],
  ["community_paid", "To the community"],
  ["community_pending", "Community pending"],
  ["community_in_flight", "Community in flight"],
  ["refunded", "Refunded"],
];

/** "digits-cnn 0.001 CHIM (1000 uchim)", or the amount and denom as they are. */
function priceText(x: { model: string; denom: string; amount: string }, paths: DenomPaths): string {
  const u = unitOf(x.denom, paths);
  if (u.scale === 1) return `${x.model} ${x.amount} ${x.denom}`;
  return `${x.model} ${formatAmount(Number(x.amount) / u.scale)} ${u.unit} (${x.amount} ${x.denom})`;
}

const WIDE = { width: 480, height: 230, left: 52, right: 14, top: 12, bottom: 26 };
/** At phone width the chart is drawn narrower, so its text stays readable. */
const NARROW = { width: 340, height: 220, left: 46, right: 10, top: 12, bottom: 26 };
const narrow = () => typeof matchMedia === "function" && matchMedia("(max-width: 640px)").matches;

/** Fee totals of one denom over time: an SVG line chart (role img, its
 *  summary as the label) with the numbers in a table below. */
function FeeChart({ c }: { c: DenomChart }) {
  const small = narrow();
  const FRAME = small ? NARROW : WIDE;
  const s = scaleChart(c.xs, c.lines, FRAME, small ? 3 : 4);
  const label = summarize(c);
  const n = c.heights.length;
  const bottom = FRAME.height - FRAME.bottom;
  return (
    <figure class="linechart" data-testid="fee-chart" data-denom={c.denom}>
      <svg viewBox={`0 0 ${FRAME.width} ${FRAME.height}`} role="img" aria-label={label}>
        <title>{label}</title>
        {s.yTicks.map((t) => (
          <g key={`y${t.value}`}>
            <line class="grid" x1={FRAME.left} x2={FRAME.width - FRAME.right} y1={t.y} y2={t.y} />
            <text class="ytick" x={FRAME.left - 6} y={t.y + 4}>
              {formatAmount(t.value)}
            </text>
          </g>
        ))}
        <line class="axis" x1={FRAME.left} x2={FRAME.width - FRAME.right} y1={bottom} y2={bottom} />
        {s.xTicks.map((t, i) => (
          <text
            key={`x${i}`}
            class="xtick"
            x={t.x}
            y={FRAME.height - 8}
            text-anchor={s.xTicks.length > 1 && i === 0 ? "start" : i === s.xTicks.length - 1 && s.xTicks.length > 1 ? "end" : "middle"}
          >
            {xLabel(c, t.value)}
          </text>
        ))}
        {s.paths.map((p) => (
          <g key={p.field} class={`series ${p.field}`}>
            <polyline points={p.points.map(([x, y]) => `${x},${y}`).join(" ")} />
            {p.points.map(([x, y], i) => (
              <circle key={i} class="point" cx={x} cy={y} r={n > 60 ? 1.5 : 2.5} />
            ))}
          </g>
        ))}
      </svg>
      <figcaption>
        <ul class="legend" aria-label={`Latest totals in ${c.unit}`}>
          {c.lines.map((l) => (
            <li key={l.field} class={`series ${l.field}`}>
              <span class="swatch" aria-hidden="true" /> {l.label}: <strong>{formatAmount(l.values[n - 1] ?? 0)}</strong> {c.unit}
            </li>
          ))}
        </ul>
        <details>
          <summary>The numbers behind the chart ({n} samples)</summary>
          <div class="table-scroll">
            <table aria-label={`Fee totals in ${c.unit} over time`}>
              <thead>
                <tr>
                  <th scope="col">Height</th>
                  <th scope="col">Time (UTC)</th>
                  {c.lines.map((l) => (
                    <th scope="col" key={l.field}>
                      {l.label} ({c.unit})
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {c.heights.map((h, i) => (
                  <tr key={h}>
                    <td>{h}</td>
                    <td>{c.times[i] != null ? new Date(c.times[i] as number).toISOString().replace("T", " ").slice(0, 19) : "—"}</td>
                    {c.lines.map((l) => (
                      <td key={l.field}>{formatAmount(l.values[i] ?? 0)}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}

function History({ h, prices, paths }: { h: FeeHistory; prices: boolean | null; paths: DenomPaths }) {
  const charts = shapeHistory(h, paths).filter((c) => c.any);
  if (charts.length === 0)
    return (
      <Empty>
        Nothing paid yet between heights {h.oldest} and {h.latest}: the chart appears once a request pays a fee.{" "}
        {prices === false
          ? "No prices are set, so only requests that offer a fee pay one."
          : "Send a priced request (the Ask page, or `chimera ica infer`), then reload."}
      </Empty>
    );
  return (
    <>
      <p class="lead">
        Totals since genesis, sampled at {h.samples.length} heights from {h.oldest} to {h.latest}
        {charts[0].xKind === "time" ? " (x: block time, UTC)" : " (x: height)"}.
      </p>
      {charts.map((c) => (
        <section key={c.denom} aria-label={`Fee totals over time in ${c.unit}`}>
          <h3>
            {c.unit}
            {c.unit !== c.denom && <span class="meta"> ({paths[c.denom] ?? c.denom})</span>}
          </h3>
          <FeeChart c={c} />
        </section>
      ))}
    </>
  );
}

export function Tokenomics() {
  const totals = useJson<{ height: number; totals: Total[] }>("/api/fees/totals");
  const params = useJson<FeeParams>("/api/fees/params");
  const history = useJson<FeeHistory>("/api/fees/history?points=48");
  const paths = useDenomPaths();
  const prices = params.state === "ok" ? params.data.prices.length > 0 : null;
  const down = unreachable(params, history, totals);
  return (
    <Page id="tok-h" title="Tokenomics" down={down} what="the fee totals">
      <Show v={params} what="the fee parameters">
        {(p) => (
          <p class="lead">
            Each fee is split: executors {pct(p.executor_bps)}, burned {pct(p.burn_bps)}, community {pct(p.community_bps)}
            . An executor is excluded after {p.fault_limit} faults.{" "}
            {p.prices.length
              ? `Prices: ${p.prices.map((x) => priceText(x, paths)).join(", ")}.`
              : "No prices are set: requests pay what they offer."}
          </p>
        )}
      </Show>
      <h2 id="chart-h">Over time</h2>
      <Show v={history} what="the fee history">
        {(h) => <History h={h} prices={prices} paths={paths} />}
      </Show>
      <h2 id="totals-h">Fee totals since genesis</h2>
      <Show v={totals} what="the fee totals">
        {(d) =>
          d.totals.length === 0 ? (
            <Empty>No fees yet at height {d.height}: totals appear once a request pays a fee.</Empty>
          ) : (
            <table class="stack" aria-label={`Fee totals per denom at height ${d.height}`}>
              <caption>At height {d.height}, in base units</caption>
              <thead>
                <tr>
                  <th scope="col">Denom</th>
                  {COLUMNS.map(([, label]) => (
                    <th scope="col" key={label}>
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {d.totals.map((t) => (
                  <tr key={t.denom}>
                    <td data-label="Denom" title={paths[t.denom] ? `${t.denom} (${paths[t.denom]})` : t.denom}>
                      <strong>{paths[t.denom] ?? coinText("0", t.denom).text.replace(/^0 /, "")}</strong>
                    </td>
                    {COLUMNS.map(([k, label]) => (
                      <td data-label={label} key={k}>
                        {t[k]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </Page>
  );
}
