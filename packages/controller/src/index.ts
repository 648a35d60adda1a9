export { resolveConfig, type ControllerConfig } from "./config/controller-config";
export { startController, type RunningController } from "./controller-server";
