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
};

export default config;
