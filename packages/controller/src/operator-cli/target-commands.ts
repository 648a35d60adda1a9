import { Option, type Command } from "commander";
import type { components } from "@stowage/control-client";
import { secretFrom, USAGE_EXIT } from "./inputs";
import { CliExit, failure, type OpenSession } from "./operator-session";

type Schemas = components["schemas"];
type TargetType = Schemas["TargetCreate"]["type"];

interface TargetOptions {
  type: TargetType;
  name: string;
  description?: string;
  region?: string;
  endpoint?: string;
  pathStyle?: boolean;
  accessKeyId?: string;
  secretAccessKeyFile?: string;
  authUrl?: string;
  domain?: string;
  projectName?: string;
  username?: string;
  passwordFile?: string;
}

/** The flags only some types take; one given to another type is refused rather than dropped. */
const TYPE_FLAGS: Record<TargetType, (keyof TargetOptions)[]> = {
  file: [],
  s3: ["region", "endpoint", "pathStyle", "accessKeyId", "secretAccessKeyFile"],
  smb: ["domain", "username", "passwordFile"],
  swift: ["authUrl", "region", "domain", "projectName", "username", "passwordFile"],
};

/** `stowage targets ...`: where backups are stored. */
export function registerTargetCommands(program: Command, session: OpenSession): void {
  const targets = program.command("targets").description("Where backups are stored");
  targets.command("list").action(async () => {
    const s = session();
    s.show(
      await s.client.GET("/v1/targets", { params: { query: { limit: 1000 } } }),
      targetColumns,
    );
  });
  targets.command("get <target>").action(async (target: string) => {
    const s = session();
    s.show(
      await s.client.GET("/v1/targets/{target}", { params: { path: { target } } }),
      targetColumns,
    );
  });
  targets
    // The URL is an argument: `--url` is the controller's, and commander reads a program's
    // options wherever they stand on the command line.
    .command("create <url>")
    .description(
      "Create a target at <url> (file:///dir, s3://bucket/prefix, smb://host/share/path, " +
        "swift://container/prefix); secrets are read from files (- for stdin), never from flags",
    )
    .addOption(
      new Option("--type <type>", "the kind of store")
        .choices(["file", "s3", "smb", "swift"])
        .makeOptionMandatory(),
    )
    .requiredOption("--name <name>", "unique in the tenant")
    .option("--description <text>")
    .option("--region <region>", "s3, swift")
    .option("--endpoint <url>", "s3: a custom endpoint (MinIO, Ceph...)")
    .option("--path-style", "s3: path-style addressing")
    .option("--access-key-id <id>", "s3 (an identifier, not a secret)")
    .option(
      "--secret-access-key-file <file>",
      "s3: file holding the secret access key (- for stdin)",
    )
    .option("--auth-url <url>", "swift: the Keystone URL")
    .option("--domain <domain>", "smb, swift")
    .option("--project-name <name>", "swift")
    .option("--username <name>", "smb, swift")
    .option("--password-file <file>", "smb, swift: file holding the password (- for stdin)")
    .action(async (url: string, options: TargetOptions) => {
      const s = session();
      s.show(await s.client.POST("/v1/targets", { body: targetFrom(url, options) }), targetColumns);
    });
  targets
    .command("delete <target>")
    .description("Delete a target no deployment uses (409 otherwise)")
    .action(async (target: string) => {
      const s = session();
      const { response, error } = await s.client.DELETE("/v1/targets/{target}", {
        params: { path: { target } },
      });
      if (!response.ok) throw failure(response.status, error);
    });
}

/** The create body for the chosen type; secret files are read only once the flags check out. */
function targetFrom(url: string, options: TargetOptions): Schemas["TargetCreate"] {
  const misplaced = Object.values(TYPE_FLAGS)
    .flat()
    .filter((key) => options[key] !== undefined && !TYPE_FLAGS[options.type].includes(key));
  if (misplaced.length > 0) {
    const flags = [...new Set(misplaced)].map((key) => `--${kebab(key)}`);
    const verb = flags.length === 1 ? "does" : "do";
    throw new CliExit(
      USAGE_EXIT,
      `${flags.join(", ")} ${verb} not apply to ${options.type} targets`,
    );
  }
  const common = { name: options.name, url, description: options.description };
  const secret = (file: string | undefined) => (file === undefined ? undefined : secretFrom(file));
  switch (options.type) {
    case "file":
      return { type: "file", ...common };
    case "s3":
      return {
        type: "s3",
        ...common,
        region: options.region,
        endpoint: options.endpoint,
        path_style: options.pathStyle,
        access_key_id: options.accessKeyId,
        secret_access_key: secret(options.secretAccessKeyFile),
      };
    case "smb":
      return {
        type: "smb",
        ...common,
        domain: options.domain,
        username: options.username,
        password: secret(options.passwordFile),
      };
    case "swift":
      return {
        type: "swift",
        ...common,
        // Required by the spec: left for the server to refuse with its 400 and details.
        auth_url: options.authUrl as string,
        region: options.region,
        domain: options.domain,
        project_name: options.projectName,
        username: options.username,
        password: secret(options.passwordFile),
      };
  }
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

/** Whether a credential is stored (the only thing answers say about it). */
function credentialSet(target: Schemas["Target"]): boolean | null {
  if ("secret_access_key_set" in target) return target.secret_access_key_set;
  if ("password_set" in target) return target.password_set;
  return null;
}

const targetColumns = {
  id: (r: Schemas["Target"]) => r.id,
  name: (r: Schemas["Target"]) => r.name,
  type: (r: Schemas["Target"]) => r.type,
  url: (r: Schemas["Target"]) => r.url,
  secret_set: credentialSet,
};
