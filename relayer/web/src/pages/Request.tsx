import { useEffect, useRef, useState } from "preact/hooks";
import { getJson, type Model, type PacketInput, type RequestAnswer } from "../api";
import { ErrorBox, Loading, Mono, short } from "../components";
import { formatLunc } from "../lib/fee";
import { noteSeen, recordMatchesJob, type Step, timelineOf } from "../lib/timeline";
import { type Loaded, useJson } from "../hooks";
import { outputSecretFor } from "../lib/outputKey";
import { type SealedOutput, Verified } from "./Job";

export function StepItem({ s }: { s: Step }) {
  return (
    <li class={`step ${s.state}`} data-step={s.key} data-state={s.state}>
      <span class="dot" aria-hidden="true" />
      <div>
        <strong>{s.title}</strong>
        {s.height !== undefined && (
          <span class="meta">
            {" "}
            · {s.chain === "terra" ? "Terra" : "chimerad"} height {s.height}
          </span>
        )}
        {s.seconds !== undefined && <span class="meta"> · +{s.seconds.toFixed(1)} s</span>}
        <div class="detail">{s.detail}</div>
      </div>
    </li>
  );
}

/** Whether the prompt was sealed, from the packet Terra sent; never the prompt itself. */
function InputFact({ input, known }: { input: PacketInput | null; known: boolean }) {
  if (!input) return <em>{known ? "not in the packet event" : "known once the tx is found on Terra"}</em>;
  const size = input.bytes == null ? "in the blob store" : `${input.bytes} bytes`;
  if (input.sealed) {
    const n = input.sealed.recipients.length;
    return (
      <>
        <span class="status sealed" data-testid="sealed-badge">
          sealed
        </span>{" "}
        to {n} executor key{n === 1 ? "" : "s"} ({input.sealed.recipients.map((k) => short(k, 6)).join(", ")}); only ciphertext ({size})
        went through Terra, the relayer and chimerad{input.output_key ? "; the output is sealed to the requester" : "; the output is public"}.
      </>
    );
  }
  return (
    <>
      <span class="status plain">not sealed</span> {input.encoding}, {size}, readable on chain.
    </>
  );
}

/** The fee as LUNC: uluna (the contract route) or its voucher on chimerad (ICA). */
function FeeFact({ fee, ica }: { fee: { denom: string; amount: string }; ica: boolean }) {
  if (!fee.denom || fee.amount === "0") return <>none</>;
  if (fee.denom === "uluna") return <>{formatLunc(fee.amount)} ({fee.amount} uluna)</>;
  if (ica && fee.denom.startsWith("ibc/"))
    return (
      <>
        at most {formatLunc(fee.amount)} ({fee.amount} uluna as <Mono value={fee.denom} keep={8} label="LUNC voucher denom" /> on chimerad)
      </>
    );
  return (
    <>
      {fee.amount} {fee.denom}
    </>
  );
}

/** For a request that sealed its output to the requester's key: the
 *  secret this browser kept for it (contract route) and the model's own
 *  output encoding; undefined for a public output. */
function privateOutput(a: RequestAnswer, models: Loaded<{ models: Model[] }>): SealedOutput | undefined {
  if (!a.terra.packet?.input?.output_key) return undefined;
  const output = models.state === "ok" ? models.data.models.find((m) => m.id === a.record.model)?.output : undefined;
  return {
    secret: a.contract ? outputSecretFor(localStorage, a.contract, String(a.record.id)) : null,
    // Null until the registry says how the model writes (then json for a
    // model it does not know).
    encoding: models.state === "loading" ? null : output && output !== "unknown" ? output : "json",
  };
}

/** A request's page: `id` on the contract route (`#/requests/ID`), or
 *  `ica` (`#/ica/CHANNEL/SEQUENCE`), a MsgSendTx packet of an interchain
 *  account. Both read the same shape of answer and draw the same timeline. */
export function Request({ id, ica }: { id?: string; ica?: { channel: string; sequence: string } }) {
  const api = ica
    ? `/api/ica-requests/${encodeURIComponent(ica.channel)}/${encodeURIComponent(ica.sequence)}`
    : `/api/requests/${encodeURIComponent(id ?? "")}`;
  const name = ica ? `ICA request ${ica.channel}/${ica.sequence}` : `Request #${id}`;
  const [answer, setAnswer] = useState<RequestAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [seen, setSeen] = useState<Record<string, number>>({});
  const start = useRef(Date.now());
  const [tick, setTick] = useState(0);
  const tl = answer ? timelineOf(answer, seen, start.current) : null;
  const models = useJson<{ models: Model[] }>("/api/models");
  useEffect(() => {
    let live = true;
    getJson<RequestAnswer>(api).then(
      (a) => {
        if (!live) return;
        setAnswer(a);
        setSeen((s) => noteSeen(s, a, Date.now()));
        setError(null);
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [api, tick]);
  const finished = tl?.finished ?? false;
  useEffect(() => {
    if (finished) return;
    const t = setTimeout(() => setTick((x) => x + 1), 1000);
    return () => clearTimeout(t);
  }, [finished, tick]);
  const timeoutMs = answer ? Number(BigInt(answer.record.timeout || "0") / 1_000_000n) : 0;
  const overdue = answer?.record.status === "pending" && timeoutMs > 0 && Date.now() > timeoutMs + 30_000;
  const mismatch = answer ? recordMatchesJob(answer) : null;
  return (
    <section aria-labelledby="req-h">
      <h1 id="req-h">{name}</h1>
      {!answer && !error && <Loading what={name.toLowerCase()} />}
      {error && <ErrorBox message={error} />}
      {answer && tl && (
        <>
          <dl class="facts" aria-label={`Facts of ${name.toLowerCase()}`}>
            <dt>Status</dt>
            <dd>
              <span class={`status ${tl.outcome}`} data-testid="request-status">
                {tl.outcome.replace("_", " ")}
              </span>
            </dd>
            <dt>Model</dt>
            <dd>{answer.record.model}</dd>
            <dt>Requester</dt>
            <dd>
              <Mono value={answer.record.requester} keep={12} label="Requester" />
            </dd>
            {answer.record.interchain_account && (
              <>
                <dt>Interchain account</dt>
                <dd>
                  <Mono value={answer.record.interchain_account} keep={12} label="Interchain account" />
                </dd>
              </>
            )}
            <dt>Prompt</dt>
            <dd data-testid="request-input">
              <InputFact input={answer.terra.packet?.input ?? null} known={!!answer.terra.packet} />
            </dd>
            <dt>Fee</dt>
            <dd>
              <FeeFact fee={answer.record.fee} ica={!!ica} />
            </dd>
            {answer.terra.tx && (
              <>
                <dt>Terra tx</dt>
                <dd>
                  <Mono value={answer.terra.tx.hash} keep={10} label="Terra tx hash" />
                </dd>
              </>
            )}
          </dl>
          <h2>Timeline</h2>
          <ol class="timeline" aria-label="The request's timeline" aria-live="polite" data-finished={String(tl.finished)}>
            {tl.steps.map((s) => (
              <StepItem key={s.key} s={s} />
            ))}
          </ol>
          {overdue && (
            <div class="error" role="alert">
              <strong>Timed out?</strong> The packet's timeout passed more than 30 s ago and {ica ? "Terra has no acknowledgement" : "the contract still says pending"}: is a relayer
              (`chimera relay`) running between Terra and chimerad? {ica ? "When it relays the timeout, the account's ORDERED channel closes: the Ask page registers again (same account)." : "When it relays the timeout, the fee is refunded."}
            </div>
          )}
          {tl.outcome === "timed_out" && (
            <p role="status">
              The request timed out before chimerad received it; {ica ? "no fee was taken from the interchain account." : "the fee went back to the requester."}
            </p>
          )}
          {tl.outcome === "failed" && (
            <p role="status">
              The host answered with an error: {JSON.stringify(answer.record.outcome?.error)}.{" "}
              {ica ? "No fee was taken from the interchain account." : "The fee went back to the requester."}
            </p>
          )}
          {mismatch && <ErrorBox message={mismatch} />}
          {tl.outcome === "succeeded" && answer.job && !mismatch && <Verified job={answer.job} sealed={privateOutput(answer, models)} />}
        </>
      )}
    </section>
  );
}
