import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api";

export type Loaded<T> = { state: "loading" } | { state: "error"; message: string } | { state: "ok"; data: T };

/** How long a page waits for an API answer before saying what to check
 *  (`chimera ui` gives up on chimerad after 5 s to connect, 30 s a call). */
export const ANSWER_TIMEOUT_MS = 40_000;

/** `p`, or an error saying what to do if it has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, path: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () =>
        reject(
          new Error(
            `the request timed out: ${path} did not answer within ${Math.round(ms / 1000)} s. chimerad may be stuck or overloaded: check that it is making blocks (\`chimera-e2e devnet status\`, or its log), then reload this page`,
          ),
        ),
      ms,
    );
    p.then(
      (x) => (clearTimeout(t), resolve(x)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** GETs `path` (again when it or `tick` changes). A new path shows
 *  "loading" until its answer; the same path again (a poll) keeps the last
 *  answer on screen until the next one. */
export function useJson<T>(path: string, tick = 0): Loaded<T> {
  const [cur, setCur] = useState<{ path: string; v: Loaded<T> }>({ path, v: { state: "loading" } });
  useEffect(() => {
    let live = true;
    withTimeout(getJson<T>(path), ANSWER_TIMEOUT_MS, path).then(
      (data) => live && setCur({ path, v: { state: "ok", data } }),
      (e: Error) => live && setCur({ path, v: { state: "error", message: e.message } }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return cur.path === path ? cur.v : { state: "loading" };
}

/** The current hash route: path segments and query parameters. */
export function useRoute(): { parts: string[]; query: URLSearchParams } {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  const raw = hash.replace(/^#\/?/, "");
  const [path, q = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q) };
}

/** chimerad's ICS-20 denom traces (`/api/denoms`) for naming vouchers;
 *  empty while loading or when the node cannot say (denoms then show as
 *  they are). */
export function useDenomPaths(): Record<string, string> {
  const d = useJson<Record<string, string>>("/api/denoms");
  return d.state === "ok" ? d.data : {};
}
