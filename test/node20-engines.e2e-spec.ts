import { gzipSync } from 'node:zlib';

/**
 * Four dependencies declare Node >= 22 in `engines` while the service supports Node 20.19+
 * (package.json, README): nestjs-pino 5 (direct), file-type 22 (pinned exactly by
 * @nestjs/common 12), content-disposition 3 (@fastify/static 10 needs ^3) and cookie 2
 * (light-my-request 6 needs ^2). No release of them that declares Node 20 fits the ranges their
 * dependents require, so they are proven on Node 20 instead: none uses an API newer than Node 20
 * (no getBuiltinModule, Array.fromAsync, Promise.withResolvers, Set methods, iterator helpers),
 * nestjs-pino is exercised by every test that starts the app, and this file runs the other three
 * where the service uses them, on whatever Node runs the suite (CI and development: 20.x).
 */
describe('dependencies that declare Node >= 22 work on the Node running the suite', () => {
  it('runs on Node 20.19 or later', () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
  });

  it('file-type (used by @nestjs/common) detects a gzip release file', async () => {
    const { fileTypeFromBuffer } = await import('file-type');
    expect((await fileTypeFromBuffer(gzipSync(Buffer.from('a,b\n1,2\n'))))?.ext).toBe('gz');
  });

  it('content-disposition (used by @fastify/static) writes an attachment header', async () => {
    const { create } = (await import('content-disposition')) as unknown as {
      create: (name: string) => string;
    };
    expect(create('gp.csv.gz')).toBe('attachment; filename=gp.csv.gz');
  });

  it('cookie (used by light-my-request) parses and serialises', async () => {
    const cookie = (await import('cookie')) as unknown as {
      parseCookie(s: string): Record<string, string>;
      stringifySetCookie(c: { name: string; value: string }): string;
    };
    expect({ ...cookie.parseCookie('a=1; b=2') }).toEqual({ a: '1', b: '2' });
    expect(cookie.stringifySetCookie({ name: 'a', value: '1' })).toBe('a=1');
  });

  it('nestjs-pino loads', async () => {
    const pino = await import('nestjs-pino');
    expect(typeof pino.LoggerModule).toBe('function');
  });
});
