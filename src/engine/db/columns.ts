/** The primary key of every entity named by a ULID (26 characters; ids sort by creation time). */
export const ulidPrimaryKey = { type: 'string', length: 26, primary: true } as const;
