/** What the generated code imports, pinned as stowage's own packages pin it. */
export const SCAFFOLD_DEPENDENCIES: Record<string, string> = {
  "@stowage/server-runtime": "0.1.0",
  express: "5.3.0",
  zod: "4.6.7",
};
