import { isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_TYPES } from '../../src/schema/builder.js';
import { schema } from '../../src/graphql.js';
import { createRun, startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const NODE = `query($id: ID!) { node(id: $id) { __typename id } }`;
const encode = (text: string) => Buffer.from(text).toString('base64url');

describe('Relay node(id:)', () => {
  it('knows exactly the types that implement Node', () => {
    const node = schema.getType('Node');
    const implementations = Object.values(schema.getTypeMap()).filter((t) => isObjectType(t) && t.getInterfaces().includes(node as never));
    expect(new Set(implementations.map((t) => t.name))).toEqual(NODE_TYPES);
  });

  it('loads a run, a step and an event by the ids the mutations return', async () => {
    const runId = await createRun(server);
    await server.gql(`mutation($id: ID!) { startRun(input: {id: $id}) { run { id } } }`, { id: runId });
    const step = await server.gql(`mutation($id: ID!) { startStep(input: {runId: $id, toolId: "t"}) { step { id } } }`, { id: runId });
    const note = await server.gql(`mutation($id: ID!) { addRunNote(input: {runId: $id, message: "m"}) { event { id } } }`, { id: runId });
    const ids = { Run: runId, StepAttempt: step.data.startStep.step.id, RunEvent: note.data.addRunNote.event.id };
    for (const [typename, id] of Object.entries(ids)) {
      expect((await server.gql(NODE, { id })).data.node).toEqual({ __typename: typename, id });
    }
  });

  it('answers null for an id of a node that does not exist, BAD_USER_INPUT for one that is no id', async () => {
    expect(await server.gql(NODE, { id: encode('Run:01ARZ3NDEKTSV4RRFFQ69G5FAV') })).toEqual({ data: { node: null } });
    for (const id of ['abc', encode('Foo:01ARZ3NDEKTSV4RRFFQ69G5FAV'), encode('Run:')]) {
      const res = await server.gql(NODE, { id });
      expect(res.errors?.[0]?.extensions, id).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    }
  });
});
