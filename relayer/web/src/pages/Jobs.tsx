import type { Jobs as JobsT, Model } from "../api";
import { Empty, Mono, Show } from "../components";
import { useJson } from "../hooks";

export function StatusBadge({ status }: { status: string }) {
  return <span class={`status ${status}`}>{status}</span>;
}

const STATUSES = ["pending", "completed", "failed"];

/** The filters as the `#/jobs?model=&requester=&status=` route. */
export function jobsHash(f: { model?: string; requester?: string; status?: string }): string {
  const next = new URLSearchParams();
  for (const k of ["model", "requester", "status"] as const) {
    const val = (f[k] ?? "").trim();
    if (val) next.set(k, val);
  }
  return `#/jobs${next.size ? `?${next}` : ""}`;
}

export function Jobs({ query }: { query: URLSearchParams }) {
  const model = query.get("model") ?? "";
  const requester = query.get("requester") ?? "";
  const status = query.get("status") ?? "";
  const filtered = Boolean(model || requester || status);
  const q = new URLSearchParams({ model, requester, status, limit: "50" });
  const v = useJson<JobsT>(`/api/jobs?${q}`);
  const models = useJson<{ models: Model[] }>("/api/models");
  const modelIds = models.state === "ok" ? models.data.models.map((m) => m.id) : [];
  if (model && models.state === "ok" && !modelIds.includes(model)) modelIds.push(model);
  const go = (form: HTMLFormElement) => {
    const f = new FormData(form);
    location.hash = jobsHash({
      model: String(f.get("model") ?? ""),
      requester: String(f.get("requester") ?? ""),
      status: String(f.get("status") ?? ""),
    });
  };
  const apply = (e: Event) => {
    e.preventDefault();
    go(e.currentTarget as HTMLFormElement);
  };
  const onSelect = (e: Event) => go((e.currentTarget as HTMLSelectElement).form!);
  const what = [model && `model ${model}`, requester && `requester ${requester}`, status && `status ${status}`].filter(Boolean).join(", ");
  return (
    <section aria-labelledby="jobs-h">
      <h1 id="jobs-h">Jobs</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter jobs" key={`${model}|${requester}|${status}`} role="search">
        <label>
          Model
          {modelIds.length > 0 ? (
            <select name="model" onChange={onSelect} data-testid="filter-model">
              <option value="" selected={!model}>
                any model
              </option>
              {modelIds.map((m) => (
                <option key={m} value={m} selected={m === model}>
                  {m}
                </option>
              ))}
            </select>
          ) : (
            <input name="model" defaultValue={model} placeholder="digits-ddpm" data-testid="filter-model" />
          )}
        </label>
        <label>
          Requester
          <input name="requester" defaultValue={requester} placeholder="chimera1…" autoComplete="off" spellcheck={false} />
        </label>
        <label>
          Status
          <select name="status" onChange={onSelect} data-testid="filter-status">
            <option value="" selected={!status}>
              any status
            </option>
            {STATUSES.map((s) => (
              <option key={s} value={s} selected={s === status}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
        {filtered && (
          <a class="clear" href="#/jobs">
            Clear filters
          </a>
        )}
      </form>
      <Show v={v} what="recent jobs">
        {(d) =>
          d.jobs.length === 0 ? (
            <Empty>
              {d.latest_id === "0"
                ? "No jobs yet on this host. Submit one, e.g. `chimera ica infer --model digits-ddpm --prompt 7 --wait` (docs/users.md), then reload."
                : filtered
                  ? `No jobs match ${what} among the ${d.scanned} most recent. Clear a filter (the link above), or check the model id and the requester address.`
                  : `No jobs among the ${d.scanned} most recent.`}
            </Empty>
          ) : (
            <>
              <p class="lead" data-testid="jobs-count">
                {d.jobs.length === 1 ? "1 job" : `${d.jobs.length} most recent jobs`}
                {filtered ? ` with ${what}` : ""}, newest first (newest id {d.latest_id}
                {d.complete ? "" : `; read the last ${d.scanned}`}).
              </p>
              <table class="stack" aria-label="Recent jobs">
                <thead>
                  <tr>
                    <th scope="col">Job</th>
                    <th scope="col">Model</th>
                    <th scope="col">Status</th>
                    <th scope="col">Requester</th>
                    <th scope="col">Height</th>
                    <th scope="col">Route</th>
                  </tr>
                </thead>
                <tbody>
                  {d.jobs.map((j) => (
                    <tr key={j.id}>
                      <td data-label="Job">
                        <a href={`#/jobs/${j.id}`} aria-label={`Job ${j.id}`}>
                          #{j.id}
                        </a>
                      </td>
                      <td data-label="Model">{j.model}</td>
                      <td data-label="Status">
                        <StatusBadge status={j.status} />
                      </td>
                      <td data-label="Requester">
                        <Mono value={j.requester} keep={12} label="Requester" />
                      </td>
                      <td data-label="Height">{j.created_height}</td>
                      <td data-label="Route">{j.channel_id ? `${j.port_id}/${j.channel_id} #${j.sequence}` : "MsgRunInference"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )
        }
      </Show>
    </section>
  );
}
