export type OutputFormat = "json" | "ndjson" | "table";

/** A time that may not have happened yet, for a table cell. */
export const when = (value: string | null | undefined) => value ?? "-";

export interface Columns<T> {
  /** Column title -> how to read it from a row. */
  [title: string]: (row: T) => unknown;
}

/** Writes a result: the whole envelope as JSON, one item per line as NDJSON, or an aligned table. */
export function render<T>(
  format: OutputFormat,
  value: { items?: T[] } | T,
  columns: Columns<T>,
  write: (text: string) => void,
): void {
  const items: T[] = isPage<T>(value) ? value.items : [value as T];
  if (format === "json") {
    write(`${JSON.stringify(value, null, 2)}\n`);
  } else if (format === "ndjson") {
    for (const item of items) write(`${JSON.stringify(item)}\n`);
  } else {
    write(table(items, columns));
  }
}

function isPage<T>(value: unknown): value is { items: T[] } {
  return (
    typeof value === "object" &&
    value !== null &&
    Array.isArray((value as { items?: unknown }).items)
  );
}

export function table<T>(rows: T[], columns: Columns<T>): string {
  const titles = Object.keys(columns);
  const cells = rows.map((row) => titles.map((title) => cell(columns[title](row))));
  const widths = titles.map((title, index) =>
    Math.max(title.length, ...cells.map((line) => line[index].length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, index) => value.padEnd(widths[index]))
      .join("  ")
      .trimEnd();
  return [line(titles.map((title) => title.toUpperCase())), ...cells.map(line)].join("\n") + "\n";
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "-";
  if (Array.isArray(value)) return value.map(String).join(",");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
