// The Validators page's agreement rate: jobs_paid against faults.
import { describe, expect, it } from "vitest";
import { agreementOf, formatPercent } from "../../src/lib/agreement";

describe("agreementOf", () => {
  it("says so before anything is counted", () => {
    expect(agreementOf("0", "0")).toEqual({ agreed: 0n, disagreed: 0n, percent: null, text: "nothing counted yet (no paid job, no fault)" });
  });
  it("counts agreements and faults", () => {
    const a = agreementOf("12", "1");
    expect(a.percent).toBe(92.3);
    expect(a.text).toBe("agreed with the quorum 12 times, disagreed 1 time (92.3%)");
    expect(agreementOf("1", "0").text).toBe("agreed with the quorum 1 time, disagreed 0 times (100%)");
    expect(agreementOf("0", "3").percent).toBe(0);
    expect(agreementOf("18446744073709551615", "1").percent).toBe(99.99);
  });
  it("rounds down, never up to 100%", () => {
    expect(formatPercent(99.99)).toBe("99.9%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(50)).toBe("50.0%");
  });
});
