import { OutageTolerantDb } from './outage-tolerant-db';

describe('OutageTolerantDb', () => {
  it('once closed, a statement pg-boss sends without awaiting it (a job completed or failed at shutdown) neither rejects unhandled nor answers', async () => {
    // No server is needed: the pool is closed before any statement.
    const db = new OutageTolerantDb({ connectionString: 'postgres://nobody@127.0.0.1:1/none' });
    await db.close();
    const outcome = await Promise.race([
      db.executeSql(`UPDATE pgboss.job SET state = 'failed' WHERE id = $1`, ['x']).then(
        () => 'answered',
        (err: Error) => `rejected: ${err.message}`,
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 200)),
    ]);
    expect(outcome).toBe('pending');
  });
});
