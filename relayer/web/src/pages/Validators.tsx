import type { Executor, ExecutorKey } from "../api";
import { Empty, Mono, Page, Show, unreachable } from "../components";
import { useDenomPaths, useJson } from "../hooks";
import { coinText } from "../lib/chart";
import { agreementOf, formatPercent } from "../lib/agreement";

/** Agreed against disagreed, as a percentage and a small bar. */
function AgreementCell({ jobsPaid, faults }: { jobsPaid: string; faults: string }) {
  const a = agreementOf(jobsPaid, faults);
  if (a.percent === null) return <em title={a.text}>{a.text}</em>;
  return (
    <span title={a.text}>
      <strong>{formatPercent(a.percent)}</strong>
      <span class="bar-track" role="img" aria-label={a.text}>
        <span class="bar-fill" style={{ width: `${a.percent}%` }} />
      </span>
      <span class="meta">
        agreed {a.agreed.toString()}, disagreed {a.disagreed.toString()}
      </span>
    </span>
  );
}

function KeyCell({ k }: { k: string | null | undefined }) {
  if (k === undefined) return <em>…</em>;
  if (k === null) return <em>none published</em>;
  return <Mono value={k} keep={6} label="X25519 executor key" />;
}

export function Validators() {
  const ex = useJson<{ height: number; executors: Executor[] }>("/api/executors");
  const paths = useDenomPaths();
  const keys = useJson<{ keys: ExecutorKey[] }>("/api/executor-keys");
  const keyOf = (validator: string) =>
    keys.state === "ok" ? keys.data.keys.find((k) => k.validator.toUpperCase() === validator.toUpperCase())?.x25519_public_key ?? null : undefined;
  const down = unreachable(ex, keys);
  return (
    <Page id="val-h" title="Validators" down={down} what="the validators">
      <p class="lead">
        Every validator runs the models as an executor; its operator account is paid its share of each fee. Agreement: the paid jobs it
        agreed with the quorum on (jobs paid) against the jobs it disagreed on (faults, counted since it last registered its executor key).
        Jobs that paid chimerad no fee, and validators without an operator account, add no agreements.
      </p>
      <Show v={ex} what="the executors">
        {(d) =>
          d.executors.length === 0 ? (
            <Empty>This host reports no validators.</Empty>
          ) : (
            <table class="stack" aria-label={`Executors at height ${d.height}`}>
              <caption>At height {d.height}</caption>
              <thead>
                <tr>
                  <th scope="col">Validator</th>
                  <th scope="col">Operator</th>
                  <th scope="col">Earnings</th>
                  <th scope="col">Agreement</th>
                  <th scope="col">Jobs paid</th>
                  <th scope="col">Faults</th>
                  <th scope="col">Excluded</th>
                  <th scope="col">Executor key</th>
                </tr>
              </thead>
              <tbody>
                {d.executors.map((e) => (
                  <tr key={e.validator}>
                    <td data-label="Validator">
                      <Mono value={e.validator} keep={8} label="Validator consensus address" />
                    </td>
                    <td data-label="Operator">
                      {e.operator ? <Mono value={e.operator} keep={12} label="Operator" /> : <em>none (its share goes to the community)</em>}
                    </td>
                    <td data-label="Earnings">
                      {e.earned.length
                        ? e.earned.map((c, i) => {
                            const t = coinText(c.amount, c.denom, paths);
                            return (
                              <span key={c.denom} title={t.title}>
                                {i > 0 ? ", " : ""}
                                {t.text}
                              </span>
                            );
                          })
                        : "0"}
                    </td>
                    <td data-label="Agreement" class="agreement" data-testid="agreement">
                      <AgreementCell jobsPaid={e.jobs_paid} faults={e.faults} />
                    </td>
                    <td data-label="Jobs paid">{e.jobs_paid}</td>
                    <td data-label="Faults" class={e.faults !== "0" ? "warn" : ""}>
                      {e.faults}
                    </td>
                    <td data-label="Excluded">
                      {e.excluded ? (
                        <span class="status failed" title="its reports are not counted until its operator re-registers its executor key">
                          excluded
                        </span>
                      ) : (
                        "no"
                      )}
                    </td>
                    <td data-label="Executor key">
                      <KeyCell k={keyOf(e.validator)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      <h2 id="keys-h">Executor keys</h2>
      <p class="lead">The X25519 keys prompts are sealed to (encrypted prompts are opened only by these executors).</p>
      <Show v={keys} what="the executor keys">
        {(d) =>
          d.keys.length === 0 ? (
            <Empty>No executor has published a sealing key yet (validators publish one with MsgRegisterExecutorKey at start).</Empty>
          ) : (
            <table class="stack" aria-labelledby="keys-h">
              <thead>
                <tr>
                  <th scope="col">Validator</th>
                  <th scope="col">X25519 public key</th>
                </tr>
              </thead>
              <tbody>
                {d.keys.map((k) => (
                  <tr key={k.validator}>
                    <td data-label="Validator">
                      <Mono value={k.validator} keep={12} label="Validator" />
                    </td>
                    <td data-label="X25519 public key">
                      <Mono value={k.x25519_public_key} keep={12} label="X25519 public key" />
                    </td>
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
