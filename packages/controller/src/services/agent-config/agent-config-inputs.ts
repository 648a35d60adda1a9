import type { AgentConfigRows } from "../../store/agent-config-store";
import {
  secretsFromRow,
  settingsFromRow,
  type DeploymentSecrets,
  type DeploymentSettings,
} from "../deployment-settings";
import type { TargetSecrets, TargetSettings, TargetType } from "../targets-service";

/** A target as a deployment uses it, secrets included: only the config document may carry them. */
export interface TargetInput {
  name: string;
  type: TargetType;
  settings: TargetSettings;
  secrets: TargetSecrets;
}

export interface DeploymentInput {
  name: string;
  description: string | null;
  settings: DeploymentSettings;
  secrets: DeploymentSecrets;
  /** In the deployment's `target_ids` order. */
  targets: TargetInput[];
}

/** Everything a config document of one agent is rendered from. */
export interface AgentConfigInputs {
  agent: { id: string; name: string };
  /** By name, so the same settings always render the same document. */
  deployments: DeploymentInput[];
}

export function agentConfigInputs(
  agent: AgentConfigInputs["agent"],
  rows: AgentConfigRows,
): AgentConfigInputs {
  return {
    agent,
    deployments: rows.deployments.map((row) => {
      const settings = settingsFromRow(row);
      return {
        name: row.name,
        description: row.description,
        settings,
        secrets: secretsFromRow(row),
        targets: settings.target_ids.map((id) => {
          const target = rows.targets.get(id);
          // Deleting a target in use is refused, so this is a broken store, not a user error;
          // rendering without it would drop a target silently.
          if (!target) throw new Error(`deployment ${row.id} names target ${id}, which is gone`);
          return {
            name: target.name,
            type: target.type as TargetType,
            settings: JSON.parse(target.settings) as TargetSettings,
            secrets: JSON.parse(target.secrets) as TargetSecrets,
          };
        }),
      };
    }),
  };
}
