import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { BaseResolver, ResolveError, Source } from "@redocly/openapi-core";

const run = promisify(execFile);

/**
 * Reads a spec and every file it references as they are at a git commit, straight from the
 * object store: no checkout, no temp tree, and the working tree is never touched.
 */
export class GitResolver extends BaseResolver {
  constructor(
    private readonly repository: string,
    private readonly ref: string,
  ) {
    super();
  }

  override async loadExternalRef(absoluteRef: string): Promise<Source> {
    const relative = path.relative(this.repository, absoluteRef).split(path.sep).join("/");
    try {
      const { stdout } = await run("git", ["show", `${this.ref}:${relative}`], {
        cwd: this.repository,
        maxBuffer: 256 * 1024 * 1024,
      });
      return new Source(absoluteRef, stdout.replace(/\r\n/g, "\n"));
    } catch (error) {
      throw new ResolveError(new Error(`${relative} is not in ${this.ref}: ${gitMessage(error)}`));
    }
  }
}

/** The top folder of the repository `file` is in. */
export async function repositoryOf(file: string): Promise<string> {
  try {
    const { stdout } = await run("git", ["rev-parse", "--show-toplevel"], {
      cwd: path.dirname(file),
    });
    return stdout.trim();
  } catch (error) {
    throw new Error(`${file} is not in a git repository: ${gitMessage(error)}`);
  }
}

/** Whether `file` exists at `ref` (a spec added since has no base to compare with). */
export async function existsAtRef(repository: string, ref: string, file: string): Promise<boolean> {
  const relative = path.relative(repository, file).split(path.sep).join("/");
  try {
    await run("git", ["cat-file", "-e", `${ref}:${relative}`], { cwd: repository });
    return true;
  } catch {
    return false;
  }
}

export async function verifyRef(repository: string, ref: string): Promise<void> {
  try {
    await run("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: repository });
  } catch {
    throw new Error(`git ref ${ref} is not a commit in ${repository}`);
  }
}

function gitMessage(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr;
  return typeof stderr === "string" && stderr.trim() !== "" ? stderr.trim() : String(error);
}
