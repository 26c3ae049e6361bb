import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { spoolBody } from './spool';

describe('spoolBody', () => {
  it('keeps a small body in memory and reads it back whole', async () => {
    const body = await spoolBody(Readable.from([Buffer.from('abc\n'), Buffer.from('def\n')]), {
      memoryBytes: 1024,
    });
    expect(body).toMatchObject({ bytes: 8, where: 'memory' });
    expect(await text(body.open())).toBe('abc\ndef\n');
    await body.dispose();
  });

  it('puts a larger body in a 0600 file under the temp directory, and dispose() removes it', async () => {
    const chunks = Array.from({ length: 300 }, (_, i) =>
      Buffer.from(`${String(i).padStart(9, '0')}\n`.repeat(1000)),
    );
    const body = await spoolBody(Readable.from(chunks), { memoryBytes: 64 * 1024 });
    expect(body.bytes).toBe(3_000_000);
    expect(body.where.startsWith(tmpdir() + path.sep)).toBe(true);
    expect(statSync(body.where).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(body.where)).mode & 0o777).toBe(0o700);
    const back = await text(body.open());
    expect(back).toBe(Buffer.concat(chunks).toString());
    await body.dispose();
    expect(existsSync(path.dirname(body.where))).toBe(false);
    await body.dispose();
  });

  it('removes its file when the body fails midway (a client gone, a body too slow)', async () => {
    // os.tmpdir() follows TMPDIR: a directory of this test's own, so nothing else's files are seen.
    const root = mkdtempSync(path.join(tmpdir(), 'spool-spec-'));
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = root;
    try {
      const stream = new PassThrough();
      const spooling = spoolBody(stream, { memoryBytes: 10 });
      stream.write(Buffer.alloc(100_000, 'x'));
      await new Promise((r) => setTimeout(r, 50));
      expect(readdirSync(root)).toHaveLength(1);
      stream.destroy(new Error('gone'));
      await expect(spooling).rejects.toThrow('gone');
      expect(readdirSync(root)).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      rmSync(root, { recursive: true, force: true });
    }
  });
});
