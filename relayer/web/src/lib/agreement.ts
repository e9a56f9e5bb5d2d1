// A validator's agreement rate from its executor record (chimera.fees.v1
// Executors): `jobs_paid` counts the paid jobs it agreed with the quorum on,
// `faults` the jobs it disagreed on (since it last registered its executor
// key). No new host state: the page divides what the query answers.

export interface Agreement {
  agreed: bigint;
  disagreed: bigint;
  /** agreed / (agreed + disagreed) in percent; null while both are zero. */
  percent: number | null;
  text: string;
}

const times = (n: bigint) => `${n} time${n === 1n ? "" : "s"}`;

export function agreementOf(jobsPaid: string, faults: string): Agreement {
  const agreed = BigInt(jobsPaid || "0");
  const disagreed = BigInt(faults || "0");
  const total = agreed + disagreed;
  if (total === 0n) return { agreed, disagreed, percent: null, text: "nothing counted yet (no paid job, no fault)" };
  // Two decimals, computed in integers, then rounded down to one.
  const percent = Number((agreed * 10000n) / total) / 100;
  return {
    agreed,
    disagreed,
    percent,
    text: `agreed with the quorum ${times(agreed)}, disagreed ${times(disagreed)} (${formatPercent(percent)})`,
  };
}

export function formatPercent(p: number): string {
  return `${p === 100 || p === 0 ? p.toFixed(0) : (Math.floor(p * 10) / 10).toFixed(1)}%`;
}
