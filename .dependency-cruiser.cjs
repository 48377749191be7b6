// The dependency rules of src/ (npm run lint:deps). The engine's modules form
// one written order (docs/architecture.md): a module imports only the modules
// before it. src/engine/database.ts (the entity list) and src/engine/index.ts
// (createEngine) wire every module together and sit above them all.

/** The engine's modules, lowest first. */
const MODULE_ORDER = ['db', 'core', 'auth', 'contracts', 'budgets', 'runs', 'routing', 'workstreams', 'workers', 'costs', 'gates', 'patches'];

const ENGINE_TOP = '^src/engine/(index|database)\\.ts$';

/** One rule per module: nothing later in the order, and not the wiring above the modules. */
const moduleOrder = MODULE_ORDER.map((module, i) => ({
  name: `module-order-${module}`,
  comment: `src/engine/${module} may import only ${MODULE_ORDER.slice(0, i).join(', ') || 'no other module'} (the module order).`,
  severity: 'error',
  from: { path: `^src/engine/${module}/` },
  to: { path: [...MODULE_ORDER.slice(i + 1).map((later) => `^src/engine/${later}/`), ENGINE_TOP] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere in src/ (type-only imports count).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'engine-stands-alone',
      comment: 'The engine knows nothing of GraphQL, the server, the CLI, the configuration or the logger.',
      severity: 'error',
      from: { path: '^src/engine/' },
      to: { path: '^src/(schema|resolvers|server|cli)/|^src/(graphql|config|logger|main|request-context)\\.ts$' },
    },
    {
      name: 'schema-before-resolvers',
      comment: 'src/schema declares the types; the root fields in src/resolvers and the assembly in src/graphql.ts build on it, never the reverse.',
      severity: 'error',
      from: { path: '^src/schema/' },
      to: { path: '^src/(resolvers|server|cli)/|^src/(graphql|main)\\.ts$' },
    },
    {
      name: 'resolvers-below-server',
      comment: 'Root fields do not reach into the server or the CLI.',
      severity: 'error',
      from: { path: '^src/resolvers/' },
      to: { path: '^src/(server|cli)/|^src/(graphql|main)\\.ts$' },
    },
    {
      name: 'worker-is-a-client',
      comment:
        'src/worker talks to the gateway through its public GraphQL API only (a client another team could copy): nothing of the engine, the schema, the resolvers, the server, the CLI or the configuration.',
      severity: 'error',
      from: { path: '^src/worker/' },
      to: { path: '^src/(engine|schema|resolvers|server|cli)/|^src/[^/]+\\.ts$' },
    },
    {
      name: 'only-the-worker-command-imports-the-worker',
      comment: 'The worker is a command of the CLI (src/cli/worker.ts); the gateway never loads it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(worker/|cli/worker\\.ts$)' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'engine-folder-in-order',
      comment: 'Every engine folder is a module named in MODULE_ORDER.',
      severity: 'error',
      from: { path: '^src/engine/[^/]+/', pathNot: `^src/engine/(${MODULE_ORDER.join('|')})/` },
      to: {},
    },
    ...moduleOrder,
  ],
  options: {
    includeOnly: '^src/',
    // Type-only imports are dependencies too.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['es6'],
  },
};
