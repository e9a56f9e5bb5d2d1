// Signing for the Ask page: Keplr or Station (`window.keplr`) when the page
// finds one, otherwise an in-page wallet from a devnet mnemonic the user
// enters (CosmJS, Terra's coin type 330, prefix terra). CosmJS is loaded
// only when the user signs, so the other pages stay small.
//
// Fees mirror what `terrad --gas auto --gas-adjustment 1.4 --gas-prices
// 28.325uluna` does (e2e/src/wasm.rs): simulate, times 1.4, at Terra
// Classic's fixed gas price. Terra Classic v3.4 counts its burn tax on the
// attached funds into the simulated gas, so that covers it too.
import type { AskInfo } from "./api";
import { gasFeeUluna, formatLunc, shortfall } from "./lib/fee";

interface KeplrLike {
  enable(chainId: string): Promise<void>;
  getOfflineSigner(chainId: string): unknown;
}

declare global {
  interface Window {
    keplr?: KeplrLike;
  }
}

export function hasBrowserWallet(): boolean {
  return typeof window !== "undefined" && !!window.keplr;
}

export interface Submitted {
  requestId: string;
  txHash: string;
  height: number;
  gasUsed: number;
  address: string;
}

/** An error the page shows as is: what went wrong and what to do. */
export class WalletError extends Error {}

function unreachable(info: AskInfo, e: unknown): WalletError {
  return new WalletError(
    `Terra Classic (${info.terra.chain_id}) is unreachable through ${location.origin}${info.terra.rpc_proxy} (${(e as Error).message}): is the Terra node at ${info.terra.rpc} running?`,
  );
}

export async function submitRequest(
  info: AskInfo,
  opts: {
    mnemonic: string | null;
    model: string;
    prompt: string;
    seed: string;
    feeUluna: bigint;
    /** Executor X25519 keys (hex) to seal the prompt to; null: sent as plain text. */
    sealTo: string[] | null;
  },
): Promise<Submitted> {
  if (!info.channel) throw new WalletError(info.channel_error ?? "the contract has no channel to chimerad");
  const [{ DirectSecp256k1HdWallet }, { SigningCosmWasmClient }, { GasPrice }, { stringToPath }, { requestInferenceMsg }] = await Promise.all([
    import("@cosmjs/proto-signing"),
    import("@cosmjs/cosmwasm-stargate"),
    import("@cosmjs/stargate"),
    import("@cosmjs/crypto"),
    import("./lib/request"),
  ]);
  const chainId = info.terra.chain_id;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let signer: any;
  if (opts.mnemonic !== null) {
    const words = opts.mnemonic.trim().split(/\s+/).join(" ");
    try {
      signer = await DirectSecp256k1HdWallet.fromMnemonic(words, {
        prefix: info.terra.prefix,
        hdPaths: [stringToPath(`m/44'/${info.terra.coin_type}'/0'/0/0`)],
      });
    } catch (e) {
      throw new WalletError(`the mnemonic is not valid (${(e as Error).message}): enter the devnet wallet's 12 or 24 words`);
    }
  } else if (window.keplr) {
    try {
      await window.keplr.enable(chainId);
    } catch (e) {
      throw new WalletError(`the wallet did not connect to ${chainId} (${(e as Error).message}): approve the request, or add the chain to Keplr/Station`);
    }
    signer = window.keplr.getOfflineSigner(chainId);
  } else {
    throw new WalletError("no wallet: install Keplr or Station, or (devnet) enter a mnemonic");
  }
  const [account] = await signer.getAccounts();
  const endpoint = `${location.origin}${info.terra.rpc_proxy}`;
  let client;
  try {
    client = await SigningCosmWasmClient.connectWithSigner(endpoint, signer, {
      gasPrice: GasPrice.fromString(info.terra.gas_price),
      // Terra makes a block about every second: look for the tx often.
      broadcastPollIntervalMs: 300,
    });
  } catch (e) {
    throw unreachable(info, e);
  }
  try {
    const actual = await client.getChainId();
    if (actual !== chainId) throw new WalletError(`the Terra node is on ${actual}, not ${chainId}`);
    // Sealed here, in the page, when asked: only the ciphertext and the
    // envelope leave it (lib/sealed.ts, docs/protocol.md §6).
    let msg;
    try {
      msg = requestInferenceMsg({ channel: info.channel, model: opts.model, prompt: opts.prompt, seed: opts.seed, sealTo: opts.sealTo });
    } catch (e) {
      throw new WalletError(`the prompt could not be sealed: ${(e as Error).message}`);
    }
    const funds = [{ denom: info.terra.denom, amount: opts.feeUluna.toString() }];
    const balance = BigInt((await client.getBalance(account.address, info.terra.denom)).amount);
    let gas: number;
    try {
      gas = await client.simulate(
        account.address,
        [
          {
            typeUrl: "/cosmwasm.wasm.v1.MsgExecuteContract",
            value: {
              sender: account.address,
              contract: info.contract,
              msg: new TextEncoder().encode(JSON.stringify(msg)),
              funds,
            },
          },
        ],
        "",
      );
    } catch (e) {
      const m = (e as Error).message;
      if (/insufficient|does not exist|not found: key/i.test(m) && balance < opts.feeUluna)
        throw new WalletError(`not enough LUNC: ${account.address} holds ${formatLunc(balance)}; send it at least ${formatLunc(opts.feeUluna)} plus gas`);
      throw new WalletError(`the request would fail on Terra: ${m}`);
    }
    const gasFee = gasFeeUluna(gas, info.terra.gas_adjustment, info.terra.gas_price);
    const missing = shortfall(balance, opts.feeUluna, gasFee);
    if (missing > 0n)
      throw new WalletError(
        `not enough LUNC: ${account.address} holds ${formatLunc(balance)}, the request needs ${formatLunc(opts.feeUluna)} + about ${formatLunc(gasFee)} gas; send it ${formatLunc(missing)} more`,
      );
    const r = await client.execute(account.address, info.contract, msg, info.terra.gas_adjustment, "", funds);
    const ev = r.events.find((e) => e.type === "wasm" && e.attributes.some((a) => a.key === "request_id"));
    const id = ev?.attributes.find((a) => a.key === "request_id")?.value;
    if (!id) throw new WalletError(`tx ${r.transactionHash} has no wasm.request_id event: is ${info.contract} the requester contract?`);
    return { requestId: id, txHash: r.transactionHash, height: r.height, gasUsed: Number(r.gasUsed), address: account.address };
  } catch (e) {
    if (e instanceof WalletError) throw e;
    const m = (e as Error).message;
    if (/insufficient funds/i.test(m)) throw new WalletError(`not enough LUNC: ${m}`);
    if (/fetch|network|ECONNREFUSED|Bad status|502/i.test(m)) throw unreachable(info, e);
    throw new WalletError(`Terra refused the request: ${m}`);
  } finally {
    client.disconnect();
  }
}
