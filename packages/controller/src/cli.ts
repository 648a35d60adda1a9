import { Command } from "commander";
import { envName, resolveConfig, SETTINGS } from "./config/controller-config";
import { startController } from "./controller-server";

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

program.parseAsync().catch((error: unknown) => {
  console.error(`stowage-controller: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
});
