import { useEffect, useState } from "preact/hooks";
import { getBytes, type Job as JobT } from "../api";
import { type Commitment, commitmentOf, decodeAck } from "../lib/ack";
import { base64ToBytes, fromUtf8 } from "../lib/encoding";
import { openSealedOutput } from "../lib/outputKey";
import { decodeTensor, numbersOfJson } from "../lib/tensor";
import { type Verification, verifyOutput } from "../lib/verify";
import { BarChart, ErrorBox, Loading, Mono, Show } from "../components";
import { useJson } from "../hooks";
import { StatusBadge } from "./Jobs";

/** The commitment out of the job's acknowledgement, checked against the
 *  job record's own fields (both come from the chain). */
function commitmentOfJob(j: JobT): Commitment {
  if (!j.ack || !j.result) throw new Error("the job has no result acknowledgement");
  const c = commitmentOf(decodeAck(base64ToBytes(j.ack)));
  const o = j.result.output;
  if (c.sha256 !== o.sha256 || c.size !== BigInt(o.size) || c.encoding !== o.encoding) {
    throw new Error("the acknowledgement and the job record disagree on the output commitment");
  }
  return c;
}

type Check =
  | { state: "loading" }
  | { state: "error"; message: string }
  | { state: "done"; v: Verification; bytes: Uint8Array; c: Commitment };

function Output({ bytes, c, job }: { bytes: Uint8Array; c: Commitment; job: JobT }) {
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (c.encoding !== "png") return;
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const u = URL.createObjectURL(new Blob([copy.buffer], { type: "image/png" }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [bytes, c.encoding]);
  try {
    switch (c.encoding) {
      case "png":
        return url ? (
          <img
            class="output-image"
            src={url}
            alt={`Output of job ${job.id} (${job.model}): a verified PNG image, ${bytes.byteLength} bytes`}
          />
        ) : null;
      case "text":
        return (
          <pre class="output-text" aria-label={`Output text of job ${job.id}`}>
            {fromUtf8(bytes)}
          </pre>
        );
      case "tensor": {
        const t = decodeTensor(bytes);
        return (
          <>
            <p>
              {t.dtype}[{t.dims.join(", ")}]
            </p>
            <BarChart values={t.values} label={`${t.dtype} tensor of job ${job.id}, ${t.values.length} values`} />
          </>
        );
      }
      case "json": {
        const v = JSON.parse(fromUtf8(bytes));
        const n = numbersOfJson(v);
        return (
          <>
            {n && <BarChart values={n} label={`Numbers in the JSON output of job ${job.id}`} />}
            <pre class="output-text" aria-label={`JSON output of job ${job.id}`}>
              {JSON.stringify(v, null, 2)}
            </pre>
          </>
        );
      }
    }
  } catch (e) {
    return <ErrorBox message={`the output verified but cannot be displayed as ${c.encoding}: ${(e as Error).message}`} />;
  }
}

/** A private output (the request named `output_key`): the model's own
 *  output encoding, and the secret this browser kept (null: it has none). */
export interface SealedOutput {
  secret: Uint8Array | null;
  /** The model's output encoding; null while it is being read. */
  encoding: string | null;
}

/** The verified ciphertext of a private output, opened here when this
 *  browser holds its key. */
function PrivateOutput({ bytes, c, job, sealed }: { bytes: Uint8Array; c: Commitment; job: JobT; sealed: SealedOutput }) {
  if (!sealed.secret)
    return (
      <p role="status" data-testid="private-output">
        The output is sealed to the requester's key; this browser does not hold it (the request was made in another browser, or this one's
        site data was cleared). What was verified above is its ciphertext.
      </p>
    );
  if (sealed.encoding === null) return <Loading what="how the model writes its output" />;
  let opened: Uint8Array;
  try {
    opened = openSealedOutput(bytes, job.model, sealed.secret);
  } catch (e) {
    return <ErrorBox message={`the verified output does not open with this browser's key: ${(e as Error).message}`} />;
  }
  return (
    <>
      <p class="badge sealed" data-testid="private-output" role="status">
        opened in this browser: the {String(bytes.byteLength)} verified bytes are ciphertext only this browser's output key opens
      </p>
      <Output bytes={opened} c={{ ...c, encoding: sealed.encoding } as Commitment} job={job} />
    </>
  );
}

export function Verified({ job, sealed }: { job: JobT; sealed?: SealedOutput }) {
  const [check, setCheck] = useState<Check>({ state: "loading" });
  useEffect(() => {
    let live = true;
    (async () => {
      const c = commitmentOfJob(job);
      const bytes = await getBytes(`/api/blobs/${c.sha256}`);
      const v = await verifyOutput(bytes, c);
      if (live) setCheck({ state: "done", v, bytes, c });
    })().catch((e: Error) => live && setCheck({ state: "error", message: e.message }));
    return () => {
      live = false;
    };
  }, [job.id, job.ack]);
  if (check.state === "loading") return <Loading what="the output and checking it against its commitment" />;
  if (check.state === "error")
    return <ErrorBox message={`cannot fetch the output: ${check.message}. Is the blob node running and does it hold the blob?`} />;
  const { v, bytes, c } = check;
  return (
    <section aria-labelledby="out-h">
      <h2 id="out-h">Output</h2>
      {v.ok ? (
        <p class="badge verified" data-testid="verification" role="status">
          ✓ verified <span class="why">sha256 of the {String(v.actualSize)} bytes fetched equals the commitment on chain</span>
        </p>
      ) : (
        <div class="badge failed" data-testid="verification" role="alert">
          <strong>✗ verification failed</strong>
          <p>
            The blob node sent bytes that are not the output the validators agreed on: {v.reason}. They are not shown.
            Fetch the output from another node (`chimera fetch {c.sha256} --node URL`).
          </p>
        </div>
      )}
      {v.ok && (sealed ? <PrivateOutput bytes={bytes} c={c} job={job} sealed={sealed} /> : <Output bytes={bytes} c={c} job={job} />)}
    </section>
  );
}

export function Job({ id }: { id: string }) {
  const [tick, setTick] = useState(0);
  const v = useJson<{ job: JobT }>(`/api/jobs/${encodeURIComponent(id)}`, tick);
  const pending = v.state === "ok" && v.data.job.status === "pending";
  useEffect(() => {
    if (!pending) return;
    const t = setTimeout(() => setTick((x) => x + 1), 2000);
    return () => clearTimeout(t);
  }, [pending, tick]);
  return (
    <section aria-labelledby="job-h">
      <h1 id="job-h">Job #{id}</h1>
      <Show v={v} what={`job ${id}`}>
        {({ job }) => (
          <>
            <dl class="facts" aria-label={`Facts of job ${job.id}`}>
              <dt>Status</dt>
              <dd>
                <StatusBadge status={job.status} />
              </dd>
              <dt>Model</dt>
              <dd>
                <a href={`#/jobs?model=${encodeURIComponent(job.model)}`}>{job.model}</a>
              </dd>
              <dt>Requester</dt>
              <dd>
                <Mono value={job.requester} keep={14} label="Requester" />
              </dd>
              <dt>Recorded at height</dt>
              <dd>{job.created_height}</dd>
              <dt>Route</dt>
              <dd>{job.channel_id ? `packet ${job.port_id}/${job.channel_id} sequence ${job.sequence}` : "MsgRunInference on the host"}</dd>
              {job.result && (
                <>
                  <dt>Quorum</dt>
                  <dd>
                    {job.result.quorum.agreeing_power} of {job.result.quorum.total_power} voting power at height{" "}
                    {job.result.quorum.height}
                  </dd>
                  <dt>Output commitment</dt>
                  <dd>
                    <Mono value={job.result.output.sha256} keep={12} label="Output SHA-256" /> ({job.result.output.size} bytes,{" "}
                    {job.result.output.encoding})
                  </dd>
                  <dt>Model hash</dt>
                  <dd>
                    <Mono value={job.result.model_hash} keep={8} label="Model file SHA-256" />
                  </dd>
                </>
              )}
              {job.status === "failed" && (
                <>
                  <dt>Error</dt>
                  <dd class="error-text">
                    code {job.error_code}: {job.error}
                  </dd>
                </>
              )}
            </dl>
            {job.status === "completed" && <Verified job={job} />}
            {job.status === "pending" && (
              <p class="loading" role="status" aria-live="polite">
                Waiting for the validators' quorum; this page checks again every 2 seconds.
              </p>
            )}
            {job.status === "failed" && <p>The job failed: no output was agreed, and the fee (if any) was refunded.</p>}
          </>
        )}
      </Show>
      {v.state === "error" && /not found|not a job id/.test(v.message) && (
        <p>
          Recent jobs are on the <a href="#/jobs">Jobs page</a>; ids start at 1.
        </p>
      )}
    </section>
  );
}
