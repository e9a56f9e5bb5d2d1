import type { Model } from "../api";
import { Empty, Mono, Show } from "../components";
import { useJson } from "../hooks";

const INPUT: Record<string, string> = {
  text: "text (a prompt)",
  tensor: "tensor (little-endian numbers)",
};

export function Models() {
  const v = useJson<{ models: Model[] }>("/api/models");
  return (
    <section aria-labelledby="models-h">
      <h1 id="models-h">Models</h1>
      <p class="lead">The host's model registry: what each model reads, what it writes, and the file hash every validator runs.</p>
      <Show v={v} what="the model registry">
        {({ models }) =>
          models.length === 0 ? (
            <Empty>No models are registered on this host. Register them in genesis (host/models/registry.toml, `chimerad init`).</Empty>
          ) : (
            <table class="stack" aria-label="Registered models">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Task</th>
                  <th scope="col">Input</th>
                  <th scope="col">Output</th>
                  <th scope="col">Max input</th>
                  <th scope="col">Agreement</th>
                  <th scope="col">File SHA-256</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <tr key={m.id}>
                    <td data-label="Model">
                      <a href={`#/jobs?model=${encodeURIComponent(m.id)}`} aria-label={`Jobs of ${m.id}`}>
                        <strong>{m.id}</strong>
                      </a>
                    </td>
                    <td data-label="Task">{m.task}</td>
                    <td data-label="Input">{INPUT[m.input] ?? m.input}</td>
                    <td data-label="Output">{m.output}</td>
                    <td data-label="Max input">{m.max_input_bytes.toLocaleString()} bytes</td>
                    <td data-label="Agreement">
                      {m.sketch.rule} (tolerance {m.sketch.tolerance})
                    </td>
                    <td data-label="File SHA-256">
                      <Mono value={m.sha256} keep={8} label={`SHA-256 of ${m.id}`} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </section>
  );
}
