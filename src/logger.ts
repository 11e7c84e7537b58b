import { pino, type Logger } from "pino";

/** JSON logs on stdout. Secret-bearing keys are censored wherever they appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: "mailroom" },
    redact: {
      paths: [
        "password",
        "*.password",
        "*.*.password",
        "clientSecret",
        "*.clientSecret",
        "*.*.clientSecret",
        "signingKey",
        "*.signingKey",
        "token",
        "*.token",
        "authorization",
        "*.authorization",
        "*.headers.authorization",
      ],
      censor: "[redacted]",
    },
  });
}
