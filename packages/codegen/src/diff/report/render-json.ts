import { countChanges, hasBreakingChange, type SpecReport } from "./spec-report";

/** For tools: every change with its pointer, operation and rule, and the type changes. */
export function renderJson(reports: SpecReport[]): string {
  return `${JSON.stringify(
    {
      breaking: hasBreakingChange(reports),
      specs: reports.map((report) => ({
        name: report.name,
        base: report.baseLabel,
        head: report.headLabel,
        ...(report.note !== undefined ? { note: report.note } : {}),
        summary: countChanges(report.changes),
        changes: report.changes,
        ...(report.types !== undefined ? { types: report.types } : {}),
      })),
    },
    null,
    2,
  )}\n`;
}
