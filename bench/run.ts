import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { benchDatabase, Scale, scale } from './common';

/**
 * `npm run bench [-- --scale large] [-- --only release,api]`: runs each benchmark (and its baseline,
 * in the same run) as its own process against one database, then prints the table of BENCH lines.
 */
const ORDER = ['ingest', 'linkage', 'anonymise', 'release', 'scale-out', 'api'];

/** How each benchmark is sized at each scale (the scripts predate a common flag). */
const SIZING: Record<string, Record<Scale, { args?: string[]; env?: Record<string, string> }>> = {
  ingest: {
    small: { args: ['--patients', '20000', '--events', '8'] },
    large: { args: ['--patients', '1000000', '--events', '10'] },
  },
  linkage: {
    small: { args: ['--patients', '100000', '--rows', '100000', '--repeat', '1'] },
    large: { args: ['--patients', '1000000', '--rows', '1000000', '--repeat', '3'] },
  },
  release: {
    small: { args: ['--patients', '20000', '--per', '10'] },
    large: { args: ['--patients', '1000000', '--per', '10'] },
  },
  anonymise: {
    small: { args: ['--patients', '20000', '--per', '10'] },
    large: { args: ['--patients', '1000000', '--per', '10'] },
  },
  'scale-out': {
    small: { args: ['--patients', '20000', '--per', '10'] },
    large: { args: ['--patients', '1000000', '--per', '10'] },
  },
  api: { small: {}, large: {} },
};

async function main(): Promise<void> {
  const s = scale();
  const only = process.argv.includes('--only')
    ? process.argv[process.argv.indexOf('--only') + 1].split(',')
    : ORDER;
  const db = await benchDatabase();
  const lines: string[] = [];
  try {
    for (const name of ORDER.filter((n) => only.includes(n))) {
      const file = path.join(__dirname, `${name}.js`);
      if (!existsSync(file)) {
        console.log(`(benchmark ${name} is not built yet)`);
        continue;
      }
      console.log(`\n== ${name} (${s}) ==`);
      const out = await new Promise<string>((resolve, reject) => {
        let text = '';
        const sizing = SIZING[name]?.[s] ?? {};
        const child = spawn('node', ['--enable-source-maps', file, '--scale', s, ...(sizing.args ?? [])], {
          env: { ...process.env, ...sizing.env, DATABASE_URL: db.url },
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        child.stdout.on('data', (d) => {
          text += d;
          process.stdout.write(d);
        });
        child.on('exit', (code) =>
          code === 0 ? resolve(text) : reject(new Error(`${name} exited with ${code}`)),
        );
      }).catch((e: Error) => {
        console.log(`BENCH ${name} failed: ${e.message}`);
        return '';
      });
      lines.push(...out.split('\n').filter((l) => l.startsWith('BENCH ')));
    }
  } finally {
    await db.stop();
  }
  console.log('\n| benchmark | ratio | figures |\n|---|---|---|');
  for (const l of lines) {
    const [, name, ratio, ...rest] = l.split(' ');
    console.log(`| ${name} | ${ratio.replace('ratio=', '')} | ${rest.join(' ')} |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
