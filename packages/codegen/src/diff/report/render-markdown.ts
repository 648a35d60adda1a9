import type { OperationTypeChanges } from "../types/type-changes";
import { countChanges, operationSections, summaryLine, type SpecReport } from "./spec-report";

/** For a pull-request comment: a table of changes per spec, the type changes folded away. */
export function renderMarkdown(reports: SpecReport[]): string {
  const out: string[] = [];
  for (const report of reports) {
    const counts = countChanges(report.changes);
    const verdict = report.note !== undefined ? "⚪" : counts.breaking > 0 ? "❌" : "✅";
    out.push(`### ${verdict} ${report.name}`, "");
    out.push(`\`${report.headLabel}\` against \`${report.baseLabel}\``, "");
    if (report.note !== undefined) {
      out.push(cell(report.note), "");
      continue;
    }
    out.push(`${summaryLine(counts)}.`, "");
    const sections = operationSections(report);
    if (report.changes.length > 0) {
      out.push("| kind | operation | change | pointer |", "| --- | --- | --- | --- |");
      for (const section of sections) {
        for (const change of section.changes) {
          const kind = change.kind === "breaking" ? "**breaking**" : change.kind;
          const where = change.where === "" ? "" : `${change.where}: `;
          out.push(
            `| ${kind} | ${cell(section.title)} | ${cell(where + change.reason)} | \`${cell(change.pointer)}\` |`,
          );
        }
      }
      out.push("");
    }
    const typed = sections.flatMap((section) => (section.types ? [section.types] : []));
    if (typed.length > 0) {
      out.push(
        `<details><summary>Generated types: ${typed.length} operation${typed.length === 1 ? "" : "s"} changed</summary>`,
        "",
      );
      for (const types of typed) out.push(...typeBlock(types));
      out.push("</details>", "");
    }
  }
  return `${out.join("\n")}\n`;
}

function typeBlock(types: OperationTypeChanges): string[] {
  if (types.status !== "changed")
    return [`**\`${types.operationId}\`**: operation ${types.status}`, ""];
  return [
    `**\`${types.operationId}\`**`,
    "",
    "```diff",
    ...types.removed.map(({ member, type }) => `- ${member}${type}`),
    ...types.added.map(({ member, type }) => `+ ${member}${type}`),
    ...types.changed.flatMap(({ member, before, after }) => [
      `- ${member}${before}`,
      `+ ${member}${after}`,
    ]),
    "```",
    "",
  ];
}

/** Table cells cannot hold `|` or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}
