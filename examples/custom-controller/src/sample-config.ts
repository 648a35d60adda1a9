import type { ConfigTemplate } from "./store";

/**
 * One MySQL database dumped nightly to a local folder: small enough to say in both versions. The
 * v1 document is what databacker/mysql-backup reads, the v2 one what the stowage agent reads.
 */
export const sampleConfig: ConfigTemplate = {
  v1: {
    version: "config.databack.io/v1",
    kind: "local",
    metadata: { name: "orders-db", description: "Nightly dump of the orders database" },
    spec: {
      database: {
        server: "db.internal",
        port: 3306,
        credentials: { username: "backup", password: "example-db-pass" },
      },
      dump: { include: ["orders"], schedule: { cron: "15 1 * * *" }, targets: ["primary"] },
      prune: { retention: "30d" },
      targets: { primary: { type: "file", url: "file:///var/backups/orders" } },
    },
  },
  v2: {
    version: "config.stowage.io/v2",
    metadata: { name: "orders-db", description: "Nightly dump of the orders database" },
    jobs: { enabled: false },
    deployments: [
      {
        name: "orders-db",
        kind: "mysql",
        connection: {
          host: "db.internal",
          port: 3306,
          username: "backup",
          password: "example-db-pass",
          databases: { include: ["orders"] },
        },
        schedules: [{ cron: "15 1 * * *", time_zone: "UTC" }],
        targets: [{ type: "file", name: "primary", path: "/var/backups/orders" }],
        retention: { keep_daily: 30 },
        compression: { algorithm: "gzip" },
      },
    ],
  },
};
