// The JSON API of `chimera ui` (relayer/src/ui.rs). Every failure becomes
// an ApiError whose message says what to do.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

async function request(path: string): Promise<Response> {
  let r: Response;
  try {
    r = await fetch(path, { cache: "no-store" });
  } catch {
    throw new ApiError(
      `chimera ui at ${location.origin} is not answering: start it with \`chimera ui --host-grpc http://127.0.0.1:9090\` and reload`,
      0,
    );
  }
  if (!r.ok) {
    let msg = `${path} answered ${r.status}`;
    try {
      const body = await r.json();
      if (body && typeof body.error === "string") msg = body.error;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(msg, r.status);
  }
  return r;
}

export async function getJson<T>(path: string): Promise<T> {
  return (await request(path)).json() as Promise<T>;
}

export async function getBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await (await request(path)).arrayBuffer());
}

export interface Info {
  chain_id: string;
  height: number;
  host_grpc: string;
  blob_node: string;
  listen: string;
  version: string;
  /** The requester contract when the Ask page is on (`--contract`). */
  contract?: string | null;
}

export interface Model {
  id: string;
  sha256: string;
  task: string;
  input: "text" | "tensor";
  /** A tensor input's dtype, shape and exact size, as the chain's registry
   *  records the manifest (null: text, or a registry without the record). */
  tensor?: { dtype: string; shape: number[]; bytes: number } | null;
  output: "png" | "text" | "tensor" | "json" | "unknown";
  max_input_bytes: number;
  sketch: { rule: string; levels: number; tolerance: number; thumb: number };
}

export interface JobResult {
  job_id: string;
  model_hash: string;
  output: { sha256: string; size: string; encoding: string };
  quorum: { height: string; agreeing_power: string; total_power: string };
}

export interface Job {
  id: string;
  model: string;
  requester: string;
  status: "pending" | "completed" | "failed" | "unspecified";
  created_height: string;
  port_id: string;
  channel_id: string;
  sequence: string;
  result: JobResult | null;
  ack: string | null;
  error_code: number;
  error: string;
}

export interface Jobs {
  latest_id: string;
  scanned: number;
  complete: boolean;
  jobs: Job[];
}

export interface Coin {
  denom: string;
  amount: string;
}

export interface Executor {
  validator: string;
  operator: string;
  earned: Coin[];
  jobs_paid: string;
  faults: string;
  excluded: boolean;
}

export interface ExecutorKey {
  validator: string;
  x25519_public_key: string;
}

export interface Total {
  denom: string;
  collected: string;
  paid_to_executors: string;
  burned: string;
  burn_pending: string;
  burn_in_flight: string;
  community_paid: string;
  community_pending: string;
  community_in_flight: string;
  refunded: string;
}

export interface FeeParams {
  height: number;
  prices: { model: string; denom: string; amount: string }[];
  executor_bps: number;
  burn_bps: number;
  community_bps: number;
  fault_limit: string;
}

export interface AskModel extends Model {
  /** The contract's least fee in uluna; null: any fee above zero. */
  price_uluna: string | null;
}

export interface AskInfo {
  models: AskModel[];
  config: { denom: string; max_input_bytes: number; default_timeout_seconds: number; prices?: { model: string; amount: string }[] | null };
  channel: string | null;
  channel_error: string | null;
  contract: string;
  terra: {
    chain_id: string;
    rpc: string;
    rpc_proxy: string;
    /** `/terra-rest` when `chimera ui` has `--terra-rest`. */
    rest_proxy?: string | null;
    denom: string;
    prefix: string;
    coin_type: number;
    gas_price: string;
    gas_adjustment: number;
  };
  host_chain_id: string;
  devnet_mnemonic: string | null;
}

export interface ReportView {
  validator: string;
  /** 1: a result or failure; 2: a sealed job's agreement report. */
  round?: 1 | 2;
  outcome: "result" | "failure" | "agreement" | "none";
  /** Round 2: the validator whose sealed output this one checked (hex). */
  reference?: string | null;
  output_sha256: string;
  agrees: boolean;
  /** The chimerad block that recorded it (null: read from state, height unknown). */
  height: number | null;
  time_ms: number | null;
}

export interface ContractRecord {
  /** The request id; on the ICA route "CHANNEL/SEQUENCE". */
  id: number | string;
  requester: string;
  /** The ICA route: the interchain account on chimerad that signed it. */
  interchain_account?: string;
  channel_id: string;
  model: string;
  fee: Coin;
  created_height: number;
  /** The packet's timeout, nanoseconds since the epoch (a decimal string). */
  timeout: string;
  status: "pending" | "succeeded" | "failed" | "timed_out";
  sequence?: number;
  outcome?: {
    result?: { job_id: string; output_sha256: string; output_size: string; output_encoding: string };
    error?: { code?: number; message?: string; [k: string]: unknown };
    timeout?: Record<string, never>;
  };
}

export interface TerraTx {
  hash: string;
  height: number;
  time_ms: number | null;
}

export interface PacketInput {
  encoding: "text" | "json" | "tensor";
  /** Inline input size (the ciphertext's when sealed); null for a blob. */
  bytes: number | null;
  /** A sealed prompt: the envelope's scheme and the executor keys (hex) it is sealed to. */
  sealed: { scheme: string; recipients: string[] } | null;
  output_key: boolean;
}

export interface RequestAnswer {
  id: string;
  /** Which route sent it (absent: the contract route). */
  route?: "contract" | "ica";
  contract: string | null;
  record: ContractRecord;
  terra: {
    tx: TerraTx | null;
    packet: {
      sequence: number;
      source_channel: string;
      destination_channel: string;
      /** What the packet says about its input, never the input: null when
       *  the send_packet event carries no packet data. */
      input?: PacketInput | null;
    } | null;
    ack: (TerraTx & { kind: string }) | null;
  };
  job: (Job & { created_time_ms?: number | null; quorum_time_ms?: number | null }) | null;
  reports: ReportView[] | null;
}
