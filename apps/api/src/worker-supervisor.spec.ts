import { workerArgs } from './worker-supervisor';

describe('the worker child’s Node flags', () => {
  it('are the API’s, with the young generation `npm run worker` gives a worker', () => {
    expect(
      workerArgs([
        '--enable-source-maps',
        '--max-old-space-size=192',
        '--max-semi-space-size=2',
        '--cpu-prof',
      ]),
    ).toEqual(['--enable-source-maps', '--max-old-space-size=192', '--max-semi-space-size=4', '--cpu-prof']);
    expect(workerArgs([])).toEqual([]);
  });
});
