import path from "node:path";
import ts from "typescript";

const ROOT = path.resolve(__dirname, "..", "..", "..");

/** Type-checks generated files the way `npm run typecheck` does, and returns the diagnostics as text. */
export function typeCheck(files: string[]): string[] {
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts"],
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ["node"],
    typeRoots: [path.join(ROOT, "node_modules", "@types")],
    baseUrl: ROOT,
    paths: { "@stowage/*": ["packages/*/src"] },
  });
  return ts
    .getPreEmitDiagnostics(program)
    .map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n"));
}
