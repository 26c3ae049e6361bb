import type { TestApp } from '@custodian/testing';
import { addEvent, addPatient, seedPractice } from '../release-helpers';
import { type As, type Reviewers, reviewers } from './reviewers';

/**
 * The set-up the amendment tests share (probe 23, review 22, the portal's probe 24 and review 25):
 * GP data for a release, a release of a bid made through the API, and an amendment (version 2)
 * taken to its screening.
 */

/** Practice A81001 and `count` GP patients, NHS numbers from `firstNhs` on, with one event each. */
export async function seedReleasableGpData(t: TestApp, firstNhs = 9_100_000_000, count = 4): Promise<void> {
  await seedPractice(t.sql);
  for (let i = 0; i < count; i++) {
    const id = await addPatient(t.sql, { nhs: String(firstNhs + i) });
    await addEvent(t.sql, id);
  }
}

/**
 * The people and data of a bid whose releases an amendment supersedes: the reviewers, a colleague of
 * the researcher (a second recipient the amendment can take off), a second release officer of the
 * centre who makes the releases, and GP data to release (`seedReleasableGpData`).
 */
export async function supersededReleaseSetUp(
  t: TestApp,
): Promise<Reviewers & { colleague: As; releaser: As }> {
  const people = await reviewers(t);
  const colleague = await t.as('researcher', { organisationId: people.researcher.user.organisationId! });
  const releaser = await t.as('release_officer', { organisationId: people.centre });
  await seedReleasableGpData(t);
  return { ...people, colleague, releaser };
}

/** Requests a release of bid `bidId` as `releaser` and waits (asking as them) until it completes; its id. */
export async function completedRelease(t: TestApp, bidId: string, releaser: As): Promise<string> {
  const res = await t.http.post(`/api/bids/${bidId}/releases`).set(releaser.auth).expect(202);
  for (let i = 0; i < 300; i++) {
    const r = await t.http.get(`/api/releases/${res.body.id}`).set(releaser.auth).expect(200);
    if (r.body.state === 'completed') return res.body.id as string;
    if (r.body.state === 'failed') throw new Error(`release failed: ${JSON.stringify(r.body)}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error('release did not finish');
}

/**
 * Amendment v2 of bid `bidId`: `body` sent and submitted by the researcher, then screened by the
 * officer: `approve` (a narrowing one, in force once the applicant accepts the agreement's v2) or
 * `accept` (a widening one, on to the panel's vote). The answer to its creation.
 */
export async function screenedAmendment(
  t: TestApp,
  bidId: string,
  { researcher, officer }: Pick<Reviewers, 'researcher' | 'officer'>,
  body: Record<string, unknown>,
  outcome: 'approve' | 'accept',
): Promise<Record<string, unknown>> {
  const created = await t.http
    .post(`/api/bids/${bidId}/amendments`)
    .set(researcher.auth)
    .send(body)
    .expect(201);
  await t.http.post(`/api/bids/${bidId}/amendments/2/submit`).set(researcher.auth).expect(200);
  await t.http
    .post(`/api/bids/${bidId}/amendments/2/screen`)
    .set(officer.auth)
    .send({ outcome, remarks: outcome === 'approve' ? 'narrows' : 'widens' })
    .expect(200);
  return created.body;
}
