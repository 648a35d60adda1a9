import type { BackupState } from "../src/services/backup-state";
import {
  backupsToPrune,
  type RetentionCandidate,
  type RetentionPolicy,
} from "../src/services/retention";

/** `b(7, "2026-04-29T02:00:00Z")`: backup 7, COMPLETED at that time, full, not held. */
function b(
  sequence: number,
  at: string,
  extra: Partial<Omit<RetentionCandidate, "sequence" | "at">> = {},
): RetentionCandidate {
  return {
    id: `b${sequence}`,
    sequence,
    parentId: null,
    state: "COMPLETED" as BackupState,
    held: false,
    at,
    ...extra,
  };
}

/** One completed backup a day, newest last, from 2026-04-01 (a Wednesday). */
const daily = Array.from({ length: 40 }, (_, index) =>
  b(index + 1, new Date(Date.UTC(2026, 3, 1 + index, 2)).toISOString()),
);

describe("backupsToPrune", () => {
  const cases: {
    name: string;
    given: RetentionCandidate[];
    policy: RetentionPolicy;
    want: string[];
  }[] = [
    {
      name: "an empty policy keeps everything",
      given: daily.slice(0, 5),
      policy: {},
      want: [],
    },
    {
      name: "keep_last keeps the N newest by sequence",
      given: [
        b(1, "2026-04-01T00:00:00Z"),
        b(2, "2026-04-02T00:00:00Z"),
        b(3, "2026-04-03T00:00:00Z"),
      ],
      policy: { keep_last: 2 },
      want: ["b1"],
    },
    {
      name: "keep_last 0 with no other rule prunes every completed backup",
      given: [b(1, "2026-04-01T00:00:00Z"), b(2, "2026-04-02T00:00:00Z")],
      policy: { keep_last: 0 },
      want: ["b2", "b1"],
    },
    {
      name: "keep_daily keeps the newest backup of each of the last N days that have one",
      given: [
        b(1, "2026-04-01T01:00:00Z"),
        b(2, "2026-04-01T13:00:00Z"),
        b(3, "2026-04-03T01:00:00Z"),
        b(4, "2026-04-03T13:00:00Z"),
        b(5, "2026-04-04T01:00:00Z"),
      ],
      policy: { keep_daily: 2 },
      want: ["b3", "b2", "b1"],
    },
    {
      name: "keep_weekly buckets by ISO week (Monday starts a week)",
      given: [
        b(1, "2026-04-05T10:00:00Z"), // Sunday, week 14
        b(2, "2026-04-06T10:00:00Z"), // Monday, week 15
        b(3, "2026-04-12T10:00:00Z"), // Sunday, week 15
        b(4, "2026-04-13T10:00:00Z"), // Monday, week 16
      ],
      policy: { keep_weekly: 2 },
      want: ["b2", "b1"],
    },
    {
      name: "keep_monthly buckets by calendar month",
      given: [
        b(1, "2026-02-27T10:00:00Z"),
        b(2, "2026-03-01T10:00:00Z"),
        b(3, "2026-03-31T10:00:00Z"),
        b(4, "2026-04-02T10:00:00Z"),
      ],
      policy: { keep_monthly: 2 },
      want: ["b2", "b1"],
    },
    {
      name: "rules add up: a backup kept by any rule is kept",
      given: daily,
      policy: { keep_last: 3, keep_weekly: 2, keep_monthly: 2 },
      // Last 3: 40, 39, 38 (May 8-10). Weeks: May 10 (Sunday, week 19), May 3 (week 18).
      // Months: May 10, April 30 (sequence 30).
      want: daily
        .filter((backup) => ![40, 39, 38, 33, 30].includes(backup.sequence))
        .map((backup) => backup.id)
        .reverse(),
    },
    {
      name: "a held backup is never pruned",
      given: [
        b(1, "2026-04-01T00:00:00Z", { held: true }),
        b(2, "2026-04-02T00:00:00Z"),
        b(3, "2026-04-03T00:00:00Z"),
      ],
      policy: { keep_last: 1 },
      want: ["b2"],
    },
    {
      name: "only COMPLETED backups are pruned",
      given: [
        b(1, "2026-04-01T00:00:00Z", { state: "FAILED" }),
        b(2, "2026-04-02T00:00:00Z", { state: "INCOMPLETE" }),
        b(3, "2026-04-03T00:00:00Z"),
        b(4, "2026-04-04T00:00:00Z", { state: "IN_PROGRESS" }),
      ],
      policy: { keep_last: 0 },
      want: ["b3"],
    },
    {
      name: "a kept incremental keeps its whole chain",
      given: [
        b(1, "2026-04-01T00:00:00Z"),
        b(2, "2026-04-02T00:00:00Z", { parentId: "b1" }),
        b(3, "2026-04-03T00:00:00Z", { parentId: "b2" }),
        b(4, "2026-04-04T00:00:00Z"),
        b(5, "2026-04-05T00:00:00Z", { parentId: "b4" }),
      ],
      policy: { keep_last: 1 },
      want: ["b3", "b2", "b1"],
    },
    {
      name: "an incremental still being written keeps its parent",
      given: [
        b(1, "2026-04-01T00:00:00Z"),
        b(2, "2026-04-02T00:00:00Z"),
        b(3, "2026-04-03T00:00:00Z", { parentId: "b1", state: "IN_PROGRESS" }),
      ],
      policy: { keep_last: 1 },
      want: [],
    },
    {
      name: "a held incremental keeps its parents",
      given: [
        b(1, "2026-04-01T00:00:00Z"),
        b(2, "2026-04-02T00:00:00Z", { parentId: "b1", held: true }),
        b(3, "2026-04-03T00:00:00Z"),
      ],
      policy: { keep_last: 1 },
      want: [],
    },
  ];

  it.each(cases)("$name", ({ given, policy, want }) => {
    expect(backupsToPrune(given, policy)).toEqual(want);
  });

  it("does not depend on the order it is given the backups in", () => {
    const shuffled = [...daily].sort(
      (a, c) => ((a.sequence * 7919) % 41) - ((c.sequence * 7919) % 41),
    );
    expect(backupsToPrune(shuffled, { keep_daily: 5 })).toEqual(
      backupsToPrune(daily, { keep_daily: 5 }),
    );
  });
});
