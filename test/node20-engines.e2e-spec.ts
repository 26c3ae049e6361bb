import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

/**
 * The service supports Node 20.19+ (package.json, README), and a clean `npm ci` on Node 20 prints
 * no warning. Three transitive dependencies are held by `overrides` (package.json) at the
 * newest releases that declare Node 20, with the API their dependents call: file-type 21 (not the
 * 22 that @nestjs/common 12 pins: Node >= 22), content-disposition 2 for @fastify/static 10 (3:
 * Node >= 22) and cookie 1.1 for light-my-request 6 (2: Node >= 22). This file runs each where its
 * dependent finds it, with the calls the dependent makes.
 *
 * nestjs-pino is held at 4.x (Node >= 14; 5.x declares Node >= 22.12), with our Nest 12 as its peer
 * by an override: the logging and HTTP tests run it (docs/DEVELOPING.md).
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

/**
 * What `npm ci` warns about, read from the lock file: a package whose `engines.node` does not admit
 * Node 20.19 (EBADENGINE), and a peer dependency resolved outside its range (ERESOLVE) unless
 * package.json `overrides` decides it. None is allowed (README).
 */
describe('a clean npm ci on Node 20 prints no warning', () => {
  const semver = createRequire(path.resolve('package.json'))('semver') as {
    satisfies(version: string, range: string, options?: object): boolean;
  };
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { overrides?: Record<string, unknown> };
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
    packages: Record<
      string,
      {
        version?: string;
        engines?: { node?: string };
        peerDependencies?: Record<string, string>;
        peerDependenciesMeta?: Record<string, { optional?: boolean }>;
      }
    >;
  };
  it('every locked package declares Node 20.19', () => {
    const refused = Object.entries(lock.packages)
      .filter(([, p]) => p.engines?.node && !semver.satisfies('20.19.0', p.engines.node))
      .map(([at, p]) => `${at} ${p.engines!.node}`);
    expect(refused).toEqual([]);
  });

  it('every peer dependency is in range or decided by an override', () => {
    const resolve = (from: string, name: string) => {
      for (let dir = from; ;) {
        const found = lock.packages[`${dir ? `${dir}/` : ''}node_modules/${name}`];
        if (found || !dir) return found;
        const i = dir.lastIndexOf('/node_modules/');
        dir = i < 0 ? '' : dir.slice(0, i);
      }
    };
    const overridden = (at: string) => {
      const name = at.slice(at.lastIndexOf('node_modules/') + 'node_modules/'.length);
      return typeof pkg.overrides?.[name] === 'object';
    };
    const out: string[] = [];
    for (const [at, p] of Object.entries(lock.packages))
      for (const [peer, range] of Object.entries(p.peerDependencies ?? {})) {
        if (p.peerDependenciesMeta?.[peer]?.optional || overridden(at)) continue;
        const found = resolve(at, peer);
        if (found?.version && !semver.satisfies(found.version, range, { includePrerelease: true }))
          out.push(`${at}: ${peer}@${found.version} outside ${range}`);
      }
    expect(out).toEqual([]);
  });
});
