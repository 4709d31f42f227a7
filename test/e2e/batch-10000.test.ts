import { loadConfig, openConfiguredDevice } from '@sm2ca/platform';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepareBatchRows } from '../support/batch-rows.ts';
import { type RaOperators, raOperators } from '../support/ra-client.ts';
import { type Stack, startStack } from '../support/sm2ca-stack.ts';
import { createTestDatabase } from '../support/test-database.ts';

const rowCount = 10_000;

/**
 * The acceptance at full size: a 10,000-row batch with 1% bad rows through the RA and the
 * real CA — every bad row reported with its code, every good one reviewed in one decision and
 * issued by one maker call. (bench/batch-issue.ts prints how fast; this only checks the outcome.)
 */
describe('a 10,000-row batch', () => {
  let stack: Stack;
  let drop: () => Promise<void>;
  let operators: RaOperators;

  beforeAll(async () => {
    const db = await createTestDatabase();
    drop = db.drop;
    stack = await startStack(db.url, {}, ['ca', 'ra']);
    operators = await raOperators(stack);
  }, 180_000);
  afterAll(async () => {
    await stack?.stop();
    await drop?.();
  });

  it('issues all 9,900 good rows and reports each of the 100 bad ones', async () => {
    const device = await openConfiguredDevice(loadConfig(stack.env));
    const { rows, badRows } = await prepareBatchRows(device, rowCount, 1).finally(() => device.close());
    expect(badRows).toHaveLength(100);

    const entered = await operators.ra('POST', '/v1/batches', 'clerk', { rows });
    expect(entered.status, entered.text.slice(0, 500)).toBe(201);
    const { batch, invalid } = entered.json();
    expect(invalid.map((r: { rowNumber: number }) => r.rowNumber)).toEqual(badRows);
    expect(new Set(invalid.map((r: { code: string }) => r.code))).toEqual(new Set(['IDENTITY_INVALID']));

    const reviewed = await operators.ra('POST', `/v1/batches/${batch.id}/review`, 'reviewer', {
      decision: 'approve',
    });
    expect(reviewed.status, reviewed.text).toBe(200);
    expect(reviewed.json().decided).toBe(rowCount - 100);

    const issued = await operators.ra('POST', `/v1/batches/${batch.id}/issue`, 'maker');
    expect(issued.status, issued.text.slice(0, 500)).toBe(200);
    const result = issued.json();
    expect(result.failed).toEqual([]);
    expect(result.issued).toHaveLength(rowCount - 100);

    const shown = await operators.ra('GET', `/v1/batches/${batch.id}`, 'maker');
    expect(shown.json().counts).toEqual({
      rows: rowCount,
      invalid: 100,
      submitted: 0,
      approved: 0,
      rejected: 0,
      issued: rowCount - 100,
      failed: 0,
    });
  }, 900_000);
});
