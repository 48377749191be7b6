import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContractRegistry } from '../../src/engine/contracts/registry.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// docs/domain.md#data-contracts: the twenty contracts the gateway ships a JSON Schema for.
const CONTRACTS = [
  'doc-meta',
  'run_record',
  'step_attempt',
  'run_event',
  'patch_artifact',
  'patch_ledger_entry',
  'patch_policy',
  'prompt_instance',
  'execution_request',
  'router_config',
  'phase_spec',
  'workstream_spec',
  'task_spec',
  'project_profile',
  'profile_extension',
  'bootstrap_discovery',
  'bootstrap_report',
  'worker_lifecycle',
  'test_gate',
  'cost_record',
];

const fixture = (name: string, kind: 'valid' | 'invalid') => JSON.parse(readFileSync(new URL(`../fixtures/contracts/${name}.${kind}.json`, import.meta.url), 'utf8')) as unknown;

describe('JSON Schema contracts', () => {
  const registry = new ContractRegistry();

  it('ships exactly the twenty contracts, each a draft 2020-12 schema that compiles in strict mode', () => {
    const files = readdirSync(new URL('../../schema-json/', import.meta.url)).sort();
    expect(files).toEqual(CONTRACTS.map((c) => `${c}.v1.json`).sort());
    expect(
      registry
        .list()
        .map((c) => c.name)
        .sort(),
    ).toEqual([...CONTRACTS].sort());
    for (const contract of registry.list()) {
      expect(contract.schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(contract.id).toBe(`urn:uet-gateway:contract:${contract.name}:v1`);
    }
  });

  it.each(CONTRACTS)('%s accepts its valid sample and refuses its invalid one', (name) => {
    expect(registry.validate(name, fixture(name, 'valid'))).toEqual({ valid: true, errors: [] });
    const invalid = registry.validate(name, fixture(name, 'invalid'));
    expect(invalid.valid).toBe(false);
    expect(invalid.errors.length).toBeGreaterThan(0);
  });

  it('refuses an unknown contract name', () => {
    expect(() => registry.validate('nope', {})).toThrow(/unknown contract/);
  });
});

describe('contracts over GraphQL', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it('lists the contracts with their schemas', async () => {
    const res = await server.gql(`{ contracts { name id title schema } }`);
    expect(res.data.contracts).toHaveLength(20);
    expect(res.data.contracts.find((c: { name: string }) => c.name === 'run_record').schema.$id).toBe('urn:uet-gateway:contract:run_record:v1');
  });

  it('validates documents and names the failing paths', async () => {
    const query = `query($c: String!, $d: JSON!) { validateDocument(contract: $c, document: $d) { valid errors { path message } } }`;
    const ok = await server.gql(query, { c: 'workstream_spec', d: fixture('workstream_spec', 'valid') });
    expect(ok.data.validateDocument).toEqual({ valid: true, errors: [] });
    const bad = await server.gql(query, { c: 'cost_record', d: fixture('cost_record', 'invalid') });
    expect(bad.data.validateDocument.valid).toBe(false);
    expect(bad.data.validateDocument.errors[0]).toMatchObject({ path: expect.stringMatching(/^\//), message: expect.any(String) });
    const unknown = await server.gql(query, { c: 'nope', d: {} });
    expect(unknown.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'contract' });
  });
});
