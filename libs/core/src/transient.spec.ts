import { toErrorBody } from './exception.filter';
import { retryTransient, transientSqlState } from './transient';

const deadlock = () => Object.assign(new Error('deadlock detected'), { driverError: { code: '40P01' } });

describe('transient database conflicts (issue 29)', () => {
  it('recognises a deadlock or serialisation failure, wrapped or not', () => {
    expect(transientSqlState(deadlock())).toBe('40P01');
    expect(transientSqlState({ code: '40001' })).toBe('40001');
    expect(transientSqlState({ code: '23505' })).toBeUndefined();
    expect(transientSqlState(undefined)).toBeUndefined();
  });

  it('runs the work again after a deadlock, and gives up after the last attempt', async () => {
    let calls = 0;
    const retried: number[] = [];
    await expect(
      retryTransient(
        async () => {
          if (++calls < 3) throw deadlock();
          return 'stored';
        },
        { onRetry: (n) => retried.push(n) },
      ),
    ).resolves.toBe('stored');
    expect(retried).toEqual([1, 2]);
    calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw deadlock();
        },
        { attempts: 2 },
      ),
    ).rejects.toThrow('deadlock detected');
    expect(calls).toBe(2);
  });

  it('never retries any other error', async () => {
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls++;
        throw Object.assign(new Error('duplicate'), { driverError: { code: '23505' } });
      }),
    ).rejects.toThrow('duplicate');
    expect(calls).toBe(1);
  });

  it('a deadlock that outlasts its retries answers 503 TRANSIENT_CONFLICT, not 500', () => {
    expect(toErrorBody(deadlock())).toMatchObject({ statusCode: 503, code: 'TRANSIENT_CONFLICT' });
  });
});
