import { aggregateBackupState, type BackupState } from "../src/services/backup-state";

describe("aggregateBackupState (Zeebe's rule)", () => {
  const cases: [string, BackupState[], BackupState][] = [
    ["no parts", [], "DOES_NOT_EXIST"],
    ["one completed part", ["COMPLETED"], "COMPLETED"],
    ["all completed", ["COMPLETED", "COMPLETED", "COMPLETED"], "COMPLETED"],
    ["a failed part wins over everything", ["COMPLETED", "INCOMPATIBLE", "FAILED"], "FAILED"],
    [
      "failed beside in progress and missing",
      ["IN_PROGRESS", "DOES_NOT_EXIST", "FAILED"],
      "FAILED",
    ],
    [
      "incompatible without failures",
      ["COMPLETED", "INCOMPATIBLE", "DOES_NOT_EXIST"],
      "INCOMPATIBLE",
    ],
    ["a missing part makes it incomplete", ["COMPLETED", "DOES_NOT_EXIST"], "INCOMPLETE"],
    ["every part missing is incomplete", ["DOES_NOT_EXIST", "DOES_NOT_EXIST"], "INCOMPLETE"],
    ["missing beside in progress", ["IN_PROGRESS", "DOES_NOT_EXIST"], "INCOMPLETE"],
    ["in progress beside completed", ["COMPLETED", "IN_PROGRESS"], "IN_PROGRESS"],
    ["all in progress", ["IN_PROGRESS", "IN_PROGRESS"], "IN_PROGRESS"],
    ["an aggregated INCOMPLETE part counts as neither", ["COMPLETED", "INCOMPLETE"], "IN_PROGRESS"],
  ];
  it.each(cases)("%s", (_name, states, want) => {
    expect(aggregateBackupState(states.map((state) => ({ state })))).toBe(want);
  });
});
