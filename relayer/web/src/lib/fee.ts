// Fees in LUNC for the Ask page: the contract's price (uluna, a decimal
// string) shown as LUNC before signing, and the gas a request may cost at
// Terra Classic's fixed gas price. Pure: unit-tested in tests/unit.

export const ULUNA_PER_LUNC = 1_000_000n;

/** "100000" uluna → "0.1 LUNC"; trailing zeros dropped, thousands grouped. */
export function formatLunc(uluna: string | bigint): string {
  const u = typeof uluna === "bigint" ? uluna : parseUluna(uluna);
  const whole = u / ULUNA_PER_LUNC;
  const frac = (u % ULUNA_PER_LUNC).toString().padStart(6, "0").replace(/0+$/, "");
  const w = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${w}${frac ? `.${frac}` : ""} LUNC`;
}

/** A non-negative integer amount of uluna, or an Error saying what is wrong. */
export function parseUluna(s: string): bigint {
  if (!/^\d+$/.test(s.trim())) throw new Error(`${JSON.stringify(s)} is not an amount of uluna (a whole number)`);
  return BigInt(s.trim());
}

/** "1.5" LUNC → 1500000n uluna (at most 6 decimals). */
export function luncToUluna(s: string): bigint {
  const m = /^(\d+)(?:\.(\d{0,6}))?$/.exec(s.trim());
  if (!m) throw new Error(`${JSON.stringify(s)} is not an amount of LUNC (up to 6 decimals)`);
  return BigInt(m[1]) * ULUNA_PER_LUNC + BigInt((m[2] ?? "").padEnd(6, "0"));
}

/** What the Ask form attaches: the model's price, or `fallback` (uluna)
 *  when the contract names none (it then takes any fee above zero). */
export function feeToAttach(priceUluna: string | null, fallback: bigint): { uluna: bigint; fromPrice: boolean } {
  if (priceUluna !== null) return { uluna: parseUluna(priceUluna), fromPrice: true };
  return { uluna: fallback, fromPrice: false };
}

/** The gas fee in uluna: ceil(gas × adjustment × price), price as "28.325uluna". */
export function gasFeeUluna(gas: number, adjustment: number, gasPrice: string): bigint {
  const m = /^(\d+(?:\.\d+)?)uluna$/.exec(gasPrice);
  if (!m) throw new Error(`gas price ${gasPrice} is not in uluna`);
  // Thousandths keep 28.325 exact.
  const milli = BigInt(Math.round(Number(m[1]) * 1000));
  const limit = BigInt(Math.ceil(gas * adjustment));
  return (limit * milli + 999n) / 1000n;
}

/** Whether `balance` covers fee + gas; otherwise how much is missing. */
export function shortfall(balance: bigint, fee: bigint, gas: bigint): bigint {
  const need = fee + gas;
  return balance >= need ? 0n : need - balance;
}
