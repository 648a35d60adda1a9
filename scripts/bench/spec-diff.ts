/**
 * `stowage-codegen diff` on the two largest specs (agent.yaml, control.yaml), in-process through
 * the library calls the CLI makes, against a baseline of bundling the same specs: the diff has to
 * bundle both sides anyway, so the ratio says what the comparison adds on top of reading them.
 * Both sides run in this process, interleaved, so the ratio holds on a noisy machine.
 *
 *   node -r ts-node/register/transpile-only scripts/bench/spec-diff.ts [--runs 7]
 *
 * Plain Node only (not jest): the generated-types part loads openapi-typescript (ESM dependencies).
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { compareSpecs } from "../../packages/codegen/src/diff/compare-specs";
import { generatedTypeChanges } from "../../packages/codegen/src/diff/types/generated-type-changes";
import {
  bundleSpec,
  canonicalJson,
  type BundledSpec,
} from "../../packages/codegen/src/load/bundle-spec";
import { resolveLocal } from "../../packages/codegen/src/model/refs";
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
  table,
} from "./stats";

const ROOT = path.resolve(__dirname, "..", "..");
const SPECS = ["openapi/agent.yaml", "openapi/control.yaml"];
/** "Well under a second" for the diff of both specs, bundling included. */
const GOAL_MS = 500;
const BUDGET_SECONDS = 240;

interface Pair {
  label: string;
  base: BundledSpec;
  head: BundledSpec;
}

/** The head with one response property removed: a diff with a breaking change to report. */
function withFieldRemoved(spec: BundledSpec): BundledSpec {
  const document = structuredClone(spec.document);
  for (const item of Object.values(document.paths ?? {})) {
    const schema = item.get?.responses?.["200"]?.content?.["application/json"]?.schema;
    if (!schema?.$ref) continue;
    const target = resolveLocal<{ properties?: Record<string, unknown> }>(document, schema);
    const [first] = Object.keys(target.properties ?? {});
    if (first === undefined) continue;
    delete target.properties?.[first];
    return { document, sha256: createHash("sha256").update(canonicalJson(document)).digest("hex") };
  }
  throw new Error("no GET answers a component schema with properties");
}

/** Wall and CPU milliseconds; CPU time moves less when other processes compete for the cores. */
interface Sample {
  wall: number;
  cpu: number;
}

async function time(action: () => Promise<unknown> | unknown): Promise<Sample> {
  collectGarbage();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await action();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  limitRuntime(BUDGET_SECONDS);
  const runs = intOption("runs", 7);
  const files = SPECS.map((spec) => path.join(ROOT, spec));
  const bundled = await Promise.all(files.map((file) => bundleSpec(file)));
  const pairs: Pair[] = SPECS.flatMap((spec, index) => [
    { label: `${spec} vs itself`, base: bundled[index], head: bundled[index] },
    {
      label: `${spec} vs a field removed`,
      base: bundled[index],
      head: withFieldRemoved(bundled[index]),
    },
  ]);
  for (const pair of pairs) {
    const changes = compareSpecs(pair.base.document, pair.head.document);
    const breaking = changes.filter((change) => change.kind === "breaking").length;
    console.log(`${pair.label}: ${changes.length} changes, ${breaking} breaking`);
  }

  const bundleBoth = () =>
    Promise.all(files.flatMap((file) => [bundleSpec(file), bundleSpec(file)]));
  const classify = (pair: Pair) => compareSpecs(pair.base.document, pair.head.document);
  const types = (pair: Pair) => generatedTypeChanges("bench", pair.base, pair.head);
  const samples = {
    bundle: [] as Sample[],
    classify: new Map<string, Sample[]>(pairs.map((pair) => [pair.label, []])),
    types: new Map<string, Sample[]>(pairs.map((pair) => [pair.label, []])),
    full: [] as Sample[],
  };
  // One warm-up of everything, then measured runs in alternating order.
  await bundleBoth();
  for (const pair of pairs) await types(pair);
  for (let run = 0; run < runs; run++) {
    const steps: (() => Promise<void>)[] = [
      async () => void samples.bundle.push(await time(bundleBoth)),
      async () => {
        for (const pair of pairs)
          samples.classify.get(pair.label)?.push(await time(() => classify(pair)));
      },
      async () => {
        for (const pair of pairs)
          samples.types.get(pair.label)?.push(await time(() => types(pair)));
      },
      async () =>
        void samples.full.push(
          await time(async () => {
            // What `diff` does for the two specs with a breaking change: bundle four sides,
            // classify, compare the generated types.
            await bundleBoth();
            for (const pair of pairs.filter((_, index) => index % 2 === 1)) {
              classify(pair);
              await types(pair);
            }
          }),
        ),
    ];
    for (const step of run % 2 === 0 ? steps : [...steps].reverse()) await step();
  }

  const wall = (values: Sample[]) => values.map((sample) => sample.wall);
  const cpu = (values: Sample[]) => values.map((sample) => sample.cpu);
  const row = (label: string, values: Sample[]) => [
    label,
    fixed(median(wall(values))),
    fixed(min(wall(values))),
    fixed(max(wall(values))),
    fixed(median(cpu(values))),
  ];
  const rows = [
    ["step (ms)", "wall median", "min", "max", "CPU median"],
    row("bundle both specs, both sides (4 bundles)", samples.bundle),
  ];
  for (const pair of pairs)
    rows.push(row(`classify: ${pair.label}`, samples.classify.get(pair.label) ?? []));
  for (const pair of pairs)
    rows.push(row(`generated types: ${pair.label}`, samples.types.get(pair.label) ?? []));
  rows.push(row("full diff of both specs (bundle + classify + types)", samples.full));
  console.log(`\n${environment()}, ${runs} runs\n\n${table(rows)}\n`);

  const changed = pairs.filter((_, index) => index % 2 === 1);
  const classifyCpu = changed
    .map((pair) => median(cpu(samples.classify.get(pair.label) ?? [])))
    .reduce((sum, value) => sum + value, 0);
  const bundleCpu = median(cpu(samples.bundle));
  const full = median(wall(samples.full));
  const fullCpu = median(cpu(samples.full));
  // CPU time: on a shared 2-core machine the wall time mostly measures the other processes.
  const diffCpu = bundleCpu + classifyCpu;
  console.log(`diff of both specs with a field removed (CPU medians):`);
  console.log(
    `  bundle 4 sides ${fixed(bundleCpu)} ms + classify ${fixed(classifyCpu)} ms = ${fixed(diffCpu)} ms`,
  );
  console.log(
    `  with the generated-types report: ${fixed(fullCpu)} ms CPU, ${fixed(full)} ms wall`,
  );
  console.log(
    `  full report / bundling alone: ${fixed(fullCpu / bundleCpu, 2)}x CPU, ` +
      `${fixed(full / median(wall(samples.bundle)), 2)}x wall`,
  );
  console.log(`goal: the diff of both specs under ${GOAL_MS} ms CPU: ${goal(diffCpu < GOAL_MS)}`);
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
