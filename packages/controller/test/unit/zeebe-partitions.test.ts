import {
  partsOf,
  zeebeManifest,
  zeebeOutcome,
  type ZeebeBackupInfo,
  type ZeebeOutcome,
} from "../../src/services/drivers/zeebe-partitions";

type State = ZeebeBackupInfo["state"];

function info(states: State[], failureReason = "disk full"): ZeebeBackupInfo {
  return {
    backupId: 7,
    state: "IN_PROGRESS",
    details: states.map((state, index) => ({
      partitionId: index + 1,
      state,
      failureReason: state === "FAILED" ? failureReason : "",
      brokerVersion: "8.5.0",
    })),
  };
}

describe("zeebeOutcome", () => {
  const cases: [string, State[], ZeebeOutcome][] = [
    ["no partition has answered yet", [], { state: "running" }],
    ["every partition COMPLETED", ["COMPLETED", "COMPLETED"], { state: "completed" }],
    ["one still IN_PROGRESS", ["COMPLETED", "IN_PROGRESS"], { state: "running" }],
    ["one not started (DOES_NOT_EXIST)", ["DOES_NOT_EXIST", "COMPLETED"], { state: "running" }],
    [
      "one FAILED, whatever the others",
      ["IN_PROGRESS", "FAILED"],
      { state: "failed", reason: "partition 2 failed: disk full" },
    ],
    [
      "one INCOMPATIBLE",
      ["COMPLETED", "INCOMPATIBLE"],
      {
        state: "failed",
        reason: "partition 2 is INCOMPATIBLE: its broker (8.5.0) cannot take this backup",
      },
    ],
  ];
  it.each(cases)("%s", (_name, states, want) => {
    expect(zeebeOutcome(info(states))).toEqual(want);
  });

  it("falls back to the backup's reason when the partition gives none", () => {
    const failed = { ...info(["FAILED"], ""), failureReason: "broker 0 lost its store" };
    expect(zeebeOutcome(failed)).toEqual({
      state: "failed",
      reason: "partition 1 failed: broker 0 lost its store",
    });
  });
});

describe("zeebeManifest", () => {
  it("spans the partitions' times and names one part per partition, by id", () => {
    const backup: ZeebeBackupInfo = {
      backupId: 3,
      state: "COMPLETED",
      details: [
        {
          partitionId: 2,
          state: "COMPLETED",
          failureReason: "",
          createdAt: "2022-09-15T13:10:38.20493Z",
          lastUpdatedAt: "2022-09-15T13:10:39.77218Z",
          snapshotId: "131082344-41-413893017-413892140",
          checkpointPosition: 11,
          brokerId: 1,
          brokerVersion: "8.1.2",
        },
        {
          partitionId: 1,
          state: "COMPLETED",
          createdAt: "2022-09-15T13:10:38.176514094Z",
          lastUpdatedAt: "2022-09-15T13:10:39.481921Z",
          brokerVersion: "8.1.2",
        },
      ],
    };
    const manifest = zeebeManifest("http://gateway:9600/actuator/backups/", backup, "unused");
    expect(manifest).toMatchObject({
      location: "http://gateway:9600/actuator/backups/3",
      started_at: "2022-09-15T13:10:38.176Z",
      finished_at: "2022-09-15T13:10:39.772Z",
      sha256: "",
      metadata: { engine: "zeebe", engine_version: "8.1.2", zeebe_backup_id: 3, partitions: 2 },
    });
    expect(partsOf(backup)).toEqual([
      {
        name: "partition-1",
        state: "COMPLETED",
        failure_reason: null,
        created_at: "2022-09-15T13:10:38.176514094Z",
        updated_at: "2022-09-15T13:10:39.481921Z",
        details: { partition_id: 1, broker_version: "8.1.2" },
      },
      {
        name: "partition-2",
        state: "COMPLETED",
        failure_reason: null,
        created_at: "2022-09-15T13:10:38.20493Z",
        updated_at: "2022-09-15T13:10:39.77218Z",
        details: {
          partition_id: 2,
          snapshot_id: "131082344-41-413893017-413892140",
          checkpoint_position: 11,
          broker_id: 1,
          broker_version: "8.1.2",
        },
      },
    ]);
  });
});
