import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';
import type { Breaker } from '../routing/circuit-breaker.js';
import type { RouterConfig } from '../routing/router.js';

/** A router_config as set; the newest row is the one in force. */
export interface RouterConfigRow {
  id: string;
  config: RouterConfig;
  createdAt: Date;
}

/** What the engine has measured of one tool: its breaker, outcomes and recent latencies. */
export interface ToolState {
  toolId: string;
  breaker: Breaker;
  successes: number;
  failures: number;
  /** The latest durations in ms (at most LATENCY_SAMPLES), for the median. */
  latencies: number[];
  /** Tasks routed to it that are leased now. */
  inFlight: number;
  updatedAt: Date;
}

/** A round_robin rule's rotation, kept so that it survives a restart. */
export interface RouteRotation {
  ruleKey: string;
  counter: number;
}

export const RouterConfigSchema = new EntitySchema<RouterConfigRow>({
  name: 'RouterConfigRow',
  tableName: 'router_config',
  properties: {
    id: ulid,
    config: { type: 'json' },
    createdAt: { type: 'Date' },
  },
});

export const ToolStateSchema = new EntitySchema<ToolState>({
  name: 'ToolState',
  tableName: 'tool_state',
  properties: {
    toolId: { type: 'string', length: 200, primary: true },
    breaker: { type: 'json' },
    successes: { type: 'integer', default: 0 },
    failures: { type: 'integer', default: 0 },
    latencies: { type: 'json' },
    inFlight: { type: 'integer', default: 0 },
    updatedAt: { type: 'Date' },
  },
});

export const RouteRotationSchema = new EntitySchema<RouteRotation>({
  name: 'RouteRotation',
  tableName: 'route_rotation',
  properties: {
    ruleKey: { type: 'string', length: 200, primary: true },
    counter: { type: 'integer' },
  },
});

export const routingEntities = [RouterConfigSchema, ToolStateSchema, RouteRotationSchema];
