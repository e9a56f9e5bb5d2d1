// The Chimera web app (first slice): models, jobs, outputs verified in the
// browser, validators and fee totals, read through `chimera ui`'s JSON API.
// Hash routes: #/ask, #/requests/ID (the contract route), #/ica/CHANNEL/SEQUENCE (the ICA route), #/models, #/jobs?model=&requester=&status=, #/jobs/ID,
// #/validators, #/tokenomics.
import { render } from "preact";
import type { Info } from "./api";
import { useJson, useRoute } from "./hooks";
import { Ask } from "./pages/Ask";
import { Job } from "./pages/Job";
import { Jobs } from "./pages/Jobs";
import { Models } from "./pages/Models";
import { Request } from "./pages/Request";
import { Tokenomics } from "./pages/Tokenomics";
import { Validators } from "./pages/Validators";
import "./style.css";

const NAV: [string, string][] = [
  ["ask", "Ask"],
  ["models", "Models"],
  ["jobs", "Jobs"],
  ["validators", "Validators"],
  ["tokenomics", "Tokenomics"],
];

function ChainLine() {
  const info = useJson<Info>("/api/info");
  if (info.state === "loading") return <span class="chain">connecting…</span>;
  if (info.state === "error")
    return (
      <span class="chain down" role="alert">
        {info.message}
      </span>
    );
  const i = info.data;
  return (
    <span class="chain" aria-label="Host chain">
      <strong>{i.chain_id}</strong> at height {i.height} · gRPC {i.host_grpc}
      {i.blob_node !== i.host_grpc ? ` · blobs ${i.blob_node}` : ""}
    </span>
  );
}

function App() {
  const { parts, query } = useRoute();
  const page = parts[0] ?? "models";
  let body;
  if (page === "ask") body = <Ask />;
  else if (page === "requests" && parts[1]) body = <Request id={parts[1]} />;
  else if (page === "ica" && parts[2]) body = <Request ica={{ channel: parts[1], sequence: parts[2] }} />;
  else if (page === "jobs" && parts[1]) body = <Job id={parts[1]} />;
  else if (page === "jobs") body = <Jobs query={query} />;
  else if (page === "validators") body = <Validators />;
  else if (page === "tokenomics") body = <Tokenomics />;
  else if (page === "models") body = <Models />;
  else
    body = (
      <p role="alert">
        No page “{page}”. Go to <a href="#/models">Models</a>.
      </p>
    );
  return (
    <>
      <header>
        <a class="brand" href="#/models" aria-label="Chimera home">
          Chimera
        </a>
        <nav aria-label="Pages">
          {NAV.map(([k, label]) => (
            <a key={k} href={`#/${k}`} aria-current={page === k ? "page" : undefined}>
              {label}
            </a>
          ))}
        </nav>
        <ChainLine />
      </header>
      <main>{body}</main>
      <footer>Outputs are checked in this browser: SHA-256 of the bytes against the commitment the validators agreed on.</footer>
    </>
  );
}

render(<App />, document.getElementById("app")!);
