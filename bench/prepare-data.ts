/**
 * Generates (or finds) the release benchmarks' dataset and prints its URL:
 *   node dist/bench/prepare-data.js --patients 1000000 --per 10
 */
import { argValue, benchDatabase } from './common';
import { releaseDataset } from './dataset';

async function main(): Promise<void> {
  const db = await benchDatabase();
  try {
    const d = await releaseDataset(
      db.url,
      Number(argValue('patients', '100000')),
      Number(argValue('per', '10')),
    );
    console.log(JSON.stringify(d));
  } finally {
    await db.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
