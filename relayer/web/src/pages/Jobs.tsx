import type { Jobs as JobsT } from "../api";
import { Empty, Mono, Show } from "../components";
import { useJson } from "../hooks";

export function StatusBadge({ status }: { status: string }) {
  return <span class={`status ${status}`}>{status}</span>;
}

export function Jobs({ query }: { query: URLSearchParams }) {
  const model = query.get("model") ?? "";
  const requester = query.get("requester") ?? "";
  const status = query.get("status") ?? "";
  const q = new URLSearchParams({ model, requester, status, limit: "50" });
  const v = useJson<JobsT>(`/api/jobs?${q}`);
  const apply = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const next = new URLSearchParams();
    for (const k of ["model", "requester", "status"]) {
      const val = String(f.get(k) ?? "").trim();
      if (val) next.set(k, val);
    }
    location.hash = `#/jobs${next.size ? `?${next}` : ""}`;
  };
  return (
    <section aria-labelledby="jobs-h">
      <h1 id="jobs-h">Jobs</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter jobs">
        <label>
          Model <input name="model" value={model} placeholder="digits-ddpm" aria-label="Filter by model" />
        </label>
        <label>
          Requester <input name="requester" value={requester} placeholder="chimera1…" aria-label="Filter by requester" />
        </label>
        <label>
          Status
          <select name="status" aria-label="Filter by status">
            {["", "pending", "completed", "failed"].map((s) => (
              <option key={s} value={s} selected={s === status}>
                {s || "any"}
              </option>
            ))}
          </select>
        </label>
        <button type="submit">Filter</button>
      </form>
      <Show v={v} what="recent jobs">
        {(d) =>
          d.jobs.length === 0 ? (
            <Empty>
              {d.latest_id === "0"
                ? "No jobs yet on this host. Submit one, e.g. `chimera ica infer --model digits-ddpm --prompt 7 --wait` (docs/users.md), then reload."
                : `No job among the ${d.scanned} most recent matches these filters. Clear a filter, or check the model id and the requester address.`}
            </Empty>
          ) : (
            <>
              <p class="lead">
                {d.jobs.length} most recent {d.jobs.length === 1 ? "job" : "jobs"}, newest first (newest id {d.latest_id}
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
