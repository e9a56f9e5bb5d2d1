// The Ask page's ICA route (ICS-27 from the user's Terra Classic account):
// one submit registers the interchain account when it has none (and waits
// for `chimera relay` to open its channel), funds it over ICS-20 when its
// LUNC voucher on chimerad is below the fee (and waits for the vouchers),
// then signs `MsgSendTx` carrying `MsgRunInference`. Each step reports its
// progress through `onStep`. Reads `/api/ica-info` and `/api/ica/:owner`
// (relayer/src/ui_ica.rs); signs with wallet.ts's shared wallet.
import { getJson, type AskModel } from "../api";
import { formatLunc } from "./fee";
import type { StepState } from "./timeline";
import { type AskRequest, openWallet, simulateAndCheck, type TerraInfo, type Wallet, WalletError, walletError } from "../wallet";

export interface IcaModel extends AskModel {
  /** chimerad's price in the LUNC voucher (uluna); "0": not priced, no
   *  fee needed; null: priced, but not in LUNC. */
  price: string | null;
}

/** `GET /api/ica-info`. */
export interface IcaInfo {
  models: IcaModel[];
  terra: TerraInfo;
  host_chain_id: string;
  connection_id: string | null;
  host_connection_id: string | null;
  transfer: { channel_id: string; host_channel_id: string } | null;
  /** `ibc/…`: uluna as it arrives on chimerad. */
  voucher: string | null;
  /** Why the route cannot be used (no connection, no transfer channel). */
  route_error: string | null;
  register_version: string | null;
  packet_timeout_seconds: number;
  contract: string | null;
  devnet_mnemonic: string | null;
}

/** `GET /api/ica/:owner`. */
export interface IcaAccount {
  owner: string;
  connection_id: string;
  port_id: string;
  channel_id: string | null;
  channel_state: string | null;
  host_channel_id: string | null;
  address: string | null;
  encoding: string | null;
  open: boolean;
  voucher: string;
  voucher_balance: string | null;
  terra_balance_uluna: string;
}

export type IcaStepKey = "wallet" | "register" | "fund" | "send";

export const ICA_STEPS: [IcaStepKey, string][] = [
  ["wallet", "Wallet"],
  ["register", "Interchain account"],
  ["fund", "LUNC for the fee"],
  ["send", "MsgSendTx with MsgRunInference"],
];

export type OnStep = (key: IcaStepKey, state: StepState, detail: string) => void;

export interface IcaSubmitted {
  channel: string;
  sequence: string;
  txHash: string;
  /** ms each step took (wallet, register, fund, send). */
  ms: Partial<Record<IcaStepKey, number>>;
}

/** How long the page waits for a relayer (handshake, transfer). */
const RELAY_WAIT_MS = 180_000;
const POLL_MS = 1000;

export const account = (owner: string) => getJson<IcaAccount>(`/api/ica/${encodeURIComponent(owner)}`);

/** Polls the account until `done` holds; `tell` gets each answer. */
async function waitFor(owner: string, done: (a: IcaAccount) => boolean, tell: (a: IcaAccount, s: number) => void, what: string): Promise<IcaAccount> {
  const t0 = Date.now();
  for (;;) {
    const a = await account(owner);
    if (done(a)) return a;
    tell(a, Math.round((Date.now() - t0) / 1000));
    if (Date.now() - t0 > RELAY_WAIT_MS)
      throw new WalletError(`${what} did not happen within ${RELAY_WAIT_MS / 1000} s: is a relayer (\`chimera relay\`) running between Terra Classic and chimerad? Send again to keep waiting.`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Signs and broadcasts `msgs` (gas simulated × the adjustment); fails on a non-zero code. */
async function broadcast(
  w: Wallet,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  msgs: { typeUrl: string; value: any }[],
  attached: bigint,
  what: string,
): Promise<{ transactionHash: string; height: number; events: { type: string; attributes: { key: string; value: string }[] }[] }> {
  await simulateAndCheck(w, msgs, attached, what);
  let r;
  try {
    r = await w.client.signAndBroadcast(w.address, msgs, w.terra.gas_adjustment, "");
  } catch (e) {
    throw walletError(w.terra, e, what);
  }
  if (r.code !== 0) throw new WalletError(`Terra refused ${what} (code ${r.code}, tx ${r.transactionHash}): ${r.rawLog ?? ""}`);
  return r;
}

/** The fee `model` costs through the ICA route, or why it cannot be paid. */
export function icaFee(info: IcaInfo, model: IcaModel | undefined): { uluna: bigint; error: string | null } {
  if (info.route_error || !info.voucher) return { uluna: 0n, error: info.route_error ?? "no transfer channel to chimerad" };
  if (!model) return { uluna: 0n, error: "pick a model" };
  if (model.price === null) return { uluna: 0n, error: `chimerad prices ${model.id} only in other denoms than LUNC: use the contract route` };
  return { uluna: BigInt(model.price), error: null };
}

/** What to fund the account with before a request: nothing while it holds
 *  the fee; else enough for ten requests (so the next ones need no transfer). */
export function fundingNeeded(price: bigint, balance: bigint): bigint {
  return balance >= price ? 0n : price * 10n;
}

/** The ICA route, start to finish (see the top of this file). lib/ica.ts
 *  (and the sealing code it uses) loads with CosmJS, when the user signs. */
export async function submitIca(
  info: IcaInfo,
  opts: Omit<AskRequest, "model"> & { model: IcaModel; onStep: OnStep },
): Promise<IcaSubmitted> {
  const { onStep } = opts;
  const fee = icaFee(info, opts.model);
  if (fee.error || !info.connection_id || !info.register_version || !info.transfer || !info.voucher)
    throw new WalletError(fee.error ?? info.route_error ?? "the ICA route is not ready");
  const { inferenceSendTx, MSG_REGISTER, MSG_SEND_TX, MSG_TRANSFER } = await import("./ica");
  const ms: IcaSubmitted["ms"] = {};
  let t = Date.now();
  onStep("wallet", "active", opts.mnemonic === null ? `asking Keplr/Station to connect to ${info.terra.chain_id}` : "opening the wallet");
  const w = await openWallet(info.terra, opts.mnemonic);
  try {
    const owner = w.address;
    ms.wallet = Date.now() - t;
    onStep("wallet", "done", `${owner} on ${info.terra.chain_id}`);

    // 1. The interchain account.
    t = Date.now();
    let a = await account(owner);
    if (a.open) {
      onStep("register", "done", `already registered: ${a.address} (${a.channel_id} OPEN)`);
    } else {
      const underway = a.channel_state === "INIT" || a.channel_state === "TRYOPEN";
      if (underway) {
        onStep("register", "active", `a handshake is under way on ${a.channel_id} (${a.channel_state}): waiting for the relayer`);
      } else {
        onStep("register", "active", `signing MsgRegisterInterchainAccount over ${info.connection_id}`);
        const r = await broadcast(
          w,
          [{ typeUrl: MSG_REGISTER, value: { owner, connectionId: info.connection_id, version: info.register_version } }],
          0n,
          "the registration",
        );
        onStep("register", "active", `registered in Terra block ${r.height}: waiting for \`chimera relay\` to open the channel`);
      }
      a = await waitFor(
        owner,
        (x) => x.open,
        (x, s) => onStep("register", "active", `${s} s: ${x.channel_id ?? "(no channel yet)"} ${x.channel_state ?? ""}: waiting for \`chimera relay\` to open the channel`),
        "the channel handshake",
      );
      ms.register = Date.now() - t;
      onStep("register", "done", `${a.address} on ${info.host_chain_id} (${a.channel_id} OPEN after ${(ms.register / 1000).toFixed(1)} s)`);
    }
    const ica = a.address!;
    if (a.encoding && a.encoding !== "proto3")
      throw new WalletError(`the interchain account's channel ${a.channel_id} uses ${a.encoding}; this page writes proto3 only: use \`chimera ica infer\``);

    // 2. LUNC for the fee.
    t = Date.now();
    const held = BigInt(a.voucher_balance ?? "0");
    const fund = fundingNeeded(fee.uluna, held);
    if (fund === 0n) {
      onStep("fund", "done", fee.uluna === 0n ? "not needed: chimerad charges nothing for this model" : `not needed: the account holds ${formatLunc(held)}`);
    } else {
      onStep("fund", "active", `sending ${formatLunc(fund)} to ${ica} over ICS-20 (transfer/${info.transfer.channel_id})`);
      const r = await broadcast(
        w,
        [
          {
            typeUrl: MSG_TRANSFER,
            value: {
              sourcePort: "transfer",
              sourceChannel: info.transfer.channel_id,
              token: { denom: info.terra.denom, amount: fund.toString() },
              sender: owner,
              receiver: ica,
              timeoutTimestamp: BigInt(Date.now() + 600_000) * 1_000_000n,
              memo: "",
            },
          },
        ],
        fund,
        "the transfer",
      );
      onStep("fund", "active", `sent in Terra block ${r.height}: waiting for \`chimera relay\` to deliver the vouchers to chimerad`);
      a = await waitFor(
        owner,
        (x) => BigInt(x.voucher_balance ?? "0") >= held + fund,
        (x, s) => onStep("fund", "active", `${s} s: the account holds ${formatLunc(BigInt(x.voucher_balance ?? "0"))}; waiting for the transfer`),
        "the transfer",
      );
      ms.fund = Date.now() - t;
      onStep("fund", "done", `the account holds ${formatLunc(BigInt(a.voucher_balance ?? "0"))} (arrived after ${(ms.fund / 1000).toFixed(1)} s)`);
    }

    // 3. The request.
    t = Date.now();
    onStep("send", "active", `${opts.sealTo ? "sealing the prompt, " : ""}signing MsgSendTx`);
    let sendTx;
    try {
      sendTx = inferenceSendTx({
        owner,
        connectionId: info.connection_id,
        ica,
        model: opts.model.id,
        prompt: opts.prompt,
        input: opts.input,
        encoding: opts.encoding,
        seed: opts.seed,
        fee: fee.uluna > 0n ? [{ denom: info.voucher, amount: fee.uluna.toString() }] : [],
        timeoutSeconds: info.packet_timeout_seconds,
        sealTo: opts.sealTo,
      });
    } catch (e) {
      throw new WalletError(`the request could not be built: ${(e as Error).message}`);
    }
    const r = await broadcast(w, [{ typeUrl: MSG_SEND_TX, value: sendTx.msg }], 0n, "the request");
    const ev = r.events.find((e) => e.type === "send_packet" && e.attributes.some((x) => x.key === "packet_src_port" && x.value === a.port_id));
    const attr = (k: string) => ev?.attributes.find((x) => x.key === k)?.value;
    const channel = attr("packet_src_channel");
    const sequence = attr("packet_sequence");
    if (!channel || !sequence) throw new WalletError(`tx ${r.transactionHash} has no send_packet event of ${a.port_id}`);
    ms.send = Date.now() - t;
    onStep("send", "done", `packet ${channel} sequence ${sequence} in Terra block ${r.height}`);
    return { channel, sequence, txHash: r.transactionHash, ms };
  } catch (e) {
    throw walletError(info.terra, e);
  } finally {
    w.disconnect();
  }
}

/** The address a wallet signs with, without connecting (the in-page
 *  wallet only: Keplr asks the user, so it waits for the submit). */
export async function mnemonicAddress(terra: TerraInfo, mnemonic: string): Promise<string> {
  const [{ DirectSecp256k1HdWallet }, { stringToPath }] = await Promise.all([import("@cosmjs/proto-signing"), import("@cosmjs/crypto")]);
  const w = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic.trim().split(/\s+/).join(" "), {
    prefix: terra.prefix,
    hdPaths: [stringToPath(`m/44'/${terra.coin_type}'/0'/0/0`)],
  });
  return (await w.getAccounts())[0].address;
}
