import { createTestApp, TestApp } from '@custodian/testing';

/**
 * Probe 36: the register's CSV neutralised a formula only at the start of a cell. A spreadsheet set
 * to a semicolon list separator (the default of many European locales) splits a line on `;`, not on
 * `,` (and reads a quote only where a cell begins), so a request title `Statins;=1+1;in Leeds` opened
 * there as a cell `=1+1`: a formula an applicant wrote, run on the reader's machine (a DDE payload
 * such as `=cmd|' /C calc'!A0` needs neither a comma nor a double quote). Every `;`-separated piece of
 * a cell that would start like a formula is neutralised as the cell's start is.
 */
describe("the public register's CSV in a spreadsheet that splits on semicolons", () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ PANEL_QUORUM: '3' });
  });
  afterAll(() => t?.close());

  it('has no piece between semicolons that starts like a formula', async () => {
    const titles = [
      `Statins;=cmd|' /C calc'!A0;in Leeds`,
      'Statins; +1+1;in Leeds',
      'Statins;"-2+3";in Leeds',
      'Statins;@SUM(1);x',
    ];
    const ids: string[] = [];
    for (const title of titles)
      ids.push(
        (
          await t.factory.bid('approved', {
            body: { title, purpose: 'Study of statins;=HYPERLINK(x) and stroke' },
          })
        ).id,
      );
    const csv = (await t.http.get('/api/register?format=csv').expect(200)).text;
    const lines = csv.split('\r\n').filter((l) => ids.some((id) => l.includes(id)));
    expect(lines).toHaveLength(titles.length);
    for (const line of lines)
      for (const piece of line.split(';').slice(1)) expect(piece, line).not.toMatch(/^[\s"]*[=+\-@\t\r]/);
    // The JSON register keeps the titles as written.
    const json = (await t.http.get('/api/register').expect(200)).body as { bidId: string; title: string }[];
    expect(ids.map((id) => json.find((l) => l.bidId === id)?.title)).toEqual(titles);
  });
});
