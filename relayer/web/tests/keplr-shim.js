// A test-only Keplr for the real-browser tests: `window.keplr` with the API
// `@keplr-wallet/types` (0.13.41, `Keplr` in build/wallet/keplr.d.ts)
// declares, injected into the page before it loads (Playwright
// `addInitScript`), the way the extension's content script injects its
// provider. The key lives outside the page, as Keplr's lives in its
// extension's background: a CosmJS `DirectSecp256k1HdWallet` built in this
// Node process from the mnemonic the test passes (Terra's coin type 330,
// prefix terra), reached through two `page.exposeFunction` bindings, as
// Keplr's in-page provider reaches its background by messages. Nothing of
// the page's own code is mocked: the page finds `window.keplr` and drives
// it like the extension.
//
// What it holds to, as Keplr does:
// - it knows the chains it is told it ships (`known`); `enable`, `getKey`
//   and signing for any other chain id fail with Keplr's "There is no chain
//   info for …" until `experimentalSuggestChain` gave it that chain (Keplr
//   checks the suggested chain's shape: chainId, chainName, rpc, rest,
//   bip44.coinType, bech32Config, currencies, feeCurrencies);
// - `getOfflineSigner(chainId)` is Keplr's CosmJSOfflineSigner: getAccounts
//   from `getKey`; `signDirect(signer, signDoc)` refuses another chain id
//   ("Unmatched chain id with the offline signer") or another address
//   ("Unknown signer address") and goes on to `keplr.signDirect`;
// - a rejected prompt throws `Error("Request rejected")`;
// - an account switch fires `keplr_keystorechange` on window.
// It records every call (`window.__keplrShim.calls`: method, chain id,
// signer) and anything Keplr would have asked the user about first
// (`violations`: a key or a signature for a chain never enabled). It signs
// only in direct mode: `signAmino` is recorded and refused, so a page that
// fell back to Amino shows up.
//
//   import { installKeplrShim } from "./keplr-shim.js";
//   const shim = await installKeplrShim(page, { mnemonic, known: ["columbus-5"] });
//   ... shim.calls(), shim.rejectNext("signDirect"), shim.switchTo(otherMnemonic)
import { DirectSecp256k1HdWallet } from "@cosmjs/proto-signing";
import { stringToPath } from "@cosmjs/crypto";
import { fromBech32 } from "@cosmjs/encoding";

const b64 = (u) => Buffer.from(u).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s, "base64"));

/** The wallet behind the shim: Keplr's account for a coin type and prefix. */
async function account(mnemonic, coinType, prefix) {
  const wallet = await DirectSecp256k1HdWallet.fromMnemonic(mnemonic, { prefix, hdPaths: [stringToPath(`m/44'/${coinType}'/0'/0/0`)] });
  const [a] = await wallet.getAccounts();
  return { wallet, address: a.address, pubkey: a.pubkey };
}

/** The in-page half: Keplr's provider surface over the two bindings. */
function pageShim(cfg) {
  const calls = [];
  const violations = [];
  const chains = new Map(cfg.known.map((id) => [id, { chainId: id, bip44: { coinType: 330 }, bech32Config: { bech32PrefixAccAddr: "terra" } }]));
  const enabled = new Set();
  let reject = null;
  const b64 = (u) => btoa(String.fromCharCode(...u));
  const unb64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const record = (method, rest = {}) => calls.push({ method, ...rest });
  const prompt = (method) => {
    if (reject === method) {
      reject = null;
      record("rejected", { of: method });
      throw new Error("Request rejected");
    }
  };
  const chainOf = (chainId) => {
    const c = chains.get(chainId);
    if (!c) throw new Error(`There is no chain info for ${chainId}`);
    return c;
  };
  // A call that needs the origin's permission for the chain: Keplr would
  // open its permission prompt first; the test wants the page to enable.
  const permitted = (method, chainId) => {
    chainOf(chainId);
    if (!enabled.has(chainId)) violations.push(`${method}(${chainId}) before enable(${chainId})`);
  };
  const key = async (chainId) => {
    const c = chainOf(chainId);
    const k = await window.__keplrShimKey(c.bip44.coinType, c.bech32Config?.bech32PrefixAccAddr ?? "terra");
    return {
      name: k.name,
      algo: "secp256k1",
      pubKey: unb64(k.pubKey),
      address: unb64(k.address),
      bech32Address: k.bech32Address,
      ethereumHexAddress: "",
      isNanoLedger: false,
      isKeystone: false,
    };
  };
  const need = (info, path) => {
    const v = path.split(".").reduce((o, p) => (o == null ? o : o[p]), info);
    if (v === undefined || v === null || v === "") throw new Error(`Invalid chain info: ${path} is required`);
    return v;
  };
  const keplr = {
    version: "0.13.41",
    mode: "extension",
    defaultOptions: {},
    async ping() {},
    async experimentalSuggestChain(info) {
      record("experimentalSuggestChain", { chainId: info?.chainId, chainInfo: JSON.parse(JSON.stringify(info ?? null)) });
      for (const p of ["chainId", "chainName", "rpc", "rest", "bip44.coinType", "bech32Config.bech32PrefixAccAddr", "currencies", "feeCurrencies"]) need(info, p);
      if (!info.currencies.length || !info.feeCurrencies.length) throw new Error("Invalid chain info: currencies and feeCurrencies must not be empty");
      for (const u of [info.rpc, info.rest]) new URL(u);
      prompt("experimentalSuggestChain");
      if (!cfg.known.includes(info.chainId)) chains.set(info.chainId, info);
    },
    async enable(chainIds) {
      const ids = [chainIds].flat();
      record("enable", { chainId: ids.join(",") });
      ids.forEach(chainOf);
      prompt("enable");
      ids.forEach((id) => enabled.add(id));
    },
    async disable(chainIds) {
      record("disable", { chainId: chainIds === undefined ? null : [chainIds].flat().join(",") });
      if (chainIds === undefined) enabled.clear();
      else [chainIds].flat().forEach((id) => enabled.delete(id));
    },
    async getKey(chainId) {
      record("getKey", { chainId });
      permitted("getKey", chainId);
      return key(chainId);
    },
    async signDirect(chainId, signer, signDoc, signOptions) {
      const entry = { method: "signDirect", chainId, signer, docChainId: signDoc.chainId };
      calls.push(entry);
      permitted("signDirect", chainId);
      prompt("signDirect");
      const r = await window.__keplrShimSignDirect(chainId, signer, {
        bodyBytes: b64(signDoc.bodyBytes),
        authInfoBytes: b64(signDoc.authInfoBytes),
        chainId: signDoc.chainId,
        accountNumber: String(signDoc.accountNumber),
      });
      entry.signature = r.signature.signature;
      void signOptions;
      return {
        // Keplr hands back the doc it signed (a Long accountNumber; CosmJS
        // reads only the bytes and the signature).
        signed: { bodyBytes: unb64(r.signed.bodyBytes), authInfoBytes: unb64(r.signed.authInfoBytes), chainId: r.signed.chainId, accountNumber: signDoc.accountNumber },
        signature: r.signature,
      };
    },
    async signAmino(chainId, signer) {
      record("signAmino", { chainId, signer });
      throw new Error("this test wallet signs in direct mode only (getOfflineSigner → signDirect)");
    },
    getOfflineSigner(chainId, signOptions) {
      record("getOfflineSigner", { chainId });
      return offlineSigner(chainId, signOptions, true);
    },
    getOfflineSignerOnlyAmino(chainId, signOptions) {
      record("getOfflineSignerOnlyAmino", { chainId });
      return offlineSigner(chainId, signOptions, false);
    },
    async getOfflineSignerAuto(chainId, signOptions) {
      record("getOfflineSignerAuto", { chainId });
      // Keplr: Amino only for a Ledger key; this key is not one.
      return offlineSigner(chainId, signOptions, true);
    },
  };
  // Keplr's CosmJSOfflineSigner (and CosmJSOfflineSignerOnlyAmino).
  function offlineSigner(chainId, signOptions, direct) {
    const s = {
      async getAccounts() {
        const k = await keplr.getKey(chainId);
        return [{ address: k.bech32Address, algo: "secp256k1", pubkey: k.pubKey }];
      },
      async signAmino(signerAddress, signDoc) {
        if (chainId !== signDoc.chain_id) throw new Error("Unmatched chain id with the offline signer");
        const k = await keplr.getKey(signDoc.chain_id);
        if (k.bech32Address !== signerAddress) throw new Error("Unknown signer address");
        return keplr.signAmino(chainId, signerAddress, signDoc, signOptions);
      },
    };
    if (direct)
      s.signDirect = async (signerAddress, signDoc) => {
        if (chainId !== signDoc.chainId) throw new Error("Unmatched chain id with the offline signer");
        const k = await keplr.getKey(signDoc.chainId);
        if (k.bech32Address !== signerAddress) throw new Error("Unknown signer address");
        return keplr.signDirect(chainId, signerAddress, signDoc, signOptions);
      };
    return s;
  }
  Object.defineProperty(window, "keplr", { value: keplr, configurable: false, writable: false });
  // Keplr also injects these three on window.
  window.getOfflineSigner = keplr.getOfflineSigner;
  window.getOfflineSignerOnlyAmino = keplr.getOfflineSignerOnlyAmino;
  window.getOfflineSignerAuto = keplr.getOfflineSignerAuto;
  // The test's handle (what the extension's own UI would do).
  window.__keplrShim = {
    calls,
    violations,
    rejectNext: (method) => {
      reject = method;
    },
    keystoreChanged: () => window.dispatchEvent(new Event("keplr_keystorechange")),
  };
}

/**
 * Injects the shim into `page` (before its next navigation). `mnemonic`:
 * the account; `known`: the chain ids it ships (default: Terra's public
 * ones, so `localterra-1` must be suggested); `name`: the key's name.
 * Returns the test's handle.
 */
export async function installKeplrShim(page, { mnemonic, known = ["columbus-5", "phoenix-1"], name = "test key" }) {
  let words = mnemonic;
  let keyName = name;
  const signatures = [];
  await page.exposeFunction("__keplrShimKey", async (coinType, prefix) => {
    const a = await account(words, coinType, prefix);
    return { name: keyName, pubKey: b64(a.pubkey), address: b64(fromBech32(a.address, 90).data), bech32Address: a.address };
  });
  await page.exposeFunction("__keplrShimSignDirect", async (chainId, signer, doc) => {
    const coinType = 330;
    const prefix = fromBech32(signer, 90).prefix;
    const a = await account(words, coinType, prefix);
    if (a.address !== signer) throw new Error("Unknown signer address");
    if (doc.chainId !== chainId) throw new Error("Unmatched chain id");
    const r = await a.wallet.signDirect(signer, {
      bodyBytes: unb64(doc.bodyBytes),
      authInfoBytes: unb64(doc.authInfoBytes),
      chainId: doc.chainId,
      accountNumber: BigInt(doc.accountNumber),
    });
    signatures.push(r.signature.signature);
    return {
      signed: { bodyBytes: b64(r.signed.bodyBytes), authInfoBytes: b64(r.signed.authInfoBytes), chainId: r.signed.chainId, accountNumber: String(r.signed.accountNumber) },
      signature: r.signature,
    };
  });
  await page.addInitScript(pageShim, { known });
  return {
    /** The Terra address the shim signs for now. */
    address: async () => (await account(words, 330, "terra")).address,
    /** Every call the page made, in order. */
    calls: () => page.evaluate(() => window.__keplrShim.calls),
    /** What Keplr would have prompted for (a key or a signature before enable). */
    violations: () => page.evaluate(() => window.__keplrShim.violations),
    /** Base64 signatures the key made (to find them in the broadcast txs). */
    signatures: () => [...signatures],
    /** The user rejects the next prompt of `method` ("Request rejected"). */
    rejectNext: (method) => page.evaluate((m) => window.__keplrShim.rejectNext(m), method),
    /** The user switches to another account in the wallet. */
    switchTo: async (otherMnemonic, otherName) => {
      words = otherMnemonic;
      keyName = otherName ?? keyName;
      await page.evaluate(() => window.__keplrShim.keystoreChanged());
    },
  };
}
