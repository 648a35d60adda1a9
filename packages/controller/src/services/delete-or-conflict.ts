import { ApiError } from "@stowage/server-runtime";

/**
 * Runs a delete; a table of another part of the controller that still references the row (a
 * foreign key without ON DELETE) makes it a 409 rather than a 500.
 */
export function deleteOrConflict(remove: () => void, subject: Record<string, string>): void {
  try {
    remove();
  } catch (error) {
    if ((error as { code?: unknown }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") {
      throw new ApiError(409, "resource.conflict", "Other records still refer to it.", {
        subject,
      });
    }
    throw error;
  }
}
