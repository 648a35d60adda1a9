import pino, { type Logger } from "pino";
import { nowIso } from "../services/identifiers";

export type { Logger };

/** The longest a log line waits in the buffer before it is written. */
const FLUSH_INTERVAL_MS = 200;

/**
 * One structured logger. Redaction is a second line of defence: no code path logs a request's
 * headers or a body with secrets, and these paths are censored even if one ever did.
 */
export function createLogger(options: {
  level: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level,
      base: { service: "stowage-controller" },
      // pino's isoTime, formatted once per millisecond.
      timestamp: () => `,"time":"${nowIso()}"`,
      redact: {
        paths: [
          "headers.authorization",
          "req.headers.authorization",
          "*.secret",
          "*.password",
          "*.token",
          "*.credentials",
          "*.secret_access_key",
          "*.auth_secret",
        ],
        censor: "[redacted]",
      },
    },
    options.destination ?? bufferedStdout(),
  );
}

/**
 * Standard output, written 4 KiB at a time or every 200 ms, not a write(2) per line: on a fast
 * request that system call is a tenth of the controller's time. pino writes what is left when
 * the process exits; a SIGKILL loses at most the last 200 ms of lines.
 */
function bufferedStdout(): pino.DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), FLUSH_INTERVAL_MS).unref();
  return destination;
}
