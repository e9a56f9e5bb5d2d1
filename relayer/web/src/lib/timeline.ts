// The request page's timeline, from one /api/requests/ID answer (or an
// /api/ica-requests/CHANNEL/SEQUENCE answer of the same shape, `route:
// "ica"`) and when this page first saw each validator's report. Pure:
// unit-tested.
import type { ReportView, RequestAnswer } from "../api";

export type StepState = "done" | "active" | "waiting" | "failed";

export interface Step {
  key: string;
  title: string;
  state: StepState;
  /** Block height on the chain the step happened on. */
  height?: number;
  chain?: "terra" | "chimera";
  /** Seconds after the request's inclusion on Terra (chain times), or
   *  after the page started watching (reports: when this page saw them). */
  seconds?: number;
  detail: string;
}

export interface Timeline {
  steps: Step[];
  /** The contract has its outcome and the ack's tx was found (or it timed out). */
  finished: boolean;
  outcome: "pending" | "succeeded" | "failed" | "timed_out";
}

const secs = (t: number | null | undefined, t0: number | null | undefined): number | undefined =>
  t != null && t0 != null ? Math.max(0, (t - t0) / 1000) : undefined;

/** `seen`: validator → ms (page clock) when its report first appeared;
 *  `watchStart`: ms (page clock) the page started watching. */
export function timelineOf(a: RequestAnswer, seen: Record<string, number> = {}, watchStart?: number): Timeline {
  const steps: Step[] = [];
  const t0 = a.terra.tx?.time_ms ?? null;
  const status = a.record.status;
  const ica = a.route === "ica";
  // Who records the outcome on Terra: the contract, or the ack itself (ICA).
  const recorded = ica ? "the acknowledgement says" : "the contract recorded";
  // 1. Included on Terra.
  steps.push(
    a.terra.tx
      ? {
          key: "terra",
          title: "Included on Terra Classic",
          state: "done",
          chain: "terra",
          height: a.terra.tx.height,
          seconds: 0,
          detail: ica
            ? `MsgSendTx, packet ${a.terra.packet?.source_channel} sequence ${a.terra.packet?.sequence} of the interchain account`
            : a.terra.packet
              ? `request ${a.id}, packet ${a.terra.packet.source_channel} sequence ${a.terra.packet.sequence}`
              : `request ${a.id}`,
        }
      : { key: "terra", title: "Included on Terra Classic", state: "active", detail: "waiting for the tx to be indexed" },
  );
  // 2. Received on chimerad (the relayer carried the packet).
  const job = a.job;
  if (job) {
    steps.push({
      key: "job",
      title: "Received on chimerad",
      state: "done",
      chain: "chimera",
      height: Number(job.created_height),
      seconds: secs(job.created_time_ms, t0),
      detail: `job ${job.id} (${job.model})${job.channel_id ? ` on ${job.channel_id}` : ""}`,
    });
  } else {
    const lost = status === "timed_out";
    steps.push({
      key: "job",
      title: "Received on chimerad",
      state: lost ? "failed" : a.terra.tx ? "active" : "waiting",
      detail: lost ? "the packet timed out before chimerad received it" : "a relayer carries the packet to chimerad",
    });
  }
  // 3. Each validator's report.
  const reports = [...(a.reports ?? [])].sort((x, y) => (x.height ?? Infinity) - (y.height ?? Infinity));
  // With an output key each executor seals its own copy of the output
  // (fresh randomness): result hashes differ by design, agreement is on
  // the sealed sketches (round 2) and one copy is committed.
  const privateOut = !!a.terra.packet?.input?.output_key;
  for (const r of reports) {
    const at = seen[seenKey(r)];
    const second = r.outcome === "agreement";
    const reference = r.reference ? `reference validator ${r.reference.slice(0, 10)}…` : "the reference validator";
    const what =
      r.outcome === "result" && privateOut
        ? `its own sealed copy of the output, ${r.output_sha256.slice(0, 12)}…${r.agrees ? ", the copy committed" : ""}`
        : r.outcome === "result"
          ? `output ${r.output_sha256.slice(0, 12)}…${r.agrees ? ", agrees with the quorum" : job?.status === "completed" ? ", differs from the quorum" : ""}`
        : r.outcome === "failure"
          ? "reported a failure"
          : second
            ? r.agrees
              ? `round 2 of a sealed job: its sketch agrees with ${reference}'s`
              : `round 2 of a sealed job: its sketch disagrees with ${reference}'s`
            : r.outcome;
    steps.push({
      key: `${second ? "confirm" : "report"}-${r.validator}`,
      title: `Validator ${r.validator.slice(0, 10)}… ${second ? "confirmed" : "reported"}`,
      state: job?.status === "completed" && ((r.outcome === "result" && !r.agrees && !privateOut) || (second && !r.agrees)) ? "failed" : "done",
      chain: "chimera",
      height: r.height ?? undefined,
      // Chain time when the block is known, else when this page saw it.
      seconds: r.time_ms != null ? secs(r.time_ms, t0) : secs(at, watchStart),
      detail: what,
    });
  }
  if (job && reports.length === 0 && job.status === "pending") {
    steps.push({ key: "reports", title: "Validators' reports", state: "active", detail: "the validators run the model" });
  }
  // 4. Quorum.
  const q = job?.result?.quorum;
  if (q && job) {
    steps.push({
      key: "quorum",
      title: "Quorum",
      state: "done",
      chain: "chimera",
      height: Number(q.height),
      seconds: secs(job.quorum_time_ms, t0),
      detail: `${q.agreeing_power} of ${q.total_power} voting power agreed on ${job.result!.output.sha256.slice(0, 12)}…`,
    });
  } else if (job?.status === "failed") {
    steps.push({ key: "quorum", title: "Quorum", state: "failed", chain: "chimera", detail: `no result: code ${job.error_code}: ${job.error}` });
  } else {
    steps.push({
      key: "quorum",
      title: "Quorum",
      state: job ? "active" : "waiting",
      detail: !job && status === "timed_out" ? "none: no job, nothing to agree on" : "more than 2/3 of voting power must agree",
    });
  }
  // 5. The acknowledgement back on Terra.
  const ack = a.terra.ack;
  const settled = status !== "pending";
  if (settled && ack) {
    steps.push({
      key: "ack",
      title: ack.kind === "timeout_packet" ? "Timed out on Terra Classic" : "Acknowledgement on Terra Classic",
      state: status === "succeeded" ? "done" : "failed",
      chain: "terra",
      height: ack.height,
      seconds: secs(ack.time_ms, t0),
      detail: `${recorded}: ${status.replace("_", " ")}`,
    });
  } else if (settled) {
    steps.push({
      key: "ack",
      title: "Acknowledgement on Terra Classic",
      state: status === "succeeded" ? "done" : "failed",
      chain: "terra",
      detail: `${recorded}: ${status.replace("_", " ")} (looking up the tx that brought it)`,
    });
  } else {
    steps.push({
      key: "ack",
      title: "Acknowledgement on Terra Classic",
      state: q || job?.status === "failed" ? "active" : "waiting",
      detail: ica
        ? "a relayer brings the acknowledgement back to the interchain account's channel"
        : "a relayer brings the acknowledgement back; the contract records the outcome",
    });
  }
  // Only the first not-done step is active.
  let activeSeen = false;
  for (const s of steps) {
    if (s.state === "active") {
      if (activeSeen) s.state = "waiting";
      activeSeen = true;
    }
  }
  return { steps, finished: settled && (ack !== null || status === "timed_out"), outcome: status };
}

/** A report's key in `seen`: the validator, and the round for round 2. */
function seenKey(r: ReportView): string {
  return r.outcome === "agreement" ? `${r.validator}#2` : r.validator;
}

/** Marks newly seen validators' reports with `now`. */
export function noteSeen(seen: Record<string, number>, a: RequestAnswer, now: number): Record<string, number> {
  let changed = false;
  const next = { ...seen };
  for (const r of a.reports ?? []) {
    if (next[seenKey(r)] === undefined) {
      next[seenKey(r)] = now;
      changed = true;
    }
  }
  return changed ? next : seen;
}

/** The contract's record and chimerad's job must name the same output. */
export function recordMatchesJob(a: RequestAnswer): string | null {
  const r = a.record.outcome?.result;
  const j = a.job?.result?.output;
  if (!r || !j) return null;
  if (r.output_sha256 !== j.sha256 || r.output_size !== j.size || r.output_encoding !== j.encoding)
    return `${a.route === "ica" ? "the acknowledgement on Terra says" : "the contract recorded"} ${r.output_sha256} (${r.output_size} bytes, ${r.output_encoding}) but chimerad's job ${a.job!.id} says ${j.sha256} (${j.size} bytes, ${j.encoding})`;
  if (r.job_id !== a.job!.id) return `${a.route === "ica" ? "the acknowledgement on Terra names" : "the contract recorded"} job ${r.job_id} but chimerad answered with job ${a.job!.id}`;
  return null;
}
