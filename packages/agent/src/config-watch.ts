import {
  ConfigV2Schema,
  StowageApiError,
  type AgentClient,
  type components,
} from "@stowage/agent-client";

export type ConfigV2 = components["schemas"]["ConfigV2"];
export const CONFIG_V2_MEDIA_TYPE = "application/vnd.stowage.agent-config.v2+json";

/**
 * The agent's copy of its v2 config, refreshed with `If-None-Match`: an unchanged document costs
 * a 304 without a body, so the agent can ask before every claim and always act on current settings.
 */
export class ConfigWatch {
  private etag: string | undefined;
  private current: ConfigV2 | undefined;

  constructor(
    private readonly client: AgentClient,
    private readonly instance: string,
  ) {}

  async refresh(signal?: AbortSignal): Promise<{ config: ConfigV2; changed: boolean }> {
    const { data, error, response } = await this.client.requestAs(
      "get",
      "/engines/config/{instance}",
      CONFIG_V2_MEDIA_TYPE,
      {
        params: {
          path: { instance: this.instance },
          header: this.etag && this.current ? { "If-None-Match": this.etag } : {},
        },
        signal,
      },
    );
    if (response.status === 304 && this.current) return { config: this.current, changed: false };
    if (!data) throw new StowageApiError(response.status, error, response, undefined);
    // Validated, not trusted: the document drives what the agent reads and writes on its host.
    this.current = ConfigV2Schema.parse(data) as ConfigV2;
    this.etag = response.headers.get("etag") ?? undefined;
    return { config: this.current, changed: true };
  }
}
