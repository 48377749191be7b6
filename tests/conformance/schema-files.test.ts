import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrateDatabase } from '../../src/engine/db/orm.js';
import { openDatabase } from '../../src/engine/database.js';
import { REPORT_ACCESS_SQL } from '../../src/engine/auth/report-access.js';
import { printGatewaySchema } from '../../src/graphql.js';

describe('checked-in artefacts', () => {
  it('schema.graphql matches the schema the code builds (run `npm run schema` after changing it)', () => {
    const checkedIn = readFileSync(new URL('../../schema.graphql', import.meta.url), 'utf8');
    expect(checkedIn).toBe(printGatewaySchema());
  });

  it('the migrations build exactly the database the entities describe', async () => {
    const orm = await openDatabase({ sqlitePath: ':memory:' });
    try {
      await migrateDatabase(orm);
      const drift = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(drift.trim()).toBe('');
    } finally {
      await orm.close();
    }
  });

  it('every runs filter, the event log reads, the task queue, the reaper and the revocation poll use an index, never a table scan', async () => {
    const orm = await openDatabase({ sqlitePath: ':memory:' });
    try {
      await migrateDatabase(orm);
      const plan = async (sql: string) => {
        const rows: { detail: string }[] = await orm.em.getConnection().execute(`explain query plan ${sql}`);
        return rows.map((r) => r.detail).join(' | ');
      };
      const queries = [
        "select * from run where project_id = 'p' and id < 'Z' order by id desc limit 21",
        "select * from run where phase_id = 'p' order by id desc limit 21",
        "select * from run where workstream_id = 'w' order by id desc limit 21",
        "select * from run where state in ('running', 'pending') order by id desc limit 21",
        "select * from run where id >= '01' and id < '02' order by id desc limit 21",
        "select count(*) from run where project_id = 'p'",
        "select * from run_event where run_id = 'r' and position > 5 order by position asc limit 21",
        'select * from run_event where position > 5 order by position asc limit 21',
        "select * from step_attempt where run_id = 'r' and sequence > 0 order by sequence limit 11",
        // The steps an ending task attempt takes with it (run-service.ts cancelAttemptSteps).
        "select * from step_attempt where task_id = 't' and state = 'running' order by sequence asc",
        // The task queue's claim (any kind, some kinds), the reaper's scans, and the worker and task lists.
        "select * from task where state = 'pending' order by id asc limit 1",
        "select * from task where state = 'pending' and kind in ('lint', 'test') order by id asc limit 1",
        "select id from task where state = 'running' and deadline_at < 5 order by deadline_at asc limit 500",
        "select id from worker where state in ('idle', 'busy', 'paused') and stale_after < 5 order by stale_after asc limit 500",
        "select * from worker where type in ('executor') order by id desc limit 21",
        "select * from worker where state in ('idle') order by id desc limit 21",
        "select * from task where run_id = 'r' order by id desc limit 21",
        "select * from task where worker_id = 'w' and state = 'running'",
        // May a worker token report on a run: a task of the run held by one of its workers.
        REPORT_ACCESS_SQL.replace('?', "'r'").replace('?', "'token'"),
        // Patches, gates, costs and budgets.
        "select * from patch_ledger where project_id = 'p' order by id desc limit 21",
        "select * from patch_file where project_id = 'p' and path = 'src/a.ts' and patch_id < 'Z' order by patch_id desc limit 9",
        "select * from test_gate where run_id = 'r' order by id asc",
        "select id from test_gate where state = 'running' and deadline_at < 5 order by deadline_at asc limit 500",
        "select * from cost_record where project_id = 'p' and id >= '01' and id < '02' order by id desc limit 21",
        "select currency, model, sum(amount_nanos), count(*) from cost_record where run_id = 'r' group by currency, model",
        "select * from budget where scope_key in ('run:r:USD', 'project:p:USD')",
        "select * from budget where project_id = 'p'",
        // A step log's pages both ways, its chunks' text, and the cut of its tail (step-logs.ts).
        "select start_offset, end_offset from step_log_chunk where step_id = 's' and end_offset > 5 and end_offset <= 900 order by end_offset limit 101",
        "select start_offset, end_offset from step_log_chunk where step_id = 's' and end_offset <= 900 order by end_offset desc limit 101",
        "select * from step_log_chunk where step_id = 's' and end_offset > 5 and end_offset <= 900 order by end_offset",
        "select max(end_offset) from step_log_chunk where step_id = 's' and end_offset <= 250",
        // Every instance's revocation poll, each second (TokenService.pollRevocations).
        'select id from api_token where revoked_at >= 5',
      ];
      for (const sql of queries) {
        const detail = await plan(sql);
        expect(detail, sql).toMatch(/USING (COVERING )?INDEX|USING INTEGER PRIMARY KEY|USING PRIMARY KEY/);
        expect(detail, sql).not.toMatch(/^SCAN \w+$|SCAN (run|run_event|step_attempt|step_log_chunk|task|worker|patch_ledger|patch_file|test_gate|cost_record|budget|api_token)(?! USING)/);
      }
    } finally {
      await orm.close();
    }
  });
});
