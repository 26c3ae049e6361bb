import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SynthCommand } from './synth.command';

describe('synth command', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'synth-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes the practice exports, the CSVs and the manifest for the options given', async () => {
    const cmd = new SynthCommand();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await cmd.run([], {
        out: dir,
        practices: cmd.practices('2'),
        patients: cmd.patients('300'),
        seed: cmd.seed('5'),
        eventsPerPatient: cmd.eventsPerPatient('4'),
        asOf: '2025-01-31',
      });
    } finally {
      log.mockRestore();
    }
    expect((await readdir(dir)).sort()).toEqual([
      'A81001.ndjson',
      'A81002.ndjson',
      'hes.csv',
      'linkage_truth.csv',
      'manifest.json',
      'social_care.csv',
    ]);
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ seed: 5, asOf: '2025-01-31', eventsPerPatient: 4 });
    expect(manifest.counts.patients).toBe(300);
  });

  it('rejects bad option values and a missing --out', async () => {
    const cmd = new SynthCommand();
    expect(() => cmd.practices('0')).toThrow(/practices/);
    expect(() => cmd.patients('ten')).toThrow(/patients/);
    expect(() => cmd.seed('-1')).toThrow(/seed/);
    expect(() => cmd.seed('4294967296')).toThrow(/seed/);
    expect(() => cmd.eventsPerPatient('-2')).toThrow(/events-per-patient/);
    await expect(cmd.run([], {})).rejects.toThrow(/--out/);
  });
});
