import { GraphQLError, type ExecutionArgs } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { WebSocketServer } from 'ws';
import type { YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../logger.js';

type Enveloped = ReturnType<YogaServerInstance<object, object>['getEnveloped']>;

/**
 * graphql-ws (subprotocol graphql-transport-ws) on the HTTP port and path.
 * Each operation goes through Yoga's envelop, so validation codes, error
 * masking and context are the same as over HTTP and SSE.
 */
export function attachGraphqlWs(wss: WebSocketServer, yoga: YogaServerInstance<any, any>, logger: Logger): void {
  useServer(
    {
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        const enveloped: Enveloped = yoga.getEnveloped({ ...ctx, req: ctx.extra.request, socket: ctx.extra.socket, params: payload });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) {
            return [new GraphQLError(error.message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
          }
          throw error;
        }
        const args: ExecutionArgs = {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: enveloped,
        };
        const errors = enveloped.validate(args.schema, args.document);
        return errors.length > 0 ? errors : args;
      },
      onError: (_ctx, id, _payload, errors) => {
        logger.debug('websocket operation failed', { id, errors: errors.map((e) => e.message) });
      },
    },
    wss,
  );
}
