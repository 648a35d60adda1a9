import { existsSync, readFileSync } from "node:fs";
import { createControlClient, type ControlClient } from "@stowage/control-client";
import { exitCodeForStatus, UNREACHABLE_EXIT } from "./exit-codes";
import { render, type Columns, type OutputFormat } from "./output";

export interface GlobalOptions {
  url: string;
  tokenFile?: string;
  output: OutputFormat;
}

/** An error the CLI reports and exits with; its code follows the HTTP status table. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Answer<T> {
  data?: { result: T };
  error?: unknown;
  response: Response;
}

export interface OperatorSession {
  client: ControlClient;
  output: OutputFormat;
  /** Prints the answer's result in the chosen format, or fails with the answer's exit code. */
  show<T>(answer: Answer<T>, columns: Columns<T extends { items: (infer I)[] } ? I : T>): T;
  write(text: string): void;
  /** A line for the operator, on standard error: standard output stays the result alone. */
  note(text: string): void;
}

/** Opens the session on first use: `--help` and usage errors need no token. */
export type OpenSession = () => OperatorSession;

/**
 * The token comes from STOWAGE_TOKEN, else the file named by --token-file (or STOWAGE_TOKEN_FILE),
 * else ./data/admin-token, where `npm start` writes the first admin token. It is never printed.
 */
export function resolveToken(options: GlobalOptions, env: NodeJS.ProcessEnv): string {
  if (env.STOWAGE_TOKEN) return env.STOWAGE_TOKEN.trim();
  const file = options.tokenFile ?? env.STOWAGE_TOKEN_FILE ?? "data/admin-token";
  if (!existsSync(file)) {
    throw new CliExit(3, `no token: set STOWAGE_TOKEN or --token-file (looked for ${file})`);
  }
  return readFileSync(file, "utf8").trim();
}

export function openSession(
  options: GlobalOptions,
  env: NodeJS.ProcessEnv,
  write: (text: string) => void,
  note: (text: string) => void,
): OperatorSession {
  const token = resolveToken(options, env);
  const client = createControlClient({
    baseUrl: options.url,
    auth: { getToken: () => token },
    retry: { retries: 2 },
  });
  return {
    client,
    output: options.output,
    write,
    note: (text) => note(`${text}\n`),
    show(answer, columns) {
      if (!answer.data) throw failure(answer.response.status, answer.error);
      render(options.output, answer.data.result as never, columns as Columns<never>, write);
      return answer.data.result;
    },
  };
}

export function failure(status: number, body: unknown): CliExit {
  const error = (
    body as
      | {
          error?: {
            code?: string;
            message?: string;
            suggestion?: { human?: string; command?: string };
          };
        }
      | undefined
  )?.error;
  const lines = [
    `error ${status}${error?.code ? ` ${error.code}` : ""}: ${error?.message ?? "the request failed"}`,
  ];
  if (error?.suggestion?.human) lines.push(`hint: ${error.suggestion.human}`);
  if (error?.suggestion?.command) lines.push(`try: ${error.suggestion.command}`);
  return new CliExit(exitCodeForStatus(status), lines.join("\n"));
}

/** fetch failing outright (refused, DNS, TLS) is "unavailable", exit 8 like a 503. */
export function unreachable(url: string, error: unknown): CliExit {
  const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
  return new CliExit(UNREACHABLE_EXIT, `cannot reach ${url}: ${cause}`);
}
