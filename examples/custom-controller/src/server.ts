import { randomBytes } from "node:crypto";
import express from "express";
import { createAuthenticate, type Principal } from "./auth";
import { createAgentRouter } from "./generated/router";
import { configHandlers } from "./handlers/config";
import { identityHandlers } from "./handlers/identity";
import { sampleConfig } from "./sample-config";
import { AgentStore } from "./store";

export interface AppOptions {
  /** Pass one to seed enrollment tokens or change configs from outside (tests do). */
  store?: AgentStore;
  validateResponses?: boolean;
}

export function createApp(options: AppOptions = {}) {
  const store = options.store ?? new AgentStore();
  // Every operation missing from this object (all but two) is answered 410 by the router,
  // right after authentication and before media types or the body are looked at.
  const router = createAgentRouter<Principal>(
    { ...configHandlers(store), ...identityHandlers(store) },
    {
      authenticate: createAuthenticate(store),
      validateResponses: options.validateResponses ?? process.env.NODE_ENV !== "production",
    },
  );
  const app = express();
  app.disable("x-powered-by");
  app.use(router);
  return { app, store, ready: router.ready };
}

if (require.main === module) {
  const store = new AgentStore();
  const tokens = (process.env.ENROLLMENT_TOKENS ?? "").split(",").filter((token) => token !== "");
  if (tokens.length === 0) {
    tokens.push(`enr_${randomBytes(16).toString("base64url")}`);
    console.log(`enrollment token (one use): ${tokens[0]}`);
  }
  for (const token of tokens) store.addEnrollmentToken(token, sampleConfig);
  const { app, ready } = createApp({ store });
  const port = Number(process.env.PORT ?? 8080);
  ready().then(
    () => {
      // Express 5 hands a listen error (EADDRINUSE, say) to this callback instead of throwing.
      app.listen(port, "127.0.0.1", (error?: Error) => {
        if (error) {
          console.error(`cannot listen on 127.0.0.1:${port}: ${error.message}`);
          process.exitCode = 1;
          return;
        }
        console.log(`listening on http://127.0.0.1:${port}`);
      });
    },
    (error: unknown) => {
      console.error("the router could not load the spec:", error);
      process.exitCode = 1;
    },
  );
}
