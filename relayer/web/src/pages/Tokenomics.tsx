import type { FeeParams, Total } from "../api";
import { Empty, Show } from "../components";
import { useJson } from "../hooks";

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

export function Tokenomics() {
  const totals = useJson<{ height: number; totals: Total[] }>("/api/fees/totals");
  const params = useJson<FeeParams>("/api/fees/params");
  return (
    <section aria-labelledby="tok-h">
      <h1 id="tok-h">Tokenomics</h1>
      <Show v={params} what="the fee parameters">
        {(p) => (
          <p class="lead">
            Each fee is split: executors {pct(p.executor_bps)}, burned {pct(p.burn_bps)}, community {pct(p.community_bps)}
            . An executor is excluded after {p.fault_limit} faults.{" "}
            {p.prices.length
              ? `Prices: ${p.prices.map((x) => `${x.model} ${x.amount} ${x.denom}`).join(", ")}.`
              : "No prices are set: requests pay what they offer."}
          </p>
        )}
      </Show>
      <h2>Fee totals since genesis</h2>
      <Show v={totals} what="the fee totals">
        {(d) =>
          d.totals.length === 0 ? (
            <Empty>No fees yet at height {d.height}: totals appear once a request pays a fee.</Empty>
          ) : (
            <table class="stack" aria-label={`Fee totals per denom at height ${d.height}`}>
              <caption>At height {d.height}</caption>
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
                    <td data-label="Denom">
                      <strong>{t.denom}</strong>
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
    </section>
  );
}
