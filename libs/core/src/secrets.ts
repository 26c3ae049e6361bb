import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Secrets the demo generates for itself, kept 0600 in the state directory. */
export function readOrCreateSecret(stateDir: string, name: string): string {
  const file = path.join(stateDir, 'secrets.json');
  mkdirSync(stateDir, { recursive: true });
  const secrets: Record<string, string> = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  if (!secrets[name]) {
    secrets[name] = randomBytes(32).toString('base64url');
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  chmodSync(file, 0o600);
  return secrets[name];
}
