import type { TestApp } from '@custodian/testing';

/** A signed-in user of the app under test (`t.as`). */
export type As = Awaited<ReturnType<TestApp['as']>>;

/** Who reviews a bid: its researcher (of an organisation of their own), and the centre's officer and panel. */
export interface Reviewers {
  /** The centre's organisation (a public body). */
  centre: string;
  researcher: As;
  /** A release officer of the centre (screens, approves narrowing amendments alone). */
  officer: As;
  /** `panelSize` panel members of the centre. */
  panel: As[];
}

/** Creates the people of a review; the panel's quorum is the app's (`PANEL_QUORUM`). */
export async function reviewers(t: TestApp, panelSize = 3): Promise<Reviewers> {
  const centre = (await t.factory.organisation({ name: 'Centre', kind: 'public_body' })).id;
  const researcher = await t.as('researcher');
  const officer = await t.as('release_officer', { organisationId: centre });
  const panel: As[] = [];
  for (let i = 0; i < panelSize; i++) panel.push(await t.as('panel_member', { organisationId: centre }));
  return { centre, researcher, officer, panel };
}
