import { PasswordService } from './password.service';

describe('PasswordService', () => {
  const svc = new PasswordService();

  it('hashes with argon2id at m >= 19 MiB and t >= 2', async () => {
    const h = await svc.hash('correct horse battery');
    const [, algorithm, , params] = h.split('$');
    expect(algorithm).toBe('argon2id');
    const p = Object.fromEntries(params.split(',').map((kv) => kv.split('=')));
    expect(Number(p.m)).toBeGreaterThanOrEqual(19_456);
    expect(Number(p.t)).toBeGreaterThanOrEqual(2);
  });

  it('never truncates: a 128-character password differs from its 127-character prefix', async () => {
    const long = 'a'.repeat(127) + 'b';
    const h = await svc.hash(long);
    expect(await svc.verify(h, long)).toBe(true);
    expect(await svc.verify(h, long.slice(0, 127))).toBe(false);
    expect(await svc.verify(h, long + 'c')).toBe(false);
  });

  it('refuses passwords shorter than 12 or longer than 256 characters', async () => {
    await expect(svc.hash('short')).rejects.toThrow(/12 to 256/);
    await expect(svc.hash('x'.repeat(257))).rejects.toThrow(/12 to 256/);
    await expect(svc.hash('x'.repeat(256))).resolves.toMatch(/^\$argon2id/);
  });

  it('answers false, not an error, for unknown accounts and garbage hashes', async () => {
    expect(await svc.verify(undefined, 'whatever-password')).toBe(false);
    expect(await svc.verify('not-a-hash', 'whatever-password')).toBe(false);
  });
});
