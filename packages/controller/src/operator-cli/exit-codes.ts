/** DESIGN section 4 (from pg_hardstorage): the exit code for each HTTP status, shared by the CLIs. */
const EXIT_BY_STATUS: Record<number, number> = {
  200: 0,
  201: 0,
  202: 0,
  204: 0,
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

export function exitCodeForStatus(status: number): number {
  if (status >= 200 && status < 300) return 0;
  return EXIT_BY_STATUS[status] ?? (status >= 500 ? 1 : 2);
}

/** A failed verification that the server answered with 200 (e.g. a broken audit chain) exits as a 422 would. */
export const VERIFY_FAILED_EXIT = EXIT_BY_STATUS[422];
/** The CLI could not reach the server at all. */
export const UNREACHABLE_EXIT = 8;
