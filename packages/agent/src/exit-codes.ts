import { StowageApiError } from "@stowage/agent-client";
import { NotEnrolledError } from "./agent-state";

/** DESIGN section 4 (from pg_hardstorage): the exit code for each HTTP status. */
const EXIT_BY_STATUS: Record<number, number> = {
  400: 2,
  401: 3,
  403: 3,
  404: 6,
  409: 7,
  412: 4,
  422: 9,
  503: 8,
  500: 1,
};

/** The controller could not be reached at all (as a 503 would exit). */
const UNREACHABLE_EXIT = 8;

/** The exit code of a command that failed with `error`. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof StowageApiError) {
    return EXIT_BY_STATUS[error.status] ?? (error.status >= 500 ? 1 : 2);
  }
  // Not enrolled is a failed precondition of the command, as a 412 is.
  if (error instanceof NotEnrolledError) return EXIT_BY_STATUS[412];
  // fetch fails with a TypeError ("fetch failed") when nothing answers.
  if (error instanceof TypeError && /fetch failed/.test(error.message)) return UNREACHABLE_EXIT;
  return 1;
}
