/**
 * The scopes of fields that read beyond one task: a run's event log and
 * steps (prompts included), other tasks, a whole workstream. A WORKER-only
 * token has no `read` scope, yet its mutation payloads hand it object types
 * (claimTask's task, the task's run, the step or patch it reported): it
 * keeps what its task needs to do its work (the task with its payload and
 * execution request, its run's id, state and metadata, what it reported)
 * and nothing else. A check of the token's scopes, no query; the server
 * refuses an operation that selects such a field before it runs
 * (server/field-scopes.ts), so that no mutation commits with a payload its
 * caller may not read.
 */
export const BEYOND_TASK = { read: true, operate: true } as const;

/** Appended to the description of each such field. */
export const BEYOND_TASK_NOTE = 'Needs the read or operate scope (a WORKER-only token is FORBIDDEN to select it).';
