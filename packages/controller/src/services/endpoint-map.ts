import type { components } from "@stowage/agent-server";

export type EndpointMap = components["schemas"]["EndpointMap"];

/**
 * Where each part of the agent API lives, as agents see it: this controller's public URL, with
 * reporting elsewhere when configured so. The token URL is also the exact `aud` client
 * assertions must carry.
 */
export function endpointMap(publicUrl: string, reportingUrl?: string): EndpointMap {
  const engines = `${trimSlash(publicUrl)}/engines`;
  return {
    orchestration: engines,
    reporting: reportingUrl ? `${trimSlash(reportingUrl)}/engines` : engines,
    token: `${engines}/oauth/token`,
    jwks: `${engines}/jwks.json`,
    enroll: `${engines}/enroll`,
  };
}

function trimSlash(url: string): string {
  return url.endsWith("/") ? url.slice(0, -1) : url;
}
