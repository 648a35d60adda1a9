import type { SpecChange } from "../spec-change";
import type { OperationTypeChanges } from "../types/type-changes";

/** The outcome for one spec: what the renderers print and the exit code is decided from. */
export interface SpecReport {
  name: string;
  baseLabel: string;
  headLabel: string;
  /** Why nothing was compared (no baseline yet, a spec new since the git ref). */
  note?: string;
  changes: SpecChange[];
  /** Absent when the generated types were not compared (`--no-types`). */
  types?: OperationTypeChanges[];
}

export interface ChangeCounts {
  breaking: number;
  nonBreaking: number;
  deprecation: number;
}

export function countChanges(changes: SpecChange[]): ChangeCounts {
  return {
    breaking: changes.filter((change) => change.kind === "breaking").length,
    nonBreaking: changes.filter((change) => change.kind === "non-breaking").length,
    deprecation: changes.filter((change) => change.kind === "deprecation").length,
  };
}

export function hasBreakingChange(reports: SpecReport[]): boolean {
  return reports.some((report) => report.changes.some((change) => change.kind === "breaking"));
}

/** One operation's part of a report: its classified changes and its generated type changes. */
export interface OperationSection {
  title: string;
  changes: SpecChange[];
  types?: OperationTypeChanges;
}

/**
 * Sections per operation, in the order the changes were found, then operations whose generated
 * types changed without a classified change (an edit the rules judge no change to the contract).
 */
export function operationSections(report: SpecReport): OperationSection[] {
  const sections = new Map<string, OperationSection>();
  for (const change of report.changes) {
    const { operationId, method, path } = change.operation;
    const key = operationId ?? `${method} ${path}`;
    let section = sections.get(key);
    if (!section) {
      section = {
        title: operationId ? `${operationId} (${method} ${path})` : `${method} ${path}`,
        changes: [],
      };
      sections.set(key, section);
    }
    section.changes.push(change);
  }
  for (const types of report.types ?? []) {
    const section = sections.get(types.operationId);
    if (section) section.types = types;
    else sections.set(types.operationId, { title: types.operationId, changes: [], types });
  }
  return [...sections.values()];
}

export function summaryLine(counts: ChangeCounts): string {
  const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? "" : "s"}`;
  return `${counts.breaking} breaking, ${counts.nonBreaking} non-breaking, ${plural(counts.deprecation, "deprecation")}`;
}
