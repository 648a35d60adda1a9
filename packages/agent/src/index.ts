// The library side of @stowage/agent: the pipelines, for embedding or for other agents to reuse.
export {
  takeBackup,
  type BackupDeployment,
  type BackupRequest,
  type ResultManifest,
} from "./pipelines/backup";
export { restoreBackup, type RestoreRequest } from "./pipelines/restore";
export { verifyBackup } from "./pipelines/verify";
export { ChecksumMismatchError, type BackupRef } from "./pipelines/stored-backup";
export { createDecryptStream, createEncryptStream } from "./crypto/encrypt-stream";
export { enrollAgent, type EnrollOptions } from "./enroll";
export { runJobLoop, type JobRunnerDeps } from "./job-runner";
