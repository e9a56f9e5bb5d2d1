import { describe, expect, it } from "vitest";
import { type FeeHistory, coinText, displayAmount, formatAmount, niceTicks, scaleChart, shapeHistory, summarize, unitOf, xLabel } from "../../src/lib/chart";

const history: FeeHistory = {
  oldest: 1,
  latest: 30,
  samples: [
    { height: 1, time_ms: 1_700_000_000_000 },
    { height: 16, time_ms: 1_700_000_015_000 },
    { height: 30, time_ms: 1_700_000_029_000 },
  ],
  series: [
    {
      denom: "transfer/channel-0/uluna",
      collected: ["0", "100000", "300000"],
      paid_to_executors: ["0", "70000", "210000"],
      burned: ["0", "20000", "60000"],
      community_paid: ["0", "10000", "30000"],
    },
    { denom: "uatom", collected: ["0", "0", "0"], paid_to_executors: ["0", "0", "0"], burned: ["0", "0", "0"], community_paid: ["0", "0", "0"] },
  ],
  cached: 1,
};

describe("series shaping", () => {
  it("shows uluna as LUNC, over IBC too, and other denoms as they are", () => {
    expect(unitOf("uluna")).toEqual({ unit: "LUNC", scale: 1e6 });
    expect(unitOf("transfer/channel-0/uluna")).toEqual({ unit: "LUNC", scale: 1e6 });
    expect(unitOf("uatom").unit).toBe("uatom");
    // A voucher's hash is LUNC once chimerad's denom trace says so.
    const voucher = "ibc/4627AD2524E3E0523047E35BB76CC90E37D9D57ACF14F0FCBCEB2480705F3CB8";
    const paths = { [voucher]: "transfer/channel-0/uluna" };
    expect(unitOf(voucher).unit).toBe(voucher);
    expect(unitOf(voucher, paths)).toEqual({ unit: "LUNC", scale: 1e6 });
    expect(coinText("700", voucher, paths)).toEqual({ text: "0.0007 LUNC", title: `700 ${voucher} (transfer/channel-0/uluna)` });
    expect(coinText("700", voucher).text).toBe("700 ibc/4627AD…3CB8");
    expect(coinText("21", "uchim").text).toBe("21 uchim");
    expect(displayAmount("1500000", 1e6)).toBe(1.5);
    expect(displayAmount("1", 1e6)).toBe(0.000001);
    // Exact beyond 2^53 base units in the integer part.
    expect(displayAmount("123456789012345678901", 1e6)).toBeCloseTo(123456789012345.67, 0);
    expect(formatAmount(1234.5)).toBe("1,235");
    expect(formatAmount(0.0012)).toBe("0.0012");
    expect(formatAmount(0)).toBe("0");
  });

  it("makes one chart per denom with four lines, by block time", () => {
    const [lunc, atom] = shapeHistory(history);
    expect(lunc.unit).toBe("LUNC");
    expect(lunc.xKind).toBe("time");
    expect(lunc.xs).toEqual([1_700_000_000_000, 1_700_000_015_000, 1_700_000_029_000]);
    expect(lunc.lines.map((l) => l.field)).toEqual(["collected", "paid_to_executors", "burned", "community_paid"]);
    expect(lunc.lines[0].values).toEqual([0, 0.1, 0.3]);
    expect(lunc.lines[2].values).toEqual([0, 0.02, 0.06]);
    expect(lunc.any).toBe(true);
    expect(atom.any).toBe(false);
  });

  it("falls back to heights when a block time is missing", () => {
    const h = { ...history, samples: [...history.samples.slice(0, 2), { height: 30, time_ms: null }] };
    const [c] = shapeHistory(h);
    expect(c.xKind).toBe("height");
    expect(c.xs).toEqual([1, 16, 30]);
    expect(xLabel(c, 16)).toBe("h 16");
  });

  it("says what the chart shows", () => {
    const s = summarize(shapeHistory(history)[0]);
    expect(s).toContain("LUNC");
    expect(s).toContain("from height 1 to 30 (3 samples)");
    expect(s).toContain("paid (collected) 0 → 0.3");
    expect(s).toContain("burned 0 → 0.06");
    expect(s).toContain("to the community 0 → 0.03");
  });
});

describe("chart scaling", () => {
  it("picks round ticks covering the maximum", () => {
    expect(niceTicks(0.3)).toEqual([0, 0.1, 0.2, 0.3]);
    expect(niceTicks(1000)).toEqual([0, 250, 500, 750, 1000]);
    expect(niceTicks(7)).toEqual([0, 2, 4, 6, 8]);
    expect(niceTicks(0)).toEqual([0, 1]);
    for (const m of [0.0007, 3, 42, 999, 123456]) {
      const t = niceTicks(m);
      expect(t[0]).toBe(0);
      expect(t[t.length - 1]).toBeGreaterThanOrEqual(m);
      expect(t.length).toBeLessThanOrEqual(7);
    }
  });

  it("maps values into the frame: 0 at the bottom, the top tick at the top", () => {
    const f = { width: 200, height: 100, left: 20, right: 0, top: 0, bottom: 20 };
    const [c] = shapeHistory(history);
    const s = scaleChart(c.xs, c.lines, f);
    expect(s.yMax).toBeCloseTo(0.3);
    const collected = s.paths[0].points;
    expect(collected[0]).toEqual([20, 80]);
    expect(collected[2]).toEqual([200, 0]);
    // x by time: 15 s of 29 s.
    expect(collected[1][0]).toBeCloseTo(20 + (15 / 29) * 180, 1);
    expect(s.yTicks[0]).toEqual({ value: 0, y: 80 });
    expect(s.xTicks[0].x).toBe(20);
    expect(s.xTicks[s.xTicks.length - 1].x).toBe(200);
    for (const p of s.paths.flatMap((p) => p.points)) {
      expect(p[0]).toBeGreaterThanOrEqual(20);
      expect(p[0]).toBeLessThanOrEqual(200);
      expect(p[1]).toBeGreaterThanOrEqual(0);
      expect(p[1]).toBeLessThanOrEqual(80);
    }
  });

  it("centres a single sample and survives all zeros", () => {
    const f = { width: 100, height: 50, left: 0, right: 0, top: 0, bottom: 0 };
    const s = scaleChart([5], [{ field: "burned", label: "Burned", values: [0] }], f);
    expect(s.paths[0].points).toEqual([[50, 50]]);
    expect(s.xTicks).toEqual([{ value: 5, x: 50 }]);
    expect(s.yMax).toBe(1);
  });
});
