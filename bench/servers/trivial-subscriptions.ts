/**
 * The fan-out benchmark's graphql-ws baseline: bare graphql-yoga with stock
 * graphql-ws (wired as bench/servers/bare-yoga.ts is, the way graphql-yoga's
 * example does), and trivial resolvers. Two subscriptions named and shaped
 * like the gateway's (`workerHeartbeats`, `runEvents`) yield, for each
 * published event, an object of about the size the gateway delivers; two
 * mutations publish one (`beat(progress:)`, `note(message:)`) through
 * graphql-yoga's in-memory pub/sub. Stock graphql-ws executes and serializes
 * each event once per subscriber: that is what this measures.
 * Prints {"url": ...} when listening; stops on SIGTERM.
 */
import { setMaxListeners } from 'node:events';
import { createPubSub, createSchema, createYoga } from 'graphql-yoga';
import { serveYoga } from './serve-yoga.js';

interface Beat {
  worker: { id: string; type: string; state: string };
  at: string;
  progress: number;
}
interface NoteEvent {
  id: string;
  kind: string;
  ts: string;
  cursor: string;
  payload: { message: string };
}

// One listener per subscriber: a thousand of them is the point, not a leak.
const eventTarget = new EventTarget();
setMaxListeners(0, eventTarget);
const pubsub = createPubSub<{ beat: [Beat]; note: [NoteEvent] }>({ eventTarget: eventTarget as never });
const WORKER = { id: 'V29ya2VyOjAxSlQ1WDlSWjZQUzRGM0QyMUhWN1c4TlFB', type: 'EXECUTOR', state: 'IDLE' };
let position = 0;

const yoga = createYoga({
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      scalar JSON
      type Worker {
        id: ID!
        type: String!
        state: String!
      }
      type WorkerHeartbeat {
        worker: Worker!
        at: String!
        progress: Float
      }
      type RunEvent {
        id: ID!
        kind: String!
        ts: String!
        cursor: String!
        payload: JSON!
      }
      type Query {
        ok: Boolean
      }
      type Mutation {
        beat(progress: Float!): Boolean
        note(runId: ID, message: String!): Boolean
      }
      type Subscription {
        workerHeartbeats(types: [String!]): WorkerHeartbeat!
        runEvents(runId: ID): RunEvent!
      }
    `,
    resolvers: {
      Query: { ok: () => true },
      Mutation: {
        beat: (_: unknown, { progress }: { progress: number }) => {
          pubsub.publish('beat', { worker: WORKER, at: new Date().toISOString(), progress });
          return true;
        },
        note: (_: unknown, { message }: { message: string }) => {
          position += 1;
          const ulid = `01JT5X9RZ6PS4F3D21HV${String(position).padStart(6, '0')}`;
          pubsub.publish('note', {
            id: Buffer.from(`RunEvent:${ulid}`).toString('base64url'),
            kind: 'NOTE',
            ts: new Date().toISOString(),
            cursor: Buffer.from(`01JT5X9RZ6PS4F3D21HV7W8NQA:${position}`).toString('base64url'),
            payload: { message },
          });
          return true;
        },
      },
      Subscription: {
        workerHeartbeats: { subscribe: () => pubsub.subscribe('beat'), resolve: (beat: Beat) => beat },
        runEvents: { subscribe: () => pubsub.subscribe('note'), resolve: (event: NoteEvent) => event },
      },
    },
  }),
  logging: false,
  landingPage: false,
  graphiql: false,
});
await serveYoga(yoga);
