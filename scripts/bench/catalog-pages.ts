/**
 * Keyset pagination on a big catalog: page 1 against page 10,000 of one deployment's 1,000,000
 * backups (limit 100), through the backups service (`BackupsService.list`: the deployment lookup,
 * the store's keyset query, the parts of the page, the views), through the store's query alone,
 * and over HTTP against the real controller in a child process. Calls alternate between the two
 * pages, so both see the same machine conditions.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/catalog-pages.ts
 *     [--backups 1000000] [--parts 1] [--limit 100] [--page 10000] [--reps 200] [--http-reps 100]
 *     [--data-dir dir] [--no-http]
 *
 * `--data-dir` keeps the seeded catalog there and reuses it on the next run (seeding a million
 * backups is most of the run time); without it a temp directory is seeded and removed.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { BackupsService } from "../../packages/controller/src/services/backups-service";
import { JobsService } from "../../packages/controller/src/services/jobs-service";
import { toPage } from "../../packages/controller/src/services/pagination";
import { BACKUP_PAGE_SQL } from "../../packages/controller/src/store/backups-store";
import { checkpoint } from "../../packages/controller/src/store/database";
import { dataFile, forkController, openCatalog } from "./controller-fixture";
import type { ServerProcess } from "./server-process";
import {
  collectGarbage,
  environment,
  fixed,
  goal,
  intOption,
  limitRuntime,
  max,
  median,
  min,
  option,
  table,
} from "./stats";

const GOAL_RATIO = 1.5;
const BUDGET_SECONDS = 900;

interface PageCheck {
  items: number;
  first: number | undefined;
  last: number | undefined;
  next: string | null;
}

/** One way of fetching a page: `marker` undefined is page 1. */
type Fetcher = (marker: string | undefined) => Promise<PageCheck> | PageCheck;

interface Timing {
  path: string;
  page1: number[];
  deep: number[];
  first: { page1: number; deep: number };
}

/** `reps` calls per page, alternating which page goes first; wall ms per call. */
async function measure(
  name: string,
  fetchPage: Fetcher,
  deepMarker: string,
  reps: number,
  expect: { page1: PageCheck; deep: PageCheck },
): Promise<Timing> {
  const once = async (marker: string | undefined) => {
    const start = performance.now();
    const page = await fetchPage(marker);
    return { ms: performance.now() - start, page };
  };
  // The first call of each page, before any warm-up: page 1 first, as a client would, so it pays
  // the path's one-time costs (lazy compilation, the statement's first run) and the deep page's
  // first call shows what its colder rows cost.
  const firstPage1 = await once(undefined);
  const firstDeep = await once(deepMarker);
  for (const [got, want, label] of [
    [firstPage1.page, expect.page1, "page 1"],
    [firstDeep.page, expect.deep, "the deep page"],
  ] as const) {
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`${name}, ${label}: got ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
    }
  }
  for (let index = 0; index < Math.min(20, reps); index++) {
    await once(undefined);
    await once(deepMarker);
  }
  const timing: Timing = {
    path: name,
    page1: [],
    deep: [],
    first: { page1: firstPage1.ms, deep: firstDeep.ms },
  };
  collectGarbage();
  for (let index = 0; index < reps; index++) {
    const order = index % 2 === 0 ? [undefined, deepMarker] : [deepMarker, undefined];
    for (const marker of order) {
      const { ms } = await once(marker);
      (marker === undefined ? timing.page1 : timing.deep).push(ms);
    }
  }
  return timing;
}

async function main(): Promise<void> {
  const backups = intOption("backups", 1_000_000);
  const partsPerBackup = intOption("parts", 1);
  const limit = intOption("limit", 100);
  const deepPage = intOption("page", 10_000);
  const reps = intOption("reps", 200);
  const httpReps = intOption("http-reps", 100);
  const http = !process.argv.includes("--no-http");
  const keptDir = option("data-dir");
  if (deepPage < 2) throw new Error("--page must be 2 or more: page 1 is the baseline");
  if ((deepPage - 1) * limit >= backups) {
    throw new Error(`page ${deepPage} of ${limit} is past the ${backups} backups`);
  }

  const dataDir = keptDir
    ? path.resolve(keptDir)
    : mkdtempSync(path.join(tmpdir(), "stowage-bench-catalog-"));
  let controller: ServerProcess | undefined;
  const cleanUp = () => {
    controller?.child.kill("SIGKILL");
    if (!keptDir) rmSync(dataDir, { recursive: true, force: true });
  };
  limitRuntime(BUDGET_SECONDS, cleanUp);

  try {
    console.log(`catalog pages benchmark: ${environment()}`);
    const seeded = openCatalog(dataDir, { backups, partsPerBackup, loader: "sql" });
    const { db, stores, deployment } = seeded;
    checkpoint(db);
    const megabytes = statSync(dataFile(dataDir)).size / 1024 / 1024;
    console.log(
      seeded.reused
        ? `catalog: reused ${dataDir} (${backups} backups, ${fixed(megabytes, 0)} MiB)`
        : `catalog: ${backups} backups, ${partsPerBackup} part(s) each, inserted in one transaction ` +
            `(INSERT ... SELECT on the migrated schema) in ${fixed(seeded.insertMs / 1000, 1)} s; ` +
            `${fixed(megabytes, 0)} MiB`,
    );

    // The marker of page N names the last key of page N - 1. Found once with OFFSET (setup only:
    // that is the scan keyset pagination avoids), and encoded by the service's own `toPage`.
    const skipped = (deepPage - 1) * limit;
    const lastKey = db
      .prepare<[string, number], { sequence: number }>(
        `SELECT sequence FROM backups WHERE deployment_id = ? AND deleted_at IS NULL
         ORDER BY sequence DESC LIMIT 1 OFFSET ?`,
      )
      .get(deployment.id, skipped - 1)?.sequence;
    if (lastKey === undefined) throw new Error("the catalog is shorter than expected");
    const deepMarker = toPage(
      [{ sequence: lastKey }, { sequence: lastKey - 1 }],
      { limit: 1 },
      (row) => String(row.sequence),
    ).next_marker;
    if (deepMarker === null) throw new Error("no marker");

    const expectPage = (firstSequence: number): PageCheck => {
      const count = Math.min(limit, firstSequence);
      return {
        items: count,
        first: firstSequence,
        last: firstSequence - count + 1,
        next: firstSequence - count > 0 ? "more" : null,
      };
    };
    const expect = { page1: expectPage(backups), deep: expectPage(lastKey - 1) };
    const check = (sequences: number[], next: string | null): PageCheck => ({
      items: sequences.length,
      first: sequences[0],
      last: sequences[sequences.length - 1],
      next: next === null ? null : "more",
    });

    console.log(
      `pages: limit ${limit}; page 1 starts at sequence ${backups}; page ${deepPage} is the one after ` +
        `sequence ${lastKey} (marker ${deepMarker}, as next_marker of page ${deepPage - 1} would say)`,
    );
    const planParams = { deployment: deployment.id, before: lastKey, limit: limit + 1 };
    console.log(
      `\nEXPLAIN QUERY PLAN of the listing (BACKUP_PAGE_SQL.live, as BackupsStore.page runs it):`,
    );
    console.log(BACKUP_PAGE_SQL.live.replace(/\s+/g, " "));
    for (const row of db
      .prepare<typeof planParams, { detail: string }>(`EXPLAIN QUERY PLAN ${BACKUP_PAGE_SQL.live}`)
      .all(planParams)) {
      console.log(`  -> ${row.detail}`);
    }
    console.log("");

    const jobs = new JobsService(stores);
    const viaService: Fetcher = (marker) => {
      // A service per call: one service keeps the pages it answered (until a backup changes),
      // and this path measures reading a page, not finding it again.
      const service = new BackupsService(stores, jobs);
      const listing = service.list(seeded.readerCall, deployment.name, { limit, marker });
      // The service answers JSON (the stored views joined); reading it is part of the call.
      const page = JSON.parse(listing.json.bytes.toString("utf8")) as {
        items: { sequence: number }[];
      };
      return check(
        page.items.map((item) => item.sequence),
        listing.next_marker,
      );
    };
    const viaStore: Fetcher = (marker) => {
      const rows = stores.backups.page({
        deploymentId: deployment.id,
        beforeSequence: marker === undefined ? Number.MAX_SAFE_INTEGER : lastKey,
        limit: limit + 1,
        includeDeleted: false,
      });
      const items = rows.slice(0, limit).map((row) => row.sequence);
      return check(items, rows.length > limit ? "more" : null);
    };

    const timings: Timing[] = [];
    timings.push(
      await measure("service: BackupsService.list", viaService, deepMarker, reps, expect),
    );
    timings.push(
      await measure("store: BackupsStore.page (keyset query)", viaStore, deepMarker, reps, expect),
    );

    if (http) {
      controller = await forkController(dataDir);
      const base = `${controller.url}/v1/deployments/${deployment.name}/backups?limit=${limit}`;
      const headers = { authorization: `Bearer ${seeded.readerToken}` };
      const viaHttp: Fetcher = async (marker) => {
        const url = marker === undefined ? base : `${base}&marker=${encodeURIComponent(marker)}`;
        const response = await fetch(url, { headers });
        const body = (await response.json()) as {
          result: { items: { sequence: number }[]; next_marker: string | null };
        };
        if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
        return check(
          body.result.items.map((item) => item.sequence),
          body.result.next_marker,
        );
      };
      timings.push(
        await measure(
          "HTTP: GET .../backups (controller process)",
          viaHttp,
          deepMarker,
          httpReps,
          expect,
        ),
      );
    }

    const deep = `page ${deepPage}`;
    console.log(
      `${reps} calls per page in-process, ${httpReps} over HTTP (sequential), pages alternating; ms per call\n`,
    );
    const rows: string[][] = [
      [
        "path",
        "page 1 median",
        `${deep} median`,
        "page 1 min-max",
        `${deep} min-max`,
        "first call 1 / deep",
        `ratio ${deep}/page 1`,
      ],
    ];
    for (const timing of timings) {
      rows.push([
        timing.path,
        fixed(median(timing.page1), 3),
        fixed(median(timing.deep), 3),
        `${fixed(min(timing.page1), 2)}-${fixed(max(timing.page1), 2)}`,
        `${fixed(min(timing.deep), 2)}-${fixed(max(timing.deep), 2)}`,
        `${fixed(timing.first.page1, 1)} / ${fixed(timing.first.deep, 1)}`,
        `${fixed(median(timing.deep) / median(timing.page1), 2)}x`,
      ]);
    }
    console.log(table(rows));
    console.log("");
    console.log(
      table([
        ["goal", "target", "measured", "status"],
        ...timings.map((timing) => {
          const ratio = median(timing.deep) / median(timing.page1);
          return [
            `${deep} / page 1 (medians), ${timing.path.split(":")[0]}`,
            `<= ${fixed(GOAL_RATIO, 1)}x`,
            `${fixed(ratio, 2)}x`,
            goal(ratio <= GOAL_RATIO),
          ];
        }),
      ]),
    );
    await controller?.stop();
    db.close();
  } finally {
    cleanUp();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
