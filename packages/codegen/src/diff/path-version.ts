/** The control API's paths start with `/v1`; `/v2/...` beside them is a new version of the API. */
const VERSION_PREFIX = /^\/v(\d+)(?=\/|$)/;

/** The path template with its version prefix and parameter names blanked: `/v1/a/{id}` -> `/v*\/a/{}`. */
export function unversionedTemplate(template: string): string | undefined {
  if (!VERSION_PREFIX.test(template)) return undefined;
  return normalizedTemplate(template.replace(VERSION_PREFIX, "/v*"));
}

export function pathVersion(template: string): string | undefined {
  const match = VERSION_PREFIX.exec(template);
  return match ? `v${match[1]}` : undefined;
}

/** Parameter names do not change what a path matches: `/a/{id}` and `/a/{name}` are one path. */
export function normalizedTemplate(template: string): string {
  return template.replace(/\{[^}]*\}/g, "{}");
}

/** The names of a template's path parameters, in order. */
export function templateParameters(template: string): string[] {
  return [...template.matchAll(/\{([^}]*)\}/g)].map((match) => match[1]);
}
