import { tmpdir } from "node:os";
import { createScriptAgentApp } from "./server";

/** Runs the agent from the environment; the password has no default, so none ships in code. */
function main(): void {
  const password = process.env.CLIENT_PASSWORD;
  const scriptsDir = process.env.SCRIPTS_DIR;
  if (!password || !scriptsDir) {
    console.error("set CLIENT_PASSWORD and SCRIPTS_DIR (a directory with one script per phase)");
    process.exitCode = 2;
    return;
  }
  const { app, jobs, ready } = createScriptAgentApp({
    credentials: { username: process.env.CLIENT_USERNAME ?? "admin", password },
    scriptsDir,
    workDir: process.env.WORK_DIR ?? tmpdir(),
    maxJobs: Number(process.env.MAX_JOB_NUMBER ?? 10),
    ...(process.env.STOP_GRACE_MS ? { stopGraceMs: Number(process.env.STOP_GRACE_MS) } : {}),
  });
  const host = process.env.HOST ?? "127.0.0.1";
  const port = Number(process.env.PORT ?? 8000);
  ready().then(
    () => {
      // Express 5 hands a listen error (EADDRINUSE, say) to this callback instead of throwing.
      const server = app.listen(port, host, (error?: Error) => {
        if (error) {
          console.error(`cannot listen on ${host}:${port}: ${error.message}`);
          process.exitCode = 1;
          return;
        }
        console.log(`script agent listening on http://${host}:${port}`);
      });
      // Scripts lead process groups of their own, which a terminal's Ctrl-C no longer reaches:
      // they are stopped here before the agent exits.
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        process.once(signal, () => {
          server.close();
          void jobs.close().then(() => process.exit(0));
        });
      }
    },
    (error: unknown) => {
      console.error("the router could not load the spec:", error);
      process.exitCode = 1;
    },
  );
}

main();
