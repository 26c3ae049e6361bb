import { createTestApp, TestApp } from '@custodian/testing';
import { addEvent, addPatient, download, runRelease, seedPractice, spec } from './release-helpers';

/**
 * Probe 20, finding 2: a release id is a UUID (`ParseUUIDPipe` on `:id`), and UUIDs are
 * case-insensitive on input (RFC 9562 §4: "… case insensitive on input"; Swift's
 * `UUID().uuidString` and many other clients write them in upper case). The release view accepts
 * the upper-case spelling — `GET /api/releases/{ID}` answers 200 with `downloadable: true` and the
 * files — but the download with the same id, `GET /api/releases/{ID}/files/{name}`, answers 404
 * "File not found" for every file: the file's path on disk is built from the id as the client
 * wrote it (`ReleaseEngine.dirOf(id)`), not from the release's id as stored.
 *
 * SPEC §7: `GET /api/releases/:id/files/:name` — "recipients, while active: the file, streamed";
 * 404 is for an object that does not exist or is another organisation's.
 */
describe('probe 20: a release id written in upper case', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await seedPractice(t.sql);
    const pid = await addPatient(t.sql, { nhs: '9000000019' });
    await addEvent(t.sql, pid);
  });
  afterAll(() => t?.close());

  it('the view and the download agree: a file the view lists as downloadable downloads', async () => {
    const officer = await t.as('release_officer');
    const researcher = await t.as('researcher');
    const s = spec({ recipients: [researcher.user.id], requestedBy: officer.user.id });
    const rel = await runRelease(t, s, { id: officer.user.id, roles: officer.user.roles });
    expect(rel.state).toBe('completed');
    const upper = rel.id.toUpperCase();

    const view = await t.http.get(`/api/releases/${upper}`).set(researcher.auth);
    expect(view.status).toBe(200);
    expect(view.body).toMatchObject({ id: rel.id, state: 'completed', downloadable: true });
    const names: string[] = view.body.files.map((f: { name: string }) => f.name);
    expect(names).toContain('gp.csv.gz');

    // The lower-case spelling downloads…
    const lower = await download(t, researcher.auth, rel.id, 'gp.csv.gz');
    expect(lower.status).toBe(200);
    // …and the same release named in upper case must give the same file, not a 404.
    const answers: Record<string, string> = {};
    for (const name of names) {
      const res = await download(t, researcher.auth, upper, name);
      answers[name] =
        res.status === 200 ? 'ok' : `${res.status} ${Buffer.from(res.body ?? '').toString('utf8')}`;
    }
    expect(answers).toEqual(Object.fromEntries(names.map((n) => [n, 'ok'])));
  });
});
