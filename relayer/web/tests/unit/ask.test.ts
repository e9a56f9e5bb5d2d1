import { describe, expect, it } from "vitest";
import type { RequestAnswer } from "../../src/api";
import { feeToAttach, formatLunc, gasFeeUluna, luncToUluna, parseUluna, shortfall } from "../../src/lib/fee";
import { noteSeen, recordMatchesJob, timelineOf } from "../../src/lib/timeline";

describe("fees in LUNC", () => {
  it("formats uluna as LUNC", () => {
    expect(formatLunc("100000")).toBe("0.1 LUNC");
    expect(formatLunc("1")).toBe("0.000001 LUNC");
    expect(formatLunc("1234567890000")).toBe("1,234,567.89 LUNC");
    expect(formatLunc(0n)).toBe("0 LUNC");
    expect(() => parseUluna("1.5")).toThrow(/whole number/);
    expect(luncToUluna("1.5")).toBe(1_500_000n);
    expect(luncToUluna("0.000001")).toBe(1n);
    expect(() => luncToUluna("0.0000001")).toThrow(/6 decimals/);
  });
  it("attaches the contract's price, else the user's fee", () => {
    expect(feeToAttach("100000", 5n)).toEqual({ uluna: 100000n, fromPrice: true });
    expect(feeToAttach(null, 5n)).toEqual({ uluna: 5n, fromPrice: false });
  });
  it("prices gas like terrad --gas-adjustment 1.4 --gas-prices 28.325uluna", () => {
    // 175,000 simulated → 245,000 gas × 28.325 = 6,939,625 uluna.
    expect(gasFeeUluna(175_000, 1.4, "28.325uluna")).toBe(6_939_625n);
    expect(gasFeeUluna(1, 1, "28.325uluna")).toBe(29n); // rounded up
    expect(() => gasFeeUluna(1, 1, "0.1uchim")).toThrow(/uluna/);
    expect(shortfall(10n, 5n, 5n)).toBe(0n);
    expect(shortfall(9n, 5n, 5n)).toBe(1n);
  });
});

const base = (): RequestAnswer => ({
  id: "1",
  contract: "terra1contract",
  record: {
    id: 1,
    requester: "terra1user",
    channel_id: "channel-1",
    model: "digits-ddpm",
    fee: { denom: "uluna", amount: "100000" },
    created_height: 10,
    timeout: "1800000000000000000",
    status: "pending",
  },
  terra: { tx: null, packet: null, ack: null },
  job: null,
  reports: null,
});

const SHA = "ab".repeat(32);

function withJob(a: RequestAnswer, status: "pending" | "completed"): RequestAnswer {
  a.terra.tx = { hash: "TX", height: 10, time_ms: 1_000_000 };
  a.terra.packet = { sequence: 3, source_channel: "channel-1", destination_channel: "channel-2" };
  a.job = {
    id: "5",
    model: "digits-ddpm",
    requester: "terra1user",
    status,
    created_height: "20",
    port_id: "inference",
    channel_id: "channel-2",
    sequence: "3",
    result:
      status === "completed"
        ? {
            job_id: "5",
            model_hash: "00".repeat(32),
            output: { sha256: SHA, size: "99", encoding: "png" },
            quorum: { height: "22", agreeing_power: "10", total_power: "10" },
          }
        : null,
    ack: null,
    error_code: 0,
    error: "",
    created_time_ms: 1_003_000,
    quorum_time_ms: status === "completed" ? 1_006_500 : null,
  };
  return a;
}

describe("the request timeline", () => {
  it("starts waiting for Terra", () => {
    const t = timelineOf(base());
    expect(t.steps.map((s) => [s.key, s.state])).toEqual([
      ["terra", "active"],
      ["job", "waiting"],
      ["quorum", "waiting"],
      ["ack", "waiting"],
    ]);
    expect(t.finished).toBe(false);
  });
  it("lists a sealed job's second round beside the first, naming the reference", () => {
    const a = withJob(base(), "completed");
    a.reports = [
      { validator: "AAAA", round: 1, outcome: "result", output_sha256: SHA, agrees: true, height: 21, time_ms: 1_005_000 },
      { validator: "BBBB", round: 1, outcome: "result", output_sha256: SHA, agrees: true, height: 21, time_ms: 1_005_000 },
      { validator: "BBBB", round: 2, outcome: "agreement", output_sha256: "", agrees: true, reference: "AAAA", height: 22, time_ms: 1_006_000 },
      { validator: "CCCC", round: 2, outcome: "agreement", output_sha256: "", agrees: false, reference: "AAAA", height: 22, time_ms: 1_006_000 },
    ];
    const t = timelineOf(a);
    expect(t.steps.filter((s) => /^(report|confirm)-/.test(s.key)).map((s) => [s.key, s.state, s.height])).toEqual([
      ["report-AAAA", "done", 21],
      ["report-BBBB", "done", 21],
      ["confirm-BBBB", "done", 22],
      ["confirm-CCCC", "failed", 22],
    ]);
    expect(t.steps.find((s) => s.key === "confirm-BBBB")?.detail).toBe("round 2 of a sealed job: its sketch agrees with reference validator AAAA…'s");
    // Each round is seen on its own.
    const seen = noteSeen({}, a, 7);
    expect(Object.keys(seen).sort()).toEqual(["AAAA", "BBBB", "BBBB#2", "CCCC#2"]);
  });

  it("does not call a private output's differing sealed copies disagreements", () => {
    const a = withJob(base(), "completed");
    a.terra.packet = {
      sequence: 1,
      source_channel: "channel-0",
      destination_channel: "channel-0",
      input: { encoding: "text", bytes: 17, sealed: { scheme: "x", recipients: ["aa"] }, output_key: true },
    };
    a.reports = [
      { validator: "AAAA", round: 1, outcome: "result", output_sha256: SHA, agrees: true, height: 21, time_ms: 1_005_000 },
      { validator: "BBBB", round: 1, outcome: "result", output_sha256: "cd".repeat(32), agrees: false, height: 21, time_ms: 1_005_000 },
    ];
    const t = timelineOf(a);
    expect(t.steps.find((s) => s.key === "report-BBBB")).toMatchObject({ state: "done" });
    expect(t.steps.find((s) => s.key === "report-BBBB")?.detail).toMatch(/its own sealed copy/);
    expect(t.steps.find((s) => s.key === "report-AAAA")?.detail).toMatch(/the copy committed/);
  });

  it("shows each report as it arrives, then the quorum and the ack", () => {
    let a = withJob(base(), "pending");
    a.reports = [];
    let t = timelineOf(a);
    expect(t.steps.find((s) => s.key === "job")).toMatchObject({ state: "done", height: 20, seconds: 3 });
    expect(t.steps.find((s) => s.key === "reports")?.state).toBe("active");
    a.reports = [{ validator: "AAAA0000BBBB", outcome: "result", output_sha256: SHA, agrees: false, height: null, time_ms: null }];
    const seen = noteSeen({}, a, 5_000);
    expect(noteSeen(seen, a, 9_000)).toBe(seen); // first sighting kept
    t = timelineOf(a, seen, 1_000);
    const rep = t.steps.find((s) => s.key === "report-AAAA0000BBBB")!;
    expect(rep).toMatchObject({ state: "done", seconds: 4 });
    expect(rep.detail).not.toMatch(/differs/); // pending: no verdict yet
    expect(t.steps.find((s) => s.key === "quorum")?.state).toBe("active");

    a = withJob(base(), "completed");
    a.reports = [
      { validator: "BBBB", outcome: "result", output_sha256: "cd".repeat(32), agrees: false, height: 22, time_ms: 1_006_500 },
      { validator: "AAAA", outcome: "result", output_sha256: SHA, agrees: true, height: 21, time_ms: 1_005_000 },
    ];
    t = timelineOf(a);
    expect(t.steps.find((s) => s.key === "quorum")).toMatchObject({ state: "done", height: 22, seconds: 6.5 });
    expect(t.steps.find((s) => s.key === "report-BBBB")?.state).toBe("failed");
    // In the order the blocks recorded them, with chain heights and times.
    expect(t.steps.filter((s) => s.key.startsWith("report-")).map((s) => [s.key, s.height, s.seconds])).toEqual([
      ["report-AAAA", 21, 5],
      ["report-BBBB", 22, 6.5],
    ]);
    expect(t.steps.find((s) => s.key === "ack")?.state).toBe("active");
    expect(t.finished).toBe(false);

    a.record.status = "succeeded";
    a.record.outcome = { result: { job_id: "5", output_sha256: SHA, output_size: "99", output_encoding: "png" } };
    t = timelineOf(a);
    expect(t.finished).toBe(false); // the ack's tx is not found yet
    a.terra.ack = { kind: "acknowledge_packet", hash: "ACK", height: 14, time_ms: 1_009_000 };
    t = timelineOf(a);
    expect(t.steps.at(-1)).toMatchObject({ key: "ack", state: "done", height: 14, seconds: 9 });
    expect(t.finished).toBe(true);
    expect(recordMatchesJob(a)).toBeNull();
    a.record.outcome.result!.output_sha256 = "ee".repeat(32);
    expect(recordMatchesJob(a)).toMatch(/contract recorded/);
  });
  it("says when the packet timed out", () => {
    const a = base();
    a.terra.tx = { hash: "TX", height: 10, time_ms: 1 };
    a.record.status = "timed_out";
    const t = timelineOf(a);
    expect(t.steps.find((s) => s.key === "job")?.state).toBe("failed");
    expect(t.steps.at(-1)?.state).toBe("failed");
    expect(t.finished).toBe(true);
  });
});
