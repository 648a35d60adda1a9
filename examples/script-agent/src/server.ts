import express from "express";
import { createScriptAgentRouter } from "@stowage/script-agent-server";
import { createBasicAuthenticate, type BasicCredentials, type Principal } from "./basic-auth";
import { BackupJobs, type BackupJobsOptions } from "./backup-jobs";
import { backupHandlers } from "./handlers";

export interface ScriptAgentOptions extends BackupJobsOptions {
  credentials: BasicCredentials;
  /** Check every reply against the spec (tests ask; a broken one becomes a 500). */
  validateResponses?: boolean;
}

export function createScriptAgentApp(options: ScriptAgentOptions) {
  const jobs = new BackupJobs(options);
  const router = createScriptAgentRouter<Principal>(backupHandlers(jobs), {
    authenticate: createBasicAuthenticate(options.credentials),
    validateResponses: options.validateResponses ?? process.env.NODE_ENV !== "production",
  });
  const app = express();
  app.disable("x-powered-by");
  app.use(router);
  return { app, jobs, ready: router.ready };
}
