import { availableParallelism } from "node:os";
import type { Config } from "jest";

const config: Config = {
  testEnvironment: "node",
  roots: ["<rootDir>"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "/dist/"],
  transform: {
    "^.+\\.ts$": ["ts-jest", { tsconfig: "<rootDir>/tsconfig.json" }],
  },
  moduleNameMapper: {
    "^@stowage/([^/]+)$": "<rootDir>/packages/$1/src",
  },
  // A snapshot written during a CI run is a missing expectation, not a pass.
  ci: true,
  testTimeout: 30000,
  // Jest's default (one worker fewer than the cores) is a single worker on a 2-core runner; most
  // suites wait on child processes and sockets, so a second one cuts the run by about 40%.
  maxWorkers: Math.max(2, availableParallelism() - 1),
};

export default config;
