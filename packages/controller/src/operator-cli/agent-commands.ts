import type { Command } from "commander";
import type { components } from "@stowage/control-client";
import { stringify } from "yaml";
import { wholeNumber } from "./inputs";
import { failure, type OpenSession } from "./operator-session";
import { when } from "./output";

type Schemas = components["schemas"];

/** `stowage enrollments ...` and `stowage agents ...` (agent:manage). */
export function registerAgentCommands(program: Command, session: OpenSession): void {
  const enrollments = program
    .command("enrollments")
    .description("One-time tokens agents enroll with (agent:manage)");
  enrollments
    .command("create")
    .option("--agent-name <name>", "the name the enrolled agent gets (default: its hostname)")
    .option(
      "--ttl-seconds <s>",
      "how long the token is usable (60 to 604800; default 3600)",
      wholeNumber,
    )
    .option("--description <text>")
    .action(async (options: { agentName?: string; ttlSeconds?: number; description?: string }) => {
      const s = session();
      const answer = await s.client.POST("/v1/enrollments", {
        body: {
          agent_name: options.agentName,
          ttl_seconds: options.ttlSeconds,
          description: options.description,
        },
      });
      s.show(answer, {
        ...enrollmentColumns,
        token: (r) => r.token,
        enroll_url: (r) => r.enroll_url,
      });
      if (s.output === "table")
        s.note("The token is shown once and works once: hand it to the agent now.");
    });
  enrollments.command("list").action(async () => {
    const s = session();
    s.show(
      await s.client.GET("/v1/enrollments", { params: { query: { limit: 1000 } } }),
      enrollmentColumns,
    );
  });
  enrollments.command("get <enrollment>").action(async (enrollment: string) => {
    const s = session();
    s.show(
      await s.client.GET("/v1/enrollments/{enrollment}", { params: { path: { enrollment } } }),
      enrollmentColumns,
    );
  });
  enrollments.command("delete <enrollment>").action(async (enrollment: string) => {
    const s = session();
    const { response, error } = await s.client.DELETE("/v1/enrollments/{enrollment}", {
      params: { path: { enrollment } },
    });
    if (!response.ok) throw failure(response.status, error);
  });

  const agents = program.command("agents").description("Enrolled agents (agent:manage)");
  agents.command("list").action(async () => {
    const s = session();
    s.show(await s.client.GET("/v1/agents", { params: { query: { limit: 1000 } } }), agentColumns);
  });
  agents.command("get <agent>").action(async (agent: string) => {
    const s = session();
    s.show(await s.client.GET("/v1/agents/{agent}", { params: { path: { agent } } }), agentColumns);
  });
  agents
    .command("revoke <agent>")
    .description("Revoke at once: its tokens, key and identity stop working")
    .action(async (agent: string) => {
      const s = session();
      s.show(
        await s.client.DELETE("/v1/agents/{agent}", { params: { path: { agent } } }),
        agentColumns,
      );
    });
  agents
    .command("issue-identity <agent>")
    .description(
      "Issue a databacker identity and print mysql-backup's bootstrap config (YAML), shown once",
    )
    .option("--replace", "replace an identity issued before (the old one stops working)")
    .option("--config-url <url>", "the https config URL agents reach (default: the controller's)")
    .action(async (agent: string, options: { replace?: boolean; configUrl?: string }) => {
      const s = session();
      const answer = await s.client.POST("/v1/agents/{agent}/identity", {
        params: { path: { agent } },
        body: { replace: options.replace === true, config_url: options.configUrl },
      });
      if (s.output !== "table") {
        s.show(answer, identityColumns);
        return;
      }
      // Standard output is the document alone, so `> mysql-backup.yaml` is the whole workflow.
      if (!answer.data) throw failure(answer.response.status, answer.error);
      const identity = answer.data.result;
      s.write(stringify(identity.bootstrap));
      s.note(
        `Identity ${identity.fingerprint} issued for ${identity.agent_id}${identity.replaced ? " (replacing the previous one)" : ""}.`,
      );
      s.note("Its credentials are shown once: save this document as mysql-backup's config now.");
    });
}

const enrollmentColumns = {
  id: (r: Schemas["Enrollment"]) => r.id,
  agent_name: (r: Schemas["Enrollment"]) => r.agent_name,
  state: (r: Schemas["Enrollment"]) => r.state,
  expires: (r: Schemas["Enrollment"]) => r.expires_at,
  agent: (r: Schemas["Enrollment"]) => r.agent_id,
  description: (r: Schemas["Enrollment"]) => r.description,
};
const agentColumns = {
  id: (r: Schemas["Agent"]) => r.id,
  name: (r: Schemas["Agent"]) => r.name,
  hostname: (r: Schemas["Agent"]) => r.hostname,
  state: (r: Schemas["Agent"]) => r.state,
  auth: (r: Schemas["Agent"]) => r.auth_method,
  version: (r: Schemas["Agent"]) => r.version,
  last_seen: (r: Schemas["Agent"]) => when(r.last_seen_at),
  jobs: (r: Schemas["Agent"]) => r.in_flight_jobs,
};
const identityColumns = {
  agent: (r: Schemas["AgentIdentity"]) => r.agent_id,
  fingerprint: (r: Schemas["AgentIdentity"]) => r.fingerprint,
  issued: (r: Schemas["AgentIdentity"]) => r.issued_at,
  replaced: (r: Schemas["AgentIdentity"]) => r.replaced,
};
