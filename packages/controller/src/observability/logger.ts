import pino, { type Logger } from "pino";

export type { Logger };

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
      timestamp: pino.stdTimeFunctions.isoTime,
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
    options.destination,
  );
}
