import { DataSource } from 'typeorm';
import { dataSourceOptions } from './connection';

/** Applies pending migrations as the URL's own (owner) user. Returns the names applied. */
export async function runMigrations(url: string): Promise<string[]> {
  const ds = new DataSource(
    dataSourceOptions({ url, asAppRole: false, poolSize: 2, applicationName: 'custodian-migrate' }),
  );
  await ds.initialize();
  try {
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await ds.destroy();
  }
}
