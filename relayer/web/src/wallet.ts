// Signing for the Ask page, both routes: Keplr or Station (`window.keplr`)
// when the page finds one, otherwise an in-page wallet from a devnet
// mnemonic the user enters (CosmJS, Terra's coin type 330, prefix terra).
// CosmJS is loaded only when the user signs, so the other pages stay small.
//
// `openWallet` makes the one client both routes sign with (its registry
// knows CosmWasm's, the SDK's and ICS-27's controller messages);
// `submitRequest` is the contract route, `lib/icaFlow.ts` the ICA route.
//
// Fees mirror what `terrad --gas auto --gas-adjustment 1.4 --gas-prices
// 28.325uluna` does (e2e/src/wasm.rs): simulate, times 1.4, at Terra
// Classic's fixed gas price. Terra Classic v3.4 counts its burn tax on the
// attached funds into the simulated gas, so that covers it too.
import type { ChainInfo, Keplr } from "@keplr-wallet/types";
import { useEffect, useState } from "preact/hooks";
import type { AskInfo } from "./api";
import { gasFeeUluna, formatLunc, shortfall } from "./lib/fee";
import type { InputEncoding } from "./lib/ica";
import type { OutputKey } from "./lib/outputKey";

// The wallet API is Keplr's own (`@keplr-wallet/types`, a type-only
// import). Station injects the same API as `window.station.keplr` (and, when
// its user turns "replace Keplr" on, as `window.keplr`); it announces an
// account switch with `station_wallet_change` where Keplr says
// `keplr_keystorechange`, and it has no `experimentalSuggestChain`.
declare global {
  interface Window {
    keplr?: Keplr;
    station?: { keplr?: Keplr };
  }
}

/** Keplr, or Station's Keplr-compatible API, when the browser has one. */
export function browserWallet(): Keplr | null {
  if (typeof window === "undefined") return null;
  return window.keplr ?? window.station?.keplr ?? null;
}

export function hasBrowserWallet(): boolean {
  return browserWallet() !== null;
}

/** The events Keplr and Station fire when the user switches accounts. */
export const KEYSTORE_EVENTS = ["keplr_keystorechange", "station_wallet_change"];

/** Keplr's words when the user says no to a prompt (enable, suggest, sign). */
export function isRejection(e: unknown): boolean {
  return /request rejected/i.test((e as Error)?.message ?? "");
}

/** The public Terra chains Keplr ships; any other chain id (a localnet's
 *  `localterra-1`) must be suggested before `enable`. */
const KEPLR_KNOWS = new Set(["columbus-5", "phoenix-1"]);
/** Chains this page suggested since it loaded (Keplr keeps them). */
const suggested = new Set<string>();

/** Terra Classic as Keplr's `experimentalSuggestChain` wants it: RPC through
 *  this server's proxy, coin type 330, prefix terra, uluna at the gas price
 *  `/api/ask-info` names. */
export function terraChainInfo(terra: TerraInfo, origin = location.origin): ChainInfo {
  const price = Number.parseFloat(terra.gas_price);
  const lunc = { coinDenom: "LUNC", coinMinimalDenom: terra.denom, coinDecimals: 6 };
  const p = terra.prefix;
  return {
    chainId: terra.chain_id,
    chainName: `Terra Classic (${terra.chain_id})`,
    rpc: `${origin}${terra.rpc_proxy}`,
    // Keplr reads balances and fees for its own screens from `rest`
    // (`chimera ui --terra-rest`); signing (`signDirect`) does not use it,
    // and this page broadcasts through the RPC proxy itself, so without
    // one the RPC proxy stands in.
    rest: `${origin}${terra.rest_proxy ?? terra.rpc_proxy}`,
    bip44: { coinType: terra.coin_type },
    bech32Config: {
      bech32PrefixAccAddr: p,
      bech32PrefixAccPub: `${p}pub`,
      bech32PrefixValAddr: `${p}valoper`,
      bech32PrefixValPub: `${p}valoperpub`,
      bech32PrefixConsAddr: `${p}valcons`,
      bech32PrefixConsPub: `${p}valconspub`,
    },
    currencies: [lunc],
    stakeCurrency: lunc,
    feeCurrencies: [{ ...lunc, gasPriceStep: { low: price, average: price, high: price } }],
  };
}

/** The wallet's account for Terra: its name in the wallet and address. */
export interface BrowserAccount {
  name: string;
  address: string;
}

/** Connects Keplr/Station to Terra: suggests the chain when Keplr does not
 *  ship it (once per page load), enables it, reads the key. */
export async function connectBrowserWallet(terra: TerraInfo): Promise<{ keplr: Keplr; account: BrowserAccount }> {
  const keplr = browserWallet();
  if (!keplr) throw new WalletError("no wallet: install Keplr or Station, or (devnet) enter a mnemonic");
  const chainId = terra.chain_id;
  if (!KEPLR_KNOWS.has(chainId) && !suggested.has(chainId) && typeof keplr.experimentalSuggestChain === "function") {
    try {
      await keplr.experimentalSuggestChain(terraChainInfo(terra));
      suggested.add(chainId);
    } catch (e) {
      if (isRejection(e)) throw new WalletError(`you declined adding ${chainId} to the wallet: nothing was sent. Connect again and approve it to use Keplr/Station`);
      throw new WalletError(`the wallet could not add ${chainId} (${(e as Error).message})`);
    }
  }
  try {
    await keplr.enable(chainId);
  } catch (e) {
    if (isRejection(e)) throw new WalletError(`you declined connecting the wallet to ${chainId}: nothing was sent. Connect again and approve it to use Keplr/Station`);
    throw new WalletError(
      `the wallet did not connect to ${chainId} (${(e as Error).message}): approve the request, or add the chain to the wallet (Station cannot be sent a chain: add it in its network settings)`,
    );
  }
  let key;
  try {
    key = await keplr.getKey(chainId);
  } catch (e) {
    throw new WalletError(`the wallet gave no account for ${chainId} (${(e as Error).message})`);
  }
  if (!key.bech32Address.startsWith(`${terra.prefix}1`))
    throw new WalletError(`the wallet's account ${key.bech32Address} is not a ${terra.prefix} address: is ${chainId} set up with prefix ${terra.prefix}?`);
  return { keplr, account: { name: key.name, address: key.bech32Address } };
}

/** The Keplr/Station account while `on`: null until the user connects;
 *  re-read when the wallet says the user switched accounts. */
export function useBrowserAccount(
  terra: TerraInfo,
  on: boolean,
): { account: BrowserAccount | null; error: string | null; busy: boolean; connect: (show?: boolean) => Promise<BrowserAccount> } {
  const [account, setAccount] = useState<BrowserAccount | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  /** Connects; throws the WalletError too (`show`: also keep it on the page's
   *  wallet line, for the Connect button; a submit shows its own). */
  const connect = async (show = true) => {
    setBusy(true);
    setError(null);
    try {
      const { account: a } = await connectBrowserWallet(terra);
      setAccount(a);
      return a;
    } catch (e) {
      setAccount(null);
      if (show) setError((e as Error).message);
      throw e;
    } finally {
      setBusy(false);
    }
  };
  const connected = on && account !== null;
  useEffect(() => {
    if (!connected) return;
    const onSwitch = () => {
      const keplr = browserWallet();
      if (!keplr) return;
      keplr.getKey(terra.chain_id).then(
        (k) => {
          setError(null);
          setAccount({ name: k.name, address: k.bech32Address });
        },
        (e: Error) => {
          setAccount(null);
          setError(`the wallet switched accounts and gave none for ${terra.chain_id} (${e.message}): connect again`);
        },
      );
    };
    for (const ev of KEYSTORE_EVENTS) window.addEventListener(ev, onSwitch);
    return () => {
      for (const ev of KEYSTORE_EVENTS) window.removeEventListener(ev, onSwitch);
    };
  }, [connected, terra.chain_id]);
  return { account: on ? account : null, error: on ? error : null, busy, connect };
}

/** What the wallet needs to know about Terra (`/api/ask-info`'s and
 *  `/api/ica-info`'s `terra`). */
export type TerraInfo = AskInfo["terra"];

export interface Submitted {
  requestId: string;
  txHash: string;
  height: number;
  gasUsed: number;
  address: string;
}

/** An error the page shows as is: what went wrong and what to do. */
export class WalletError extends Error {}

export function unreachable(terra: TerraInfo, e: unknown): WalletError {
  return new WalletError(
    `Terra Classic (${terra.chain_id}) is unreachable through ${location.origin}${terra.rpc_proxy} (${(e as Error).message}): is the Terra node at ${terra.rpc} running?`,
  );
}

/** A connected signing client and the account it signs for. */
export interface Wallet {
  // The CosmJS client (SigningCosmWasmClient), typed loosely to keep CosmJS
  // out of the main chunk's types.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  client: any;
  address: string;
  terra: TerraInfo;
  /** Balance of `denom` (default uluna) on Terra. */
  balance(denom?: string): Promise<bigint>;
  disconnect(): void;
}

/** Opens the wallet (`mnemonic`: the in-page devnet wallet; null: Keplr or
 *  Station) and connects a signing client to Terra through `/terra-rpc`. */
export async function openWallet(terra: TerraInfo, mnemonic: string | null): Promise<Wallet> {
  const [{ DirectSecp256k1HdWallet, Registry }, { SigningCosmWasmClient, wasmTypes }, { GasPrice, defaultRegistryTypes }, { stringToPath }, { icaRegistryTypes }] =
    await Promise.all([
      import("@cosmjs/proto-signing"),
      import("@cosmjs/cosmwasm-stargate"),
      import("@cosmjs/stargate"),
      import("@cosmjs/crypto"),
      import("./lib/ica"),
    ]);
  const chainId = terra.chain_id;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let signer: any;
  if (mnemonic !== null) {
    const words = mnemonic.trim().split(/\s+/).join(" ");
    try {
      signer = await DirectSecp256k1HdWallet.fromMnemonic(words, {
        prefix: terra.prefix,
        hdPaths: [stringToPath(`m/44'/${terra.coin_type}'/0'/0/0`)],
      });
    } catch (e) {
      throw new WalletError(`the mnemonic is not valid (${(e as Error).message}): enter the devnet wallet's 12 or 24 words`);
    }
  } else {
    // Keplr/Station: the signer signs in the wallet (`signDirect`, the
    // user approves each tx there); the page never holds a key.
    const { keplr } = await connectBrowserWallet(terra);
    signer = keplr.getOfflineSigner(chainId);
  }
  let account;
  try {
    [account] = await signer.getAccounts();
  } catch (e) {
    throw isRejection(e) ? rejected("the account") : new WalletError(`the wallet gave no account for ${chainId} (${(e as Error).message})`);
  }
  const endpoint = `${location.origin}${terra.rpc_proxy}`;
  let client;
  try {
    client = await SigningCosmWasmClient.connectWithSigner(endpoint, signer, {
      gasPrice: GasPrice.fromString(terra.gas_price),
      // Terra makes a block about every second: look for the tx often.
      broadcastPollIntervalMs: 300,
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      registry: new Registry([...defaultRegistryTypes, ...wasmTypes, ...(icaRegistryTypes as any)]),
    });
  } catch (e) {
    throw unreachable(terra, e);
  }
  try {
    const actual = await client.getChainId();
    if (actual !== chainId) throw new WalletError(`the Terra node is on ${actual}, not ${chainId}`);
  } catch (e) {
    client.disconnect();
    throw e instanceof WalletError ? e : unreachable(terra, e);
  }
  return {
    client,
    address: account.address,
    terra,
    balance: async (denom = terra.denom) => BigInt((await client.getBalance(account.address, denom)).amount),
    disconnect: () => client.disconnect(),
  };
}

/** The user said no in Keplr/Station: nothing was signed, so nothing left the page. */
export function rejected(what: string): WalletError {
  return new WalletError(`you rejected ${what} in the wallet ("Request rejected"), so it was not signed or sent. Send again and approve it to go on`);
}

/** A failed tx or query as a WalletError that says what to do. */
export function walletError(terra: TerraInfo, e: unknown, what = "the request"): WalletError {
  if (e instanceof WalletError) return e;
  if (isRejection(e)) return rejected(what);
  const m = (e as Error).message;
  if (/insufficient funds/i.test(m)) return new WalletError(`not enough LUNC: ${m}`);
  if (/fetch|network|ECONNREFUSED|Bad status|502/i.test(m)) return unreachable(terra, e);
  return new WalletError(`Terra refused ${what}: ${m}`);
}

/** Simulates `msgs` from the wallet and checks its uluna covers `attached`
 *  plus the gas; the simulated gas. */
export async function simulateAndCheck(
  w: Wallet,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  msgs: { typeUrl: string; value: any }[],
  attached: bigint,
  what: string,
): Promise<number> {
  const balance = await w.balance();
  let gas: number;
  try {
    gas = await w.client.simulate(w.address, msgs, "");
  } catch (e) {
    const m = (e as Error).message;
    if (/insufficient|does not exist|not found: key/i.test(m) && balance <= attached)
      throw new WalletError(`not enough LUNC: ${w.address} holds ${formatLunc(balance)}; send it at least ${formatLunc(attached)} plus gas`);
    throw new WalletError(`${what} would fail on Terra: ${m}`);
  }
  const gasFee = gasFeeUluna(gas, w.terra.gas_adjustment, w.terra.gas_price);
  const missing = shortfall(balance, attached, gasFee);
  if (missing > 0n)
    throw new WalletError(
      `not enough LUNC: ${w.address} holds ${formatLunc(balance)}, ${what} needs ${formatLunc(attached)} + about ${formatLunc(gasFee)} gas; send it ${formatLunc(missing)} more`,
    );
  return gas;
}

/** What a request needs whatever the route: who signs (the devnet words,
 *  or null for Keplr/Station), the model, the input (a text prompt, or a
 *  tensor's bytes with its encoding), the seed, and to whom to seal it. */
export interface AskRequest {
  mnemonic: string | null;
  model: string;
  prompt: string;
  /** A tensor input instead of the prompt, with its encoding. */
  input?: Uint8Array;
  encoding?: InputEncoding;
  seed: string;
  /** Executor X25519 keys (hex) to seal the input to; null: sent as it is. */
  sealTo: string[] | null;
  /** Contract route, with `sealTo`: the output sealed to this key pair's
   *  public half (the secret stays in this browser). */
  outputKey?: OutputKey | null;
}

/** The contract route: `request_inference` on the requester contract. */
export async function submitRequest(info: AskInfo, opts: AskRequest & { feeUluna: bigint }): Promise<Submitted> {
  if (!info.channel) throw new WalletError(info.channel_error ?? "the contract has no channel to chimerad");
  const { requestInferenceMsg } = await import("./lib/request");
  const w = await openWallet(info.terra, opts.mnemonic);
  try {
    // Sealed here, in the page, when asked: only the ciphertext and the
    // envelope leave it (lib/sealed.ts, docs/protocol.md §6).
    let msg;
    try {
      msg = requestInferenceMsg({
        channel: info.channel,
        model: opts.model,
        prompt: opts.prompt,
        input: opts.input,
        encoding: opts.encoding,
        seed: opts.seed,
        sealTo: opts.sealTo,
        outputKey: opts.outputKey?.publicHex ?? null,
      });
    } catch (e) {
      throw new WalletError(`the input could not be sealed: ${(e as Error).message}`);
    }
    const funds = [{ denom: info.terra.denom, amount: opts.feeUluna.toString() }];
    await simulateAndCheck(
      w,
      [
        {
          typeUrl: "/cosmwasm.wasm.v1.MsgExecuteContract",
          value: { sender: w.address, contract: info.contract, msg: new TextEncoder().encode(JSON.stringify(msg)), funds },
        },
      ],
      opts.feeUluna,
      "the request",
    );
    const r = await w.client.execute(w.address, info.contract, msg, info.terra.gas_adjustment, "", funds);
    const ev = r.events.find((e: { type: string; attributes: { key: string }[] }) => e.type === "wasm" && e.attributes.some((a) => a.key === "request_id"));
    const id = ev?.attributes.find((a: { key: string }) => a.key === "request_id")?.value;
    if (!id) throw new WalletError(`tx ${r.transactionHash} has no wasm.request_id event: is ${info.contract} the requester contract?`);
    return { requestId: id, txHash: r.transactionHash, height: r.height, gasUsed: Number(r.gasUsed), address: w.address };
  } catch (e) {
    throw walletError(info.terra, e);
  } finally {
    w.disconnect();
  }
}
