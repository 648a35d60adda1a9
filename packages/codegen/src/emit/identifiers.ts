const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A property key as TypeScript source: bare when it is an identifier, quoted otherwise. */
export function propertyKey(key: string): string {
  return IDENTIFIER.test(key) ? key : JSON.stringify(key);
}

/** The exported zod constant for a component schema: `Config` -> `ConfigSchema`. */
export function schemaConstName(schemaName: string): string {
  const cleaned = schemaName.replace(/[^A-Za-z0-9_$]+(.)?/g, (_m, next: string | undefined) =>
    (next ?? "").toUpperCase(),
  );
  const safe = /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned;
  return `${safe}Schema`;
}

export function upperFirst(name: string): string {
  return name.length === 0 ? name : name[0].toUpperCase() + name.slice(1);
}
