import { useState } from "preact/hooks";
import type { AskInfo, ExecutorKey } from "../api";
import { ErrorBox, Mono, Show } from "../components";
import { type Loaded, useJson } from "../hooks";
import { feeToAttach, formatLunc, luncToUluna } from "../lib/fee";
import { hasBrowserWallet, submitRequest, WalletError } from "../wallet";

/** Fee attached when the contract names no price for the model (it then
 *  takes any fee above zero): 0.1 LUNC. */
const DEFAULT_FEE = 100_000n;

/** The "Encrypt prompt" line: to whom the prompt will be sealed, or why it cannot be. */
function sealTargets(keys: Loaded<{ keys: ExecutorKey[] }>): { keys: string[] | null; note: string; error: boolean } {
  if (keys.state === "loading") return { keys: null, note: "reading the executor keys from chimerad…", error: false };
  if (keys.state === "error") return { keys: null, note: `cannot read the executor keys: ${keys.message}`, error: true };
  const k = keys.data.keys.map((x) => x.x25519_public_key);
  if (k.length === 0)
    return { keys: null, note: "no executor has published a sealing key on chimerad yet, so the prompt cannot be sealed", error: true };
  const n = `${k.length} executor key${k.length === 1 ? "" : "s"}`;
  return {
    keys: k,
    note: `sealed in this page to the ${n} published on chimerad (X25519, ChaCha20-Poly1305): only the executors can read it; the chain, the relayer and Terra see ciphertext. The output stays public.`,
    error: false,
  };
}

function AskForm({ info }: { info: AskInfo }) {
  const executorKeys = useJson<{ keys: ExecutorKey[] }>("/api/executor-keys");
  const [encrypt, setEncrypt] = useState(false);
  const seal = sealTargets(executorKeys);
  const textModels = info.models.filter((m) => m.input === "text");
  const [model, setModel] = useState(textModels.find((m) => m.id === "digits-ddpm")?.id ?? textModels[0]?.id ?? "");
  const [prompt, setPrompt] = useState("7");
  const [seed, setSeed] = useState("42");
  const browserWallet = hasBrowserWallet();
  const [useMnemonic, setUseMnemonic] = useState(!browserWallet);
  const [mnemonic, setMnemonic] = useState(info.devnet_mnemonic ?? "");
  const [extra, setExtra] = useState("0.1");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const m = info.models.find((x) => x.id === model);
  let fee: { uluna: bigint; fromPrice: boolean } | null = null;
  let feeError: string | null = null;
  try {
    fee = feeToAttach(m?.price_uluna ?? null, m?.price_uluna == null ? luncToUluna(extra || "0") : DEFAULT_FEE);
    if (fee.uluna <= 0n) feeError = "the fee must be above zero";
  } catch (e) {
    feeError = (e as Error).message;
  }
  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    if (!fee || feeError) return;
    if (encrypt && !seal.keys) {
      setError(`cannot encrypt the prompt: ${seal.note}`);
      return;
    }
    if (useMnemonic && !mnemonic.trim()) {
      setError("no wallet: enter the devnet mnemonic, or install Keplr/Station");
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const r = await submitRequest(info, {
        mnemonic: useMnemonic ? mnemonic : null,
        model,
        prompt,
        seed,
        feeUluna: fee.uluna,
        sealTo: encrypt ? seal.keys : null,
      });
      location.hash = `#/requests/${r.requestId}?tx=${r.txHash}&submitted=${Date.now()}`;
    } catch (e) {
      setError(e instanceof WalletError ? e.message : `signing failed: ${(e as Error).message}`);
      setBusy(false);
    }
  };
  if (!info.channel) return <ErrorBox message={info.channel_error ?? "the contract has no open channel to chimerad"} />;
  if (textModels.length === 0)
    return <ErrorBox message="no model on chimerad takes a text prompt: register one (docs/models.md)" />;
  return (
    <form class="ask" onSubmit={onSubmit} aria-label="Ask for an inference">
      <label>
        Model
        <select value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} name="model">
          {textModels.map((x) => (
            <option key={x.id} value={x.id}>
              {x.id} ({x.task}, writes {x.output})
            </option>
          ))}
        </select>
      </label>
      <label>
        Prompt
        <textarea name="prompt" rows={2} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} required />
      </label>
      <div class="encrypt">
        <label class="inline">
          <input
            type="checkbox"
            name="encrypt"
            checked={encrypt}
            onChange={(e) => {
              setEncrypt((e.target as HTMLInputElement).checked);
              setError(null);
            }}
          />{" "}
          Encrypt prompt
        </label>
        <p class={`hint${encrypt && seal.error ? " error-text" : ""}`} data-testid="encrypt-note" aria-live="polite">
          {encrypt ? seal.note : "Off: the prompt travels as plain text, readable on Terra and on chimerad."}
        </p>
      </div>
      <label>
        Seed
        <input name="seed" inputMode="numeric" pattern="[0-9]+" value={seed} onInput={(e) => setSeed((e.target as HTMLInputElement).value)} required />
      </label>
      {m?.price_uluna == null && (
        <label>
          Fee (LUNC; the contract names no price for {model})
          <input name="fee" inputMode="decimal" value={extra} onInput={(e) => setExtra((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <p class="fee" data-testid="fee" aria-live="polite">
        {feeError ? (
          <span class="error-text">{feeError}</span>
        ) : (
          <>
            Fee: <strong>{formatLunc(fee!.uluna)}</strong> ({fee!.uluna.toString()} uluna)
            {fee!.fromPrice ? ", the contract's price for this model," : ""} escrowed by the contract: paid out on a result, refunded on an
            error or timeout. Plus gas at {info.terra.gas_price} (about 7 LUNC for a request).
          </>
        )}
      </p>
      <fieldset>
        <legend>Wallet</legend>
        {browserWallet && (
          <label class="inline">
            <input type="radio" name="wallet" checked={!useMnemonic} onChange={() => setUseMnemonic(false)} /> Keplr / Station ({info.terra.chain_id})
          </label>
        )}
        <label class="inline">
          <input type="radio" name="wallet" checked={useMnemonic} onChange={() => setUseMnemonic(true)} /> Devnet mnemonic (in this page)
        </label>
        {useMnemonic && (
          <label>
            Mnemonic (devnet only: never type a real wallet's words into a web page)
            <textarea name="mnemonic" rows={2} value={mnemonic} autoComplete="off" spellcheck={false} onInput={(e) => {
                setMnemonic((e.target as HTMLTextAreaElement).value);
                setError(null);
              }} />
          </label>
        )}
        {!browserWallet && !useMnemonic && <p>No Keplr or Station in this browser.</p>}
      </fieldset>
      <button type="submit" disabled={busy || !!feeError}>
        {busy
          ? `${encrypt ? "Sealing, signing" : "Signing"} and broadcasting…`
          : `${encrypt ? "Seal, sign" : "Sign"} and send (${fee && !feeError ? formatLunc(fee.uluna) : "fee?"})`}
      </button>
      {error && (
        <div class="error" role="alert" data-testid="ask-error">
          <strong>Not sent.</strong> {error}
        </div>
      )}
      <p class="hint">
        Through contract <Mono value={info.contract} keep={10} label="Contract" /> on {info.terra.chain_id}, channel {info.channel}, to{" "}
        {info.host_chain_id}.
      </p>
    </form>
  );
}

export function Ask() {
  const v = useJson<AskInfo>("/api/ask-info");
  return (
    <section aria-labelledby="ask-h">
      <h1 id="ask-h">Ask</h1>
      <Show v={v} what="the models and the contract's prices">
        {(info) => <AskForm info={info} />}
      </Show>
    </section>
  );
}
