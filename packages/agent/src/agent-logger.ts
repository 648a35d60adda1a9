export type LogLevel = "debug" | "info" | "warn" | "error";

export interface AgentLogger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** One JSON object a line on stdout, so a supervisor (systemd, a test) can read what the agent does. */
export function stdoutLogger(
  write: (line: string) => void = (line) => process.stdout.write(line),
): AgentLogger {
  return {
    log(level, message, fields = {}) {
      write(
        `${JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })}\n`,
      );
    },
  };
}
