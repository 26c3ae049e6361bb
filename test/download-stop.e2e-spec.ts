import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DownloadGuard, ReleaseEngine } from '@custodian/release';
import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Issue 29: a download already streaming stops the moment the agreement is no longer in force —
 * revoked (the change is announced to every process and closes that bid's open streams) or expired
 * (the agreement is re-checked every second while a file streams). The file is made large (64 MiB)
 * and the client reads slowly, so on the old code the whole file still arrived after the end.
 */
const FILE_BYTES = 64 * 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface SlowDownload {
  status: number;
  /** Bytes received so far. */
  received(): number;
  /** Resolves when the response ends or is cut: whether it completed, and the bytes received. */
  done: Promise<{ complete: boolean; bytes: number }>;
  /** Reads `bytesPerTick` every 100 ms (a slow link). */
  res: IncomingMessage;
}

function slowDownload(port: number, urlPath: string, token: string): Promise<SlowDownload> {
  return new Promise((resolve, reject) => {
    const req = get(
      { host: '127.0.0.1', port, path: urlPath, headers: { Authorization: `Bearer ${token}` } },
      (res) => {
        let bytes = 0;
        const length = Number(res.headers['content-length']);
        res.pause();
        // Reads 256 KiB every 100 ms: 64 MiB would take about 25 s.
        const timer = setInterval(() => {
          let chunk: Buffer | null;
          let n = 0;
          while (n < 256 * 1024 && (chunk = res.read() as Buffer | null)) n += chunk.length;
          bytes += n;
        }, 100);
        const done = new Promise<{ complete: boolean; bytes: number }>((ok) => {
          const finish = () => {
            clearInterval(timer);
            let chunk: Buffer | null;
            while ((chunk = res.read() as Buffer | null)) bytes += chunk.length;
            ok({ complete: bytes === length && res.complete, bytes });
          };
          res.on('close', finish);
          res.on('error', () => undefined);
        });
        resolve({ status: res.statusCode ?? 0, received: () => bytes, done, res });
      },
    );
    req.on('error', reject);
  });
}

async function streamsClosedWithin(t: TestApp, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (t.app.get(DownloadGuard).openCount === 0) return true;
    await sleep(50);
  }
  return false;
}

describe('downloads stop the moment the agreement is no longer in force (issue 29)', () => {
  let t: TestApp;
  let port: number;
  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    await seedPractice(t.sql);
    const pid = await addPatient(t.sql, { nhs: '9000000019' });
    await addEvent(t.sql, pid);
  });
  afterAll(() => t?.close());

  /** A completed release whose gp.csv.gz is replaced by 64 MiB (its size is read from disk). */
  async function bigRelease() {
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const s = spec({ recipients: [researcher.user.id], requestedBy: officer.user.id });
    const rel = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    expect(rel.state).toBe('completed');
    writeFileSync(path.join(t.app.get(ReleaseEngine).dirOf(rel.id), 'gp.csv.gz'), randomBytes(FILE_BYTES));
    return { s, rel, researcher };
  }

  it('revocation cuts a download that is already streaming', async () => {
    const { s, rel, researcher } = await bigRelease();
    const dl = await slowDownload(port, `/api/releases/${rel.id}/files/gp.csv.gz`, researcher.token);
    expect(dl.status).toBe(200);
    await sleep(1000);
    expect(dl.received()).toBeGreaterThan(0);
    const admin = await t.as('admin');
    await t.http
      .post(`/api/bids/${s.bidId}/revoke`)
      .set(admin.auth)
      .send({ reason: 'Breach of the agreement' })
      .expect(200);
    const revokedAt = Date.now();
    const atEnd = dl.received();
    // The server stops sending within the check interval (what is already in the sockets' buffers
    // still arrives)…
    expect(await streamsClosedWithin(t, 2_500)).toBe(true);
    const end = await Promise.race([dl.done, sleep(20_000).then(() => 'still streaming' as const)]);
    dl.res.destroy();
    expect(end).not.toBe('still streaming');
    if (end === 'still streaming') return;
    expect(end.complete).toBe(false);
    // …and the client gets what was in flight, then a cut connection: never the rest of the file.
    expect(end.bytes - atEnd).toBeLessThan(FILE_BYTES / 3);
    expect(end.bytes).toBeLessThan(FILE_BYTES);
    expect(Date.now() - revokedAt).toBeLessThan(15_000);
    // The release says so to whoever reads it (an outsider: it read "completed" with every file and
    // no sign that they were gone).
    let view: { downloadable?: boolean; destroyedAt?: string | null; state?: string; files?: unknown[] } = {};
    for (let i = 0; i < 100 && !view.destroyedAt; i++) {
      view = (await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200)).body;
      if (!view.destroyedAt) await sleep(100);
    }
    expect(view).toMatchObject({ state: 'completed', downloadable: false, destroyedAt: expect.any(String) });
    expect(view.files?.length).toBeGreaterThan(0);
  });

  it('an agreement that expires while a file streams ends the download', async () => {
    const { s, rel, researcher } = await bigRelease();
    const dl = await slowDownload(port, `/api/releases/${rel.id}/files/gp.csv.gz`, researcher.token);
    expect(dl.status).toBe(200);
    await sleep(1000);
    // The end date comes (as at midnight UTC), with no state change yet: the sweep has not run.
    await t.sql.query(`UPDATE agreements SET end_date = (now() AT TIME ZONE 'UTC')::date WHERE bid_id = $1`, [
      s.bidId,
    ]);
    const expiredAt = Date.now();
    const atEnd = dl.received();
    // The server stops sending within the check interval (what is already in the sockets' buffers
    // still arrives)…
    expect(await streamsClosedWithin(t, 2_500)).toBe(true);
    const end = await Promise.race([dl.done, sleep(20_000).then(() => 'still streaming' as const)]);
    dl.res.destroy();
    expect(end).not.toBe('still streaming');
    if (end === 'still streaming') return;
    expect(end.complete).toBe(false);
    // …and the client gets what was in flight, then a cut connection: never the rest of the file.
    expect(end.bytes - atEnd).toBeLessThan(FILE_BYTES / 3);
    expect(end.bytes).toBeLessThan(FILE_BYTES);
    expect(Date.now() - expiredAt).toBeLessThan(15_000);
    // The release's view agrees with the download before any sweep: not downloadable, files not yet
    // deleted (a review: it said `downloadable: true` until the destruction job ran).
    const view = (await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200)).body;
    expect(view).toMatchObject({ state: 'completed', downloadable: false, destroyedAt: null });
    await t.http.get(`/api/releases/${rel.id}/files/manifest.json`).set(researcher.auth).expect(409);
  });

  it('a release not completed is not downloadable, whatever its agreement', async () => {
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const s = spec({ recipients: [researcher.user.id], requestedBy: officer.user.id });
    const rel = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    for (const state of ['queued', 'running', 'failed']) {
      await t.sql.query('UPDATE releases SET state = $2 WHERE id = $1', [rel.id, state]);
      const view = (await t.http.get(`/api/releases/${rel.id}`).set(researcher.auth).expect(200)).body;
      expect(view, state).toMatchObject({ state, downloadable: false, files: [] });
    }
  });
});
