import { useEffect, useState } from "preact/hooks";
import { type AskInfo, type ExecutorKey, getJson, type Info } from "../api";
import { ErrorBox, Loading, Mono } from "../components";
import { type Loaded, useJson } from "../hooks";
import { feeToAttach, formatLunc, luncToUluna } from "../lib/fee";
import { account, fundingNeeded, ICA_STEPS, icaFee, type IcaAccount, type IcaInfo, type IcaStepKey, mnemonicAddress, submitIca } from "../lib/icaFlow";
import type { Step } from "../lib/timeline";
import { type AskRequest, hasBrowserWallet, submitRequest, type TerraInfo, useBrowserAccount, WalletError } from "../wallet";
import { describeSpec, tensorEncoding } from "../lib/input";
import { newOutputKey, rememberOutputSecret } from "../lib/outputKey";
import { StepItem } from "./Request";
import { TensorInput, type TensorValue } from "./TensorInput";

/** Fee attached when the contract names no price for the model (it then
 *  takes any fee above zero): 0.1 LUNC. */
const DEFAULT_FEE = 100_000n;

type Route = "contract" | "ica";

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

/** The contract route's fee: the contract's price, or the user's. */
function contractFee(info: AskInfo, model: string, extra: string): { uluna: bigint; fromPrice: boolean; error: string | null } {
  const m = info.models.find((x) => x.id === model);
  try {
    const f = feeToAttach(m?.price_uluna ?? null, m?.price_uluna == null ? luncToUluna(extra || "0") : DEFAULT_FEE);
    return { ...f, error: f.uluna <= 0n ? "the fee must be above zero" : null };
  } catch (e) {
    return { uluna: 0n, fromPrice: false, error: (e as Error).message };
  }
}

/** The ICA account of the in-page wallet, or of the connected Keplr/Station
 *  account (`known`), read before signing (to say whether registering and
 *  funding are needed). */
function useIcaAccount(
  terra: TerraInfo | null,
  mnemonic: string | null,
  on: boolean,
  tick: number,
  known: string | null = null,
): { owner: string | null; account: IcaAccount | null; error: string | null } {
  const [v, setV] = useState<{ owner: string | null; account: IcaAccount | null; error: string | null }>({ owner: null, account: null, error: null });
  useEffect(() => {
    if (!on || !terra || (!mnemonic?.trim() && !known)) {
      setV({ owner: null, account: null, error: null });
      return;
    }
    let live = true;
    const t = setTimeout(async () => {
      try {
        const owner = known ?? (await mnemonicAddress(terra, mnemonic!));
        const a = await account(owner);
        if (live) setV({ owner, account: a, error: null });
      } catch (e) {
        if (live) setV({ owner: null, account: null, error: (e as Error).message });
      }
    }, 300);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [terra, mnemonic, on, tick, known]);
  return v;
}

function IcaFeeLine({ info, model, acct }: { info: IcaInfo; model: string; acct: ReturnType<typeof useIcaAccount> }) {
  const m = info.models.find((x) => x.id === model);
  const fee = icaFee(info, m);
  if (fee.error) return <span class="error-text">{fee.error}</span>;
  const voucher = <Mono value={info.voucher!} keep={8} label="LUNC voucher denom" />;
  const a = acct.account;
  const held = a?.voucher_balance != null ? BigInt(a.voucher_balance) : 0n;
  const fund = a ? fundingNeeded(fee.uluna, held) : null;
  return (
    <>
      Fee: <strong>{formatLunc(fee.uluna)}</strong> ({fee.uluna.toString()} uluna as {voucher} on {info.host_chain_id})
      {fee.uluna > 0n ? ", chimerad's price for this model, paid by your interchain account from its LUNC on chimerad." : ": chimerad charges nothing for this model."}{" "}
      {!a && !acct.error && "Registering the account and funding it are added when needed."}
      {acct.error && <span class="error-text">Cannot read your interchain account: {acct.error}</span>}
      {a && (
        <span data-testid="ica-account">
          {a.open ? (
            <>
              Your interchain account <Mono value={a.address!} keep={12} label="Interchain account" /> holds {formatLunc(held)}.
            </>
          ) : (
            <>Your Terra account has no interchain account yet: sending registers it first (a relayer opens its channel).</>
          )}{" "}
          {fund !== null && fund > 0n && (
            <>
              Funding: <strong>{formatLunc(fund)}</strong> sent to it over ICS-20 (transfer/{info.transfer!.channel_id}) before the request.
            </>
          )}
        </span>
      )}{" "}
      Plus gas at {info.terra.gas_price} for each tx (about 7 LUNC each).
    </>
  );
}

function AskForm({ contract, ica }: { contract: Loaded<AskInfo>; ica: Loaded<IcaInfo> }) {
  const executorKeys = useJson<{ keys: ExecutorKey[] }>("/api/executor-keys");
  const cInfo = contract.state === "ok" ? contract.data : null;
  const iInfo = ica.state === "ok" ? ica.data : null;
  const [route, setRoute] = useState<Route>(cInfo ? "contract" : "ica");
  const [encrypt, setEncrypt] = useState(false);
  const [privateOutput, setPrivateOutput] = useState(false);
  const seal = sealTargets(executorKeys);
  const base = route === "contract" ? cInfo : iInfo;
  const terra = (cInfo ?? iInfo)!.terra;
  // Models a request can be built for from the chain alone: text prompts,
  // and tensors whose dtype and shape the registry records.
  const models = (base ?? cInfo ?? iInfo)!.models.filter((m) => m.input === "text" || !!m.tensor);
  const [model, setModel] = useState(models.find((m) => m.id === "digits-ddpm")?.id ?? models[0]?.id ?? "");
  const [prompt, setPrompt] = useState("7");
  const spec = models.find((m) => m.id === model)?.tensor ?? null;
  const [tensor, setTensor] = useState<TensorValue>({ bytes: null, error: null });
  const [seed, setSeed] = useState("42");
  const browserWallet = hasBrowserWallet();
  const [useMnemonic, setUseMnemonic] = useState(!browserWallet);
  const [mnemonic, setMnemonic] = useState((cInfo ?? iInfo)!.devnet_mnemonic ?? "");
  const [extra, setExtra] = useState("0.1");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [steps, setSteps] = useState<Step[] | null>(null);
  const [tick, setTick] = useState(0);
  // Keplr/Station: its account once the user connects (or sends), followed
  // across account switches in the wallet.
  const bw = useBrowserAccount(terra, browserWallet && !useMnemonic);
  useEffect(() => setError(null), [bw.account?.address]);
  const acct = useIcaAccount(terra, useMnemonic ? mnemonic : null, route === "ica" && !!iInfo, tick, useMnemonic ? null : (bw.account?.address ?? null));

  const cFee = cInfo ? contractFee(cInfo, model, extra) : null;
  const iFee = iInfo ? icaFee(iInfo, iInfo.models.find((x) => x.id === model)) : null;
  const inputError = spec ? (tensor.error ?? (tensor.bytes ? null : `no input yet for ${model}`)) : null;
  const routeError =
    route === "contract"
      ? contract.state === "error"
        ? contract.message
        : cInfo && !cInfo.channel
          ? (cInfo.channel_error ?? "the contract has no open channel to chimerad")
          : (cFee?.error ?? null)
      : ica.state === "error"
        ? ica.message
        : (iFee?.error ?? null);
  const feeUluna = route === "contract" ? (cFee?.uluna ?? 0n) : (iFee?.uluna ?? 0n);
  // ICA: what the account is sent first, when the page knows it lacks the fee.
  const fundFirst =
    route === "ica" && acct.account && iFee && !iFee.error ? fundingNeeded(iFee.uluna, BigInt(acct.account.voucher_balance ?? "0")) : 0n;

  const onStep = (key: IcaStepKey, state: Step["state"], detail: string) =>
    setSteps((s) => (s ?? []).map((x) => (x.key === key ? { ...x, state, detail } : x)));

  const send = async (ask: AskRequest): Promise<string> => {
    if (route === "contract") {
      const r = await submitRequest(cInfo!, { ...ask, feeUluna: cFee!.uluna });
      if (ask.outputKey) rememberOutputSecret(localStorage, cInfo!.contract, r.requestId, ask.outputKey);
      return `#/requests/${r.requestId}?tx=${r.txHash}&submitted=${Date.now()}`;
    }
    setSteps(ICA_STEPS.map(([key, title]) => ({ key, title, state: "waiting", detail: "" })));
    const m = iInfo!.models.find((x) => x.id === ask.model)!;
    const r = await submitIca(iInfo!, { ...ask, model: m, onStep });
    console.log(`ica steps ${JSON.stringify(r.ms)}`);
    return `#/ica/${r.channel}/${r.sequence}?tx=${r.txHash}&submitted=${Date.now()}`;
  };

  const onSubmit = async (ev: Event) => {
    ev.preventDefault();
    if (routeError) return;
    if (inputError) {
      setError(inputError);
      return;
    }
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
    setSteps(null);
    try {
      // Keplr/Station: connect first (suggest the chain, enable), so the
      // page shows the account it signs with.
      if (!useMnemonic && !bw.account) await bw.connect(false);
      const input = spec && tensor.bytes ? { input: tensor.bytes, encoding: tensorEncoding(spec) } : {};
      const outputKey = encrypt && privateOutput && route === "contract" ? newOutputKey() : null;
      location.hash = await send({ mnemonic: useMnemonic ? mnemonic : null, model, prompt, ...input, seed, sealTo: encrypt ? seal.keys : null, outputKey });
    } catch (e) {
      setError(e instanceof WalletError ? e.message : `signing failed: ${(e as Error).message}`);
      setSteps((s) => s && s.map((x) => (x.state === "active" ? { ...x, state: "failed" } : x)));
      setBusy(false);
      setTick((x) => x + 1);
    }
  };
  if (models.length === 0)
    return <ErrorBox message="no model on chimerad takes a text prompt or records its tensor input: register one (docs/models.md)" />;
  const sending = encrypt ? "Seal, sign" : "Sign";
  return (
    <form class="ask" onSubmit={onSubmit} aria-label="Ask for an inference">
      <fieldset class="route">
        <legend>Route</legend>
        <label class="inline">
          <input
            type="radio"
            name="route"
            value="contract"
            checked={route === "contract"}
            onChange={() => {
              setRoute("contract");
              setError(null);
            }}
          />{" "}
          Contract
        </label>
        <label class="inline">
          <input
            type="radio"
            name="route"
            value="ica"
            checked={route === "ica"}
            onChange={() => {
              setRoute("ica");
              setError(null);
            }}
          />{" "}
          Interchain account
        </label>
        <p class="hint" data-testid="route-note">
          {route === "contract"
            ? "The inference-requester contract on Terra Classic escrows the fee in LUNC and sends the request over its IBC channel."
            : "Your Terra Classic account's interchain account on chimerad (ICS-27) sends MsgRunInference and pays the fee from LUNC sent to it over ICS-20."}
        </p>
      </fieldset>
      {routeError && (
        <div class="error" role="alert" data-testid="route-error">
          {routeError}
        </div>
      )}
      <label>
        Model
        <select value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)} name="model">
          {models.map((x) => (
            <option key={x.id} value={x.id}>
              {x.id} ({x.task}, reads {x.tensor ? describeSpec(x.tensor) : "text"}, writes {x.output})
            </option>
          ))}
        </select>
      </label>
      {spec ? (
        <TensorInput key={model} spec={spec} model={model} onChange={setTensor} />
      ) : (
        <label>
          Prompt
          <textarea name="prompt" rows={2} value={prompt} onInput={(e) => setPrompt((e.target as HTMLTextAreaElement).value)} required />
        </label>
      )}
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
          Encrypt {spec ? "input" : "prompt"}
        </label>
        <p class={`hint${encrypt && seal.error ? " error-text" : ""}`} data-testid="encrypt-note" aria-live="polite">
          {encrypt
            ? seal.note
            : `Off: the ${spec ? "input travels in the clear" : "prompt travels as plain text"}, readable on Terra and on chimerad.`}
        </p>
        {encrypt && route === "contract" && (
          <label class="inline">
            <input type="checkbox" name="private-output" checked={privateOutput} onChange={(e) => setPrivateOutput((e.target as HTMLInputElement).checked)} />{" "}
            Keep the output private: sealed to a key made in this browser (only this browser can open it; clearing its site data loses it)
          </label>
        )}
      </div>
      <label>
        Seed
        <input name="seed" inputMode="numeric" pattern="[0-9]+" value={seed} onInput={(e) => setSeed((e.target as HTMLInputElement).value)} required />
      </label>
      {route === "contract" && cInfo && cInfo.models.find((x) => x.id === model)?.price_uluna == null && (
        <label>
          Fee (LUNC; the contract names no price for {model})
          <input name="fee" inputMode="decimal" value={extra} onInput={(e) => setExtra((e.target as HTMLInputElement).value)} />
        </label>
      )}
      <p class="fee" data-testid="fee" aria-live="polite">
        {route === "contract" && cFee ? (
          cFee.error ? (
            <span class="error-text">{cFee.error}</span>
          ) : (
            <>
              Fee: <strong>{formatLunc(cFee.uluna)}</strong> ({cFee.uluna.toString()} uluna)
              {cFee.fromPrice ? ", the contract's price for this model," : ""} escrowed by the contract: paid out on a result, refunded on an
              error or timeout. Plus gas at {cInfo!.terra.gas_price} (about 7 LUNC for a request).
            </>
          )
        ) : route === "ica" && iInfo ? (
          <IcaFeeLine info={iInfo} model={model} acct={acct} />
        ) : (
          <span class="error-text">{routeError}</span>
        )}
      </p>
      <fieldset>
        <legend>Wallet</legend>
        {browserWallet && (
          <label class="inline">
            <input type="radio" name="wallet" checked={!useMnemonic} onChange={() => setUseMnemonic(false)} /> Keplr / Station ({terra.chain_id})
          </label>
        )}
        <label class="inline">
          <input type="radio" name="wallet" checked={useMnemonic} onChange={() => setUseMnemonic(true)} /> Devnet mnemonic (in this page)
        </label>
        {browserWallet && !useMnemonic && (
          <p class="hint" data-testid="wallet-account" aria-live="polite">
            {bw.account ? (
              <>
                Signing as <strong>{bw.account.name}</strong>{" "}
                <code class="mono" data-testid="wallet-address" style={{ wordBreak: "break-all" }}>
                  {bw.account.address}
                </code>{" "}
                on {terra.chain_id}: the wallet asks you to approve each tx.
              </>
            ) : (
              <>
                <button type="button" onClick={() => bw.connect().catch(() => {})} disabled={bw.busy}>
                  {bw.busy ? "Connecting…" : "Connect Keplr / Station"}
                </button>{" "}
                to see the account it signs with (sending connects too). The page adds {terra.chain_id} to the wallet first when the wallet does not know it.
              </>
            )}
            {bw.error && <span class="error-text"> {bw.error}</span>}
          </p>
        )}
        {useMnemonic && (
          <label>
            Mnemonic (devnet only: never type a real wallet's words into a web page)
            <textarea
              name="mnemonic"
              rows={2}
              value={mnemonic}
              autoComplete="off"
              spellcheck={false}
              onInput={(e) => {
                setMnemonic((e.target as HTMLTextAreaElement).value);
                setError(null);
              }}
            />
          </label>
        )}
        {!browserWallet && !useMnemonic && <p>No Keplr or Station in this browser.</p>}
      </fieldset>
      <button type="submit" disabled={busy || !!routeError || !!inputError}>
        {busy
          ? `${encrypt ? "Sealing, signing" : "Signing"} and broadcasting…`
          : `${sending} and send (${routeError ? "fee?" : formatLunc(feeUluna)}${fundFirst > 0n ? `; first ${formatLunc(fundFirst)} to the account` : ""})`}
      </button>
      {steps && (
        <ol class="timeline ica-steps" aria-label="Sending through the interchain account" aria-live="polite" data-testid="ica-steps">
          {steps.map((s) => (
            <StepItem key={s.key} s={s} />
          ))}
        </ol>
      )}
      {error && (
        <div class="error" role="alert" data-testid="ask-error">
          <strong>Not sent.</strong> {error}
        </div>
      )}
      <p class="hint">
        {route === "contract" && cInfo ? (
          <>
            Through contract <Mono value={cInfo.contract} keep={10} label="Contract" /> on {cInfo.terra.chain_id}, channel {cInfo.channel}, to{" "}
            {cInfo.host_chain_id}.
          </>
        ) : iInfo && iInfo.connection_id ? (
          <>
            From your account on {iInfo.terra.chain_id} over {iInfo.connection_id} (ICS-27 controller) to {iInfo.host_chain_id}
            {iInfo.host_connection_id ? ` (${iInfo.host_connection_id})` : ""}; LUNC over transfer/{iInfo.transfer?.channel_id ?? "?"}.
          </>
        ) : null}
      </p>
    </form>
  );
}

/** `/api/ask-info`, read only when the server has a contract (`/api/info`). */
function useContractInfo(): Loaded<AskInfo> {
  const info = useJson<Info>("/api/info");
  const [v, setV] = useState<Loaded<AskInfo>>({ state: "loading" });
  useEffect(() => {
    if (info.state === "loading") return;
    if (info.state === "ok" && !info.data.contract) {
      setV({
        state: "error",
        message: "the contract route is off: start chimera ui with --contract terra1... --terra-rpc URL --terra-grpc URL",
      });
      return;
    }
    let live = true;
    getJson<AskInfo>("/api/ask-info").then(
      (data) => live && setV({ state: "ok", data }),
      (e: Error) => live && setV({ state: "error", message: e.message }),
    );
    return () => {
      live = false;
    };
  }, [info.state]);
  return v;
}

export function Ask() {
  const contract = useContractInfo();
  const ica = useJson<IcaInfo>("/api/ica-info");
  const settled = contract.state !== "loading" && ica.state !== "loading";
  return (
    <section aria-labelledby="ask-h">
      <h1 id="ask-h">Ask</h1>
      {!settled && <Loading what="the models, the contract's prices and the ICA route" />}
      {settled && contract.state === "error" && ica.state === "error" && (
        <ErrorBox message={`${contract.message} The ICA route: ${ica.message}`} />
      )}
      {settled && (contract.state === "ok" || ica.state === "ok") && <AskForm contract={contract} ica={ica} />}
    </section>
  );
}
