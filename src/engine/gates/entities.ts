import { EntitySchema } from '@mikro-orm/core';
import { ulidPrimaryKey as ulid } from '../db/columns.js';

export type GateType = 'unit_tests' | 'integration_tests' | 'e2e_tests' | 'security_scan' | 'lint' | 'custom';
export type GateState = 'pending' | 'running' | 'passed' | 'failed' | 'error' | 'skipped';

export interface GateCriteria {
  min_coverage?: number;
  max_failures?: number;
  required_tests: string[];
  timeout_seconds?: number;
  custom_rules?: Record<string, unknown>;
}

export interface GateExecution {
  started_at: string;
  completed_at?: string;
  duration_seconds?: number;
  command?: string;
  exit_code?: number;
}

export interface GateResults {
  total_tests: number;
  passed_tests: number;
  failed_tests: number;
  skipped_tests: number;
  coverage_percent?: number;
  failures: { test: string; message: string }[];
  /** Every test that ran (the gateway's addition): required tests are judged against it. */
  test_names?: string[];
}

export interface GateDecision {
  passed: boolean;
  reason: string;
  criteria_met: { coverage?: boolean; failures?: boolean; required_tests?: boolean };
}

/** A test gate (docs/domain.md#test-gates). */
export interface TestGate {
  id: string;
  name: string;
  type: GateType;
  state: GateState;
  projectId?: string | null;
  runId?: string | null;
  executionRequestId?: string | null;
  criteria: GateCriteria;
  execution?: GateExecution | null;
  results?: GateResults | null;
  decision?: GateDecision | null;
  /** Why a gate ended in error: its command's exit code, or the timeout. */
  errorMessage?: string | null;
  /** While running with a timeout: when the timeout job ends it in error. */
  deadlineAt?: Date | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
  updatedAt: Date;
}

export const TestGateSchema = new EntitySchema<TestGate>({
  name: 'TestGate',
  tableName: 'test_gate',
  properties: {
    id: ulid,
    name: { type: 'string', length: 200 },
    type: { type: 'string', length: 20 },
    state: { type: 'string', length: 10 },
    projectId: { type: 'string', length: 200, nullable: true },
    runId: { kind: 'm:1', entity: 'Run', mapToPk: true, fieldName: 'run_id', nullable: true, deleteRule: 'cascade', index: false },
    executionRequestId: { type: 'string', length: 200, nullable: true },
    criteria: { type: 'json' },
    execution: { type: 'json', nullable: true },
    results: { type: 'json', nullable: true },
    decision: { type: 'json', nullable: true },
    errorMessage: { type: 'text', nullable: true },
    deadlineAt: { type: 'Date', nullable: true },
    metadata: { type: 'json' },
    createdAt: { type: 'Date' },
    updatedAt: { type: 'Date' },
  },
  indexes: [
    { name: 'test_gate_run_id_id_idx', properties: ['runId', 'id'] },
    { name: 'test_gate_project_id_id_idx', properties: ['projectId', 'id'] },
    { name: 'test_gate_state_id_idx', properties: ['state', 'id'] },
    { name: 'test_gate_deadline_at_idx', properties: ['deadlineAt'] },
  ],
});

export const gateEntities = [TestGateSchema];
