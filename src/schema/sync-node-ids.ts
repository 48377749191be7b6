import SchemaBuilder, { BasePlugin, type PothosOutputFieldConfig, type SchemaTypes } from '@pothos/core';
import type { GraphQLFieldResolver } from 'graphql';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Pothos finds its plugins by merging into this global namespace.
  export namespace PothosSchemaTypes {
    interface Plugins<Types extends SchemaTypes> {
      syncNodeIds: SyncNodeIdsPlugin<Types>;
    }
  }
}

type Resolver = GraphQLFieldResolver<unknown, unknown>;

/**
 * The relay plugin resolves the `id` of every Node type with an async
 * function: each run or step on a page then answers through a promise, and
 * the executor settles every object of the page asynchronously (a page of 20
 * runs with their steps: hundreds of promises). This plugin gives those
 * fields a resolver that encodes the id as it is read, the same way
 * (encodeGlobalID), and still through the promise when the node's own id
 * resolver returns one. Other plugins (scope-auth) wrap it as before.
 */
export class SyncNodeIdsPlugin<Types extends SchemaTypes> extends BasePlugin<Types> {
  override onOutputFieldConfig(fieldConfig: PothosOutputFieldConfig<Types>): PothosOutputFieldConfig<Types> {
    if (fieldConfig.name !== 'id' || fieldConfig.kind !== 'Object') return fieldConfig;
    const type = this.buildCache.getTypeConfig(fieldConfig.parentType);
    const idOf = (type.pothosOptions as { id?: { resolve?: Resolver } }).id?.resolve;
    const encode = this.builder.options.relay?.encodeGlobalID;
    if (type.kind !== 'Object' || !idOf || !encode) return fieldConfig;
    const typename = type.name;
    return {
      ...fieldConfig,
      resolve: (parent, args, context, info) => {
        const id: unknown = idOf(parent, args, context, info);
        return id instanceof Promise ? id.then((settled) => encode(typename, String(settled), context)) : encode(typename, String(id), context);
      },
    };
  }
}

SchemaBuilder.registerPlugin('syncNodeIds', SyncNodeIdsPlugin);
