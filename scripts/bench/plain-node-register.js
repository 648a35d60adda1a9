/**
 * Loads a benchmark's server child from TypeScript sources without ts-node. ts-node installs
 * source-map-support, which wraps `process.emit` and loads `node:domain`, and from then on every
 * EventEmitter in the process (sockets, requests, responses) runs through domain-aware code:
 * a server measured under it is slower than the one `npm start` runs. Here each `.ts` file is
 * transpiled as `tsc` would (the repository's compiler options, no type check, no source-map
 * hooks), and `@stowage/<package>` resolves to that package's `src`, as in jest, so a benchmark
 * measures the sources as they are, never a stale `dist`.
 *
 *   node -r ./scripts/bench/plain-node-register.js child.ts
 */
"use strict";
const { readFileSync } = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const ts = require("typescript");

const root = path.resolve(__dirname, "../..");
const { config } = ts.readConfigFile(path.join(root, "tsconfig.base.json"), ts.sys.readFile);
const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
const compilerOptions = {
  ...options,
  sourceMap: false,
  declaration: false,
  inlineSourceMap: false,
};

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const workspace = /^@stowage\/([^/]+)$/.exec(request);
  if (workspace) request = path.join(root, "packages", workspace[1], "src", "index.ts");
  return resolve.call(this, request, ...rest);
};

require.extensions[".ts"] = (module, filename) => {
  const source = readFileSync(filename, "utf8");
  const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: filename });
  module._compile(outputText, filename);
};
