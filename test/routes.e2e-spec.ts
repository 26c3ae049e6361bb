import { createTestApp, TestApp } from '@custodian/testing';
import { declaredRoutes } from './support/declared-routes';

export { declaredRoutes, type DeclaredRoute } from './support/declared-routes';

describe('route declarations', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('every route declares exactly one of @Public() or @Can()', () => {
    const routes = declaredRoutes(t);
    expect(routes.length).toBeGreaterThan(5);
    expect(routes.filter((r) => r.access === 'UNDECLARED')).toEqual([]);
  });

  it('matches the checked-in snapshot (a change of access shows up in review)', async () => {
    const text = declaredRoutes(t)
      .map((r) => `${r.method.padEnd(6)} ${r.path.padEnd(48)} ${r.access}`)
      .join('\n');
    await expect(`${text}\n`).toMatchFileSnapshot('./__snapshots__/routes.txt');
  });
});
