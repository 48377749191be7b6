/** Scope sets shared by root fields (a field lists any one of them: `$any` is the default). */
export const OPERATE = { operate: true } as const;
/** Reports a worker may make as well as an operator (steps; later patches, gate results, costs). */
export const REPORT = { operate: true, worker: true } as const;
export const ADMIN = { admin: true } as const;
