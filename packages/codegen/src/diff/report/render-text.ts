import { styleText } from "node:util";
import type { ChangeKind } from "../spec-change";
import type { OperationTypeChanges } from "../types/type-changes";
import { countChanges, operationSections, summaryLine, type SpecReport } from "./spec-report";

type Style = Parameters<typeof styleText>[0];

const KIND_STYLE: Record<ChangeKind, Style> = {
  breaking: ["red", "bold"],
  "non-breaking": "green",
  deprecation: "yellow",
};

/** For a terminal or a CI log: grouped by operation, coloured when `color` is set. */
export function renderText(reports: SpecReport[], color: boolean): string {
  const paint = (style: Style, text: string) => (color ? styleText(style, text) : text);
  const lines: string[] = [];
  for (const report of reports) {
    lines.push(paint("bold", `${report.name}: ${report.headLabel} against ${report.baseLabel}`));
    if (report.note !== undefined) {
      lines.push(`  ${report.note}`, "");
      continue;
    }
    const counts = countChanges(report.changes);
    lines.push(`  ${paint(counts.breaking > 0 ? ["red", "bold"] : "green", summaryLine(counts))}`);
    for (const section of operationSections(report)) {
      lines.push("", `  ${paint("bold", section.title)}`);
      for (const change of section.changes) {
        const where = change.where === "" ? "" : `${change.where}: `;
        lines.push(
          `    ${paint(KIND_STYLE[change.kind], change.kind.padEnd(12))}  ${where}${change.reason}`,
        );
        lines.push(`    ${" ".repeat(12)}  ${paint("dim", change.pointer)}`);
      }
      if (section.types) lines.push(...typeLines(section.types, paint));
    }
    lines.push("");
  }
  return `${lines.join("\n")}\n`;
}

function typeLines(
  types: OperationTypeChanges,
  paint: (style: Style, text: string) => string,
): string[] {
  if (types.status !== "changed") return [`    generated types: operation ${types.status}`];
  return [
    "    generated types:",
    ...types.removed.map(({ member, type }) => paint("red", `      - ${member}${type}`)),
    ...types.added.map(({ member, type }) => paint("green", `      + ${member}${type}`)),
    ...types.changed.flatMap(({ member, before, after }) => [
      paint("yellow", `      ~ ${member}${before}`),
      paint("yellow", `        now ${member}${after}`),
    ]),
  ];
}
