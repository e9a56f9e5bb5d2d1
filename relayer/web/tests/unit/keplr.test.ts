import { describe, expect, it } from "vitest";
import { isRejection, rejected, terraChainInfo, type TerraInfo, walletError, WalletError } from "../../src/wallet";

const terra: TerraInfo = {
  chain_id: "localterra-1",
  rpc: "http://127.0.0.1:26657",
  rpc_proxy: "/terra-rpc",
  denom: "uluna",
  prefix: "terra",
  coin_type: 330,
  gas_price: "28.325uluna",
  gas_adjustment: 1.4,
};

describe("Keplr's chain info for Terra Classic", () => {
  it("suggests the chain with this server's RPC, coin type 330, prefix terra and the gas price", () => {
    const c = terraChainInfo(terra, "http://127.0.0.1:8090");
    expect(c.chainId).toBe("localterra-1");
    expect(c.rpc).toBe("http://127.0.0.1:8090/terra-rpc");
    expect(c.bip44.coinType).toBe(330);
    expect(c.bech32Config?.bech32PrefixAccAddr).toBe("terra");
    expect(c.bech32Config?.bech32PrefixValAddr).toBe("terravaloper");
    expect(c.currencies).toEqual([{ coinDenom: "LUNC", coinMinimalDenom: "uluna", coinDecimals: 6 }]);
    expect(c.feeCurrencies[0]).toMatchObject({ coinMinimalDenom: "uluna", coinDecimals: 6, gasPriceStep: { low: 28.325, average: 28.325, high: 28.325 } });
  });
});

describe("a rejected wallet prompt", () => {
  it("is recognised by Keplr's words and said plainly", () => {
    expect(isRejection(new Error("Request rejected"))).toBe(true);
    expect(isRejection(new Error("insufficient funds"))).toBe(false);
    const e = walletError(terra, new Error("Request rejected"), "the registration");
    expect(e).toBeInstanceOf(WalletError);
    expect(e.message).toBe(rejected("the registration").message);
    expect(e.message).toMatch(/^you rejected the registration in the wallet \("Request rejected"\), so it was not signed or sent/);
  });
});
