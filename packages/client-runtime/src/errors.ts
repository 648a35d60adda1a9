/** A non-2xx answer, with its status, parsed error body and the response itself. */
export class StowageApiError<Body = unknown> extends Error {
  constructor(
    readonly status: number,
    readonly body: Body,
    readonly response: Response,
    readonly requestId: string | undefined,
  ) {
    super(
      `${response.url ? `${new URL(response.url).pathname}: ` : ""}HTTP ${status}${describe(body)}`,
    );
    this.name = "StowageApiError";
  }
}

function describe(body: unknown): string {
  if (!body || typeof body !== "object") return "";
  const record = body as { message?: unknown; error?: { code?: unknown; message?: unknown } };
  if (record.error && typeof record.error.message === "string") {
    return ` ${String(record.error.code ?? "")}: ${record.error.message}`.trimEnd();
  }
  return typeof record.message === "string" ? `: ${record.message}` : "";
}

/** Reads an error body as JSON when it is JSON, as text otherwise; never throws. */
export async function readErrorBody(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => "");
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
