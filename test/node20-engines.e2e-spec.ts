import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * The service supports Node 20.19+ (package.json, README), and a clean `npm ci` on Node 20 prints
 * no warning but one. Three transitive dependencies are held by `overrides` (package.json) at the
 * newest releases that declare Node 20, with the API their dependents call: file-type 21 (not the
 * 22 that @nestjs/common 12 pins: Node >= 22), content-disposition 2 for @fastify/static 10 (3:
 * Node >= 22) and cookie 1.1 for light-my-request 6 (2: Node >= 22). This file runs each where its
 * dependent finds it, with the calls the dependent makes.
 *
 * The one left is nestjs-pino 5 (direct; Node >= 22.12 declared): 5.x is the first with Nest 12
 * support (its v12 logger and root-logger changes), 4.x declares Node 14 but Nest <= 11. It uses
 * nothing newer than Node 20 and every test that starts the app runs it on the suite's Node.
 */
/** The module `name` as `dependent` loads it (Node's own resolution, from the dependent's folder). */
async function loadFrom<T>(name: string, dependent: string): Promise<T> {
  const fromDependent = createRequire(path.resolve('node_modules', dependent, 'package.json'));
  return (await import(pathToFileURL(fromDependent.resolve(name)).href)) as T;
}

describe('dependencies on the Node running the suite', () => {
  it('runs on Node 20.19 or later', () => {
    const [major, minor] = process.versions.node.split('.').map(Number);
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
  });

  it('file-type (as @nestjs/common loads it) detects a gzip release file', async () => {
    const { fileTypeFromBuffer } = await loadFrom<{
      fileTypeFromBuffer(b: Buffer): Promise<{ ext: string } | undefined>;
    }>('file-type', '@nestjs/common');
    expect((await fileTypeFromBuffer(gzipSync(Buffer.from('a,b\n1,2\n'))))?.ext).toBe('gz');
  });

  it('content-disposition (as @fastify/static loads it) writes an attachment header', async () => {
    const { create } = await loadFrom<{ create: (name: string) => string }>(
      'content-disposition',
      '@fastify/static',
    );
    expect(create('gp.csv.gz')).toBe('attachment; filename=gp.csv.gz');
  });

  it('cookie (as light-my-request loads it) parses and serialises', async () => {
    const cookie = await loadFrom<{
      parseCookie(s: string): Record<string, string>;
      stringifySetCookie(c: { name: string; value: string }): string;
    }>('cookie', 'light-my-request');
    expect({ ...cookie.parseCookie('a=1; b=2') }).toEqual({ a: '1', b: '2' });
    expect(cookie.stringifySetCookie({ name: 'a', value: '1' })).toBe('a=1');
  });

  it('nestjs-pino loads', async () => {
    const pino = await import('nestjs-pino');
    expect(typeof pino.LoggerModule).toBe('function');
  });
});
