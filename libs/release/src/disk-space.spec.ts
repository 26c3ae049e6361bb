import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bytesNeeded, DiskFull, ensureRoom, freeBytes, isDiskFull } from './disk-space';

describe('disk space', () => {
  it('knows a full file system by its error code, wrapped or not', () => {
    const enospc = Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' });
    expect(isDiskFull(enospc)).toBe(true);
    expect(isDiskFull(Object.assign(new Error('quota'), { code: 'EDQUOT' }))).toBe(true);
    expect(isDiskFull(new Error('outer', { cause: enospc }))).toBe(true);
    expect(isDiskFull(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(false);
    expect(isDiskFull(undefined)).toBe(false);
  });

  it('asks for twice the estimated gzip bytes and a megabyte', () => {
    expect(bytesNeeded(0, 64)).toBe(1024 * 1024);
    expect(bytesNeeded(1_000_000, 64)).toBe(128_000_000 + 1024 * 1024);
  });

  it('refuses with both figures in MB when the room is short, and passes when it is not', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'custodian-space-'));
    const free = await freeBytes(dir);
    expect(free).toBeGreaterThan(0);
    await expect(ensureRoom(dir, 1)).resolves.toBeUndefined();
    const err = await ensureRoom(dir, free * 2 + 10 * 1024 * 1024).catch((e) => e);
    expect(err).toBeInstanceOf(DiskFull);
    expect(err.code).toBe('RELEASE_DISK_FULL');
    expect(err.message).toMatch(/^the release disk is full: \d+ MB free, \d+ MB needed$/);
    expect(DiskFull.PUBLIC).not.toMatch(/\d/);
  });
});
