import { OutageTolerantDb } from './outage-tolerant-db';

describe('OutageTolerantDb', () => {
  it('once closed, a statement pg-boss sends without awaiting it (a job completed or failed at shutdown) resolves doing nothing instead of rejecting unhandled', async () => {
    // No server is needed: the pool is closed before any statement.
    const db = new OutageTolerantDb({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    await db.close();
    await expect(
      db.executeSql(`UPDATE pgboss.job SET state = 'failed' WHERE id = $1`, ['x']),
    ).resolves.toMatchObject({
      rows: [],
      rowCount: 0,
    });
  });
});
