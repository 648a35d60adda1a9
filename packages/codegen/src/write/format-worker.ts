/** What the pool in ./format.ts passes as the worker's `workerData`. */
export interface FormatWorkerData {
  /** Prettier's CommonJS entry, resolved by the main thread. */
  prettier: string;
  /** The path Prettier resolves its configuration for (a path in the project). */
  configFile: string;
}

/** A job for a worker. */
export interface FormatRequest {
  id: number;
  source: string;
}

export type FormatResponse =
  { id: number; ok: true; formatted: string } | { id: number; ok: false; message: string };

/**
 * The worker, as plain JavaScript run with `eval: true`: the same code then runs from dist/ and
 * from src/ under ts-node. A `.ts` worker would need ts-node in every worker, which measured about
 * 0.6 s of CPU per worker, so per CLI run in the tests. An eval'd worker resolves modules from the
 * working directory, hence Prettier's absolute path in `workerData`. It speaks FormatRequest and
 * FormatResponse above, and formats with the Prettier settings that apply to `configFile`, so
 * `prettier --check` agrees with the generator.
 */
export const FORMAT_WORKER_SOURCE = `
"use strict";
const { parentPort, workerData } = require("node:worker_threads");
const prettier = require(workerData.prettier);
const options = prettier
  .resolveConfig(workerData.configFile)
  .then((found) => ({ ...found, parser: "typescript" }));

// Loading Prettier's core and its TypeScript parser costs about as much as formatting a mid-sized
// file: start now, while the main thread is still loading modules and bundling specs.
options.then((resolved) => prettier.format("", resolved)).catch(() => undefined);

parentPort.on("message", ({ id, source }) => {
  options
    .then((resolved) => prettier.format(source, resolved))
    .then(
      (formatted) => parentPort.postMessage({ id, ok: true, formatted }),
      // Prettier's syntax errors carry the code frame in their message, which is what users need.
      (error) =>
        parentPort.postMessage({
          id,
          ok: false,
          message: error instanceof Error ? error.message : String(error),
        }),
    );
});
`;
