/** Where the released contracts live, relative to the project root (the config's folder). */
export const BASELINE_DIR = "openapi/baseline";
