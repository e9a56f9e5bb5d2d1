import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api";

export type Loaded<T> = { state: "loading" } | { state: "error"; message: string } | { state: "ok"; data: T };

/** GETs `path` (again when it or `tick` changes). */
export function useJson<T>(path: string, tick = 0): Loaded<T> {
  const [v, setV] = useState<Loaded<T>>({ state: "loading" });
  useEffect(() => {
    let live = true;
    getJson<T>(path).then(
      (data) => live && setV({ state: "ok", data }),
      (e: Error) => live && setV({ state: "error", message: e.message }),
    );
    return () => {
      live = false;
    };
  }, [path, tick]);
  return v;
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
