import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from './config';

const base = () => ({ CUSTODIAN_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'cfg-')) });

describe('loadConfig', () => {
  it('applies the documented defaults in demo mode and keeps generated secrets', () => {
    const env = base();
    const cfg = loadConfig(env);
    expect(cfg).toMatchObject({
      mode: 'demo',
      port: 3000,
      awarenessDays: 28,
      panelQuorum: 3,
      anonK: 10,
      anonM: 2,
      demoSeed: true,
    });
    expect(loadConfig({ ...env, ANON_M: '3' }).anonM).toBe(3);
    expect(loadConfig({ ...env, ANON_KM_M: '1' }).anonM).toBe(1);
    expect(cfg.jwtSecret.length).toBeGreaterThanOrEqual(32);
    const again = loadConfig(env);
    expect(again.jwtSecret).toBe(cfg.jwtSecret);
    const file = path.join(env.CUSTODIAN_STATE_DIR, 'secrets.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).PSEUDONYM_KEY_SECRET).toBe(cfg.pseudonymKeySecret);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PANEL_QUORUM', '0'],
    ['ANON_K', '1'],
    ['ANON_M', '0'],
    ['ANON_M', '4'],
    ['ANON_KM_M', 'two'],
    ['AWARENESS_DAYS', '-3'],
    ['DEMO_SEED', 'yes'],
    ['DATABASE_URL', 'mysql://x'],
    ['JWT_SECRET', 'short'],
  ])('names %s when its value is bad', (name, value) => {
    expect(() => loadConfig({ ...base(), [name]: value })).toThrow(
      new RegExp(`^Invalid configuration:[\\s\\S]*${name}`),
    );
  });

  it('never echoes a bad secret value', () => {
    try {
      loadConfig({ ...base(), JWT_SECRET: 'hunter2-secret' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).not.toContain('hunter2');
    }
  });

  it('has no secret defaults in production', () => {
    expect(() =>
      loadConfig({ ...base(), NODE_ENV: 'production', DATABASE_URL: 'postgres://u@h/db' }),
    ).toThrow(/JWT_SECRET[\s\S]*PSEUDONYM_KEY_SECRET/);
  });

  it('requires ADMIN_EMAIL and ADMIN_PASSWORD together', () => {
    expect(() => loadConfig({ ...base(), ADMIN_EMAIL: 'a@b.org' })).toThrow(/ADMIN_EMAIL\/ADMIN_PASSWORD/);
  });
});
