/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: each
 * sample is given to the innermost frame of its stack that a category claims, so a SQLite call
 * made by a handler that a middleware called synchronously counts as SQLite, not as middleware.
 * Categories marked `weak` (node core, other dependencies) only claim a sample that no other
 * category claims anywhere in its stack.
 */
import { readFileSync } from "node:fs";
import { fixed, table } from "./stats";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Category {
  name: string;
  claims(frame: CallFrame): boolean;
  weak?: boolean;
}

export interface ProfileSummary {
  /** Sampled time the process was busy (but `(idle)` and the profiler's own), in ms. */
  busyMs: number;
  categories: { name: string; ms: number }[];
  /** Functions by self time. */
  functions: { name: string; ms: number }[];
}

const urlHas =
  (...parts: string[]) =>
  (frame: CallFrame) =>
    parts.some((part) => frame.url.includes(part));

/** How the controller's request path divides: what the benchmark's profile is summarised by. */
export const CONTROLLER_CATEGORIES: Category[] = [
  {
    name: "auth: token hash + lookup + touch (tokens-service, tokens-store)",
    claims: urlHas("/services/tokens-service", "/services/token-secrets", "/store/tokens-store"),
  },
  {
    name: "SQLite: backups page, parts, deployment (store statements)",
    claims: urlHas("/controller/src/store/", "/better-sqlite3/"),
  },
  {
    name: "service: rows to views (JSON.parse of columns)",
    claims: urlHas(
      "/services/backups-service",
      "/services/backup-catalog",
      "/services/pagination",
      "/controller/src/http/",
    ),
  },
  {
    name: "JSON.stringify of the reply (res.json)",
    claims: (frame) =>
      frame.functionName === "stringify" && frame.url.includes("/express/lib/response"),
  },
  {
    name: "request validation (express-openapi-validator, ajv)",
    claims: urlHas("/express-openapi-validator/", "/ajv/", "/ajv-formats/"),
  },
  { name: "logging (pino)", claims: urlHas("/pino/", "/sonic-boom/", "/fast-redact/") },
  { name: "metrics (prom-client)", claims: urlHas("/prom-client/") },
  {
    name: "express, router, body parsers, stowage runtime",
    claims: urlHas("/node_modules/", "/server-runtime/", "/control-server/", "/controller/src/"),
    weak: true,
  },
  { name: "node core (http, net, streams, crypto)", claims: urlHas("node:"), weak: true },
];

const SPECIAL = new Map([
  ["(garbage collector)", "garbage collection"],
  ["(program)", "V8/native, unattributed (program)"],
]);

export function summarizeProfile(
  file: string,
  categories: readonly Category[] = CONTROLLER_CATEGORIES,
): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes)
    for (const child of node.children ?? []) parent.set(child, node.id);

  const categoryOf = new Map<number, string | undefined>();
  /** The sample's category; `undefined` for the profiler's own work (stopping it serialises). */
  const classify = (leaf: ProfileNode): string | undefined => {
    if (categoryOf.has(leaf.id)) return categoryOf.get(leaf.id);
    for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) {
      if (byId.get(id)?.callFrame.url === "node:inspector") {
        categoryOf.set(leaf.id, undefined);
        return undefined;
      }
    }
    const special = SPECIAL.get(leaf.callFrame.functionName);
    let found: string | undefined = special;
    let weak: string | undefined;
    for (
      let id: number | undefined = leaf.id;
      found === undefined && id !== undefined;
      id = parent.get(id)
    ) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) break;
      for (const category of categories) {
        if (!category.claims(frame)) continue;
        if (!category.weak) found = category.name;
        else weak ??= category.name;
        if (found) break;
      }
    }
    const name = found ?? weak ?? "other";
    categoryOf.set(leaf.id, name);
    return name;
  };

  const perCategory = new Map<string, number>();
  const perFunction = new Map<string, number>();
  let busyMs = 0;
  profile.samples.forEach((id, index) => {
    const node = byId.get(id);
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    if (!node || node.callFrame.functionName === "(idle)") return;
    const category = classify(node);
    if (category === undefined) return;
    busyMs += ms;
    perCategory.set(category, (perCategory.get(category) ?? 0) + ms);
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url ? ` ${url.split("/").slice(-2).join("/")}:${lineNumber + 1}` : "";
    const key = `${functionName || "(anonymous)"}${where}`;
    perFunction.set(key, (perFunction.get(key) ?? 0) + ms);
  });
  const sorted = (map: Map<string, number>) =>
    [...map].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
  return { busyMs, categories: sorted(perCategory), functions: sorted(perFunction) };
}

/** The summary as two tables: categories with shares of busy time, then the top functions. */
export function formatSummary(summary: ProfileSummary, perRequestDivisor?: number): string {
  const share = (ms: number) => `${fixed((100 * ms) / summary.busyMs)} %`;
  const perRequest = (ms: number) =>
    perRequestDivisor ? fixed((ms * 1000) / perRequestDivisor) : "";
  const head = perRequestDivisor ? ["CPU µs/request"] : [];
  return [
    table([
      ["where the CPU time goes", "ms", "share", ...head],
      ...summary.categories.map((row) => [
        row.name,
        fixed(row.ms, 0),
        share(row.ms),
        ...(perRequestDivisor ? [perRequest(row.ms)] : []),
      ]),
      [
        "total (busy)",
        fixed(summary.busyMs, 0),
        "100.0 %",
        ...(perRequestDivisor ? [perRequest(summary.busyMs)] : []),
      ],
    ]),
    "",
    table([
      ["top functions by self time", "ms", "share"],
      ...summary.functions.slice(0, 15).map((row) => [row.name, fixed(row.ms, 0), share(row.ms)]),
    ]),
  ].join("\n");
}
