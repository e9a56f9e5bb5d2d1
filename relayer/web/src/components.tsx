import type { ComponentChildren } from "preact";
import type { Loaded } from "./hooks";

export function Loading({ what }: { what: string }) {
  return (
    <p class="loading" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A failure, with what to do (the server's messages say it: "start it
 *  with scripts/devnet...") and a button to try again once done. */
export function ErrorBox({ message, what }: { message: string; what?: string }) {
  return (
    <div class="error" role="alert">
      <strong>Cannot load {what ?? "this page"}.</strong> {message}
      {/[.!]$/.test(message) ? " " : ". "}
      <button type="button" onClick={() => location.reload()}>
        Try again
      </button>
    </div>
  );
}

/** The message when every one of a page's calls failed because chimerad
 *  (or `chimera ui`) is unreachable: shown once, not once per section. */
export function unreachable(...vs: Loaded<unknown>[]): string | null {
  const errs = vs.map((v) => (v.state === "error" ? v.message : null));
  if (errs.some((e) => e === null)) return null;
  const first = errs[0] as string;
  return /unreachable|not answering|timed out/.test(first) ? first : null;
}

/** A page: its heading, then its body, or, when every call failed because
 *  chimerad is unreachable ([`unreachable`]), that one error instead. */
export function Page({ id, title, down, what, children }: { id: string; title: string; down: string | null; what: string; children: ComponentChildren }) {
  return (
    <section aria-labelledby={id}>
      <h1 id={id}>{title}</h1>
      {down ? <ErrorBox what={what} message={down} /> : children}
    </section>
  );
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="empty">{children}</p>;
}

/** Loading / error / the page, for one `useJson` value. */
export function Show<T>({ v, what, children }: { v: Loaded<T>; what: string; children: (d: T) => ComponentChildren }) {
  if (v.state === "loading") return <Loading what={what} />;
  if (v.state === "error") return <ErrorBox message={v.message} what={what} />;
  return <>{children(v.data)}</>;
}

export function short(s: string, keep = 10): string {
  return s.length > 2 * keep + 1 ? `${s.slice(0, keep)}…${s.slice(-keep)}` : s;
}

/** A hash or address, shortened, with the whole value on hover and for screen readers. */
export function Mono({ value, keep = 10, label }: { value: string; keep?: number; label?: string }) {
  return (
    <code class="mono" title={value} aria-label={label ? `${label}: ${value}` : value}>
      {short(value, keep)}
    </code>
  );
}

/** A small SVG bar chart (class probabilities, embeddings). */
export function BarChart({ values, label }: { values: number[]; label: string }) {
  const shown = values.slice(0, 64);
  const w = 320;
  const h = 120;
  const max = Math.max(...shown.map(Math.abs), 1e-12);
  const hasNeg = shown.some((x) => x < 0);
  const zero = hasNeg ? h / 2 : h;
  const bw = w / Math.max(shown.length, 1);
  const top = shown.reduce((best, x, i) => (x > shown[best] ? i : best), 0);
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${w} ${h + 14}`} role="img" aria-label={label}>
        <title>{label}</title>
        <line x1="0" x2={w} y1={zero} y2={zero} class="axis" />
        {shown.map((x, i) => {
          const len = (Math.abs(x) / max) * (hasNeg ? h / 2 : h);
          return (
            <rect
              key={i}
              x={i * bw + bw * 0.1}
              width={bw * 0.8}
              y={x >= 0 ? zero - len : zero}
              height={Math.max(len, 0.5)}
              class={i === top ? "bar top" : "bar"}
            >
              <title>{`${i}: ${x}`}</title>
            </rect>
          );
        })}
        {shown.length <= 16 &&
          shown.map((_, i) => (
            <text key={`t${i}`} x={i * bw + bw / 2} y={h + 12} class="tick">
              {i}
            </text>
          ))}
      </svg>
      <figcaption>
        {shown.length < values.length ? `first ${shown.length} of ${values.length} values; ` : ""}
        largest: index {top} ({shown[top]?.toPrecision(4)})
      </figcaption>
    </figure>
  );
}
