import { Command } from "commander";
import { envName, resolveConfig, SETTINGS } from "./config/controller-config";
import { startController } from "./controller-server";
import { SigningKeyRing } from "./services/signing-keys";

const program = new Command()
  .name("stowage-controller")
  .description("The reference stowage controller.");

const serve = program
  .command("serve", { isDefault: true })
  .description("Start the controller (migrates the database first)")
  .option("-c, --config <file>", "YAML or JSON config file (env STOWAGE_CONFIG)");
for (const setting of SETTINGS) {
  const fallback = "default" in setting ? `; default ${setting.default}` : "";
  serve.option(setting.flag, `${setting.help} (env ${envName(setting.key)}${fallback})`);
}
serve.addHelpText(
  "after",
  "\nPrecedence: flags, then STOWAGE_* environment, then the config file, then defaults.",
);
serve.action(async (flags: Record<string, string | undefined>) => {
  const config = resolveConfig(flags, process.env, process.cwd());
  const controller = await startController(config);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      controller.logger.info({ signal }, "shutting down");
      void controller.close().then(() => process.exit(0));
    });
  }
});

program
  .command("rotate-key")
  .description(
    "Make a new token signing key; older keys keep verifying until their last token expires",
  )
  .option("-c, --config <file>", "YAML or JSON config file (env STOWAGE_CONFIG)")
  .option("--data-dir <dir>", `where the database and keys live (env ${envName("dataDir")})`)
  .option(
    "--access-token-lifetime-seconds <s>",
    `how long tokens live: retired keys are kept that long (env ${envName("accessTokenLifetimeSeconds")})`,
  )
  .action((flags: Record<string, string | undefined>) => {
    const config = resolveConfig(flags, process.env, process.cwd());
    const now = new Date();
    // A few seconds beyond the lifetime: tokens are verified with a small clock tolerance.
    const keepMs = (config.accessTokenLifetimeSeconds + 60) * 1000;
    const { created, removed } = new SigningKeyRing(config.dataDir).rotate(now, keepMs);
    console.log(`new signing key ${created.kid}; a running controller signs with it from now on`);
    for (const kid of removed) console.log(`removed ${kid}: every token it signed has expired`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`stowage-controller: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
