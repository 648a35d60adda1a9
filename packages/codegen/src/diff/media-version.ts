/** A versioned vendor media type: `application/vnd.stowage.item.v2+json` is version 2 of `application/vnd.stowage.item+json`. */
export interface MediaVersion {
  family: string;
  version: number;
}

const VERSIONED = /^(application\/vnd\.[^;+]+?)\.v(\d+)(\+[^;]+)?$/i;

export function mediaVersion(type: string): MediaVersion | undefined {
  const match = VERSIONED.exec(type.trim());
  if (!match) return undefined;
  return { family: `${match[1]}${match[3] ?? ""}`.toLowerCase(), version: Number(match[2]) };
}

/** The versions of `family` among `types`, e.g. `v1, v2`. */
export function versionsOf(family: string, types: Iterable<string>): string[] {
  const versions: number[] = [];
  for (const type of types) {
    const parsed = mediaVersion(type);
    if (parsed?.family === family) versions.push(parsed.version);
  }
  return versions.sort((a, b) => a - b).map((version) => `v${version}`);
}
