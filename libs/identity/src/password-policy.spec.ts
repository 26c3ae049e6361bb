import { estimatorRunning } from './password-estimator';
import { passwordProblem } from './password-policy';

describe('passwordProblem', () => {
  it.each([
    ['password1234'],
    ['qwertyuiop123'],
    ['Password123!'],
    ['iloveyou2024'],
    ['aaaaaaaaaaaaaaaa'],
    ['abcdefghijklmnop'],
    ['p'.repeat(128)],
  ])('refuses the common or patterned %s', async (password) => {
    expect(await passwordProblem(password)).toMatch(/^password is too easy to guess/);
  });

  it('refuses the email and anything built on its local part, whatever the case', async () => {
    const email = 'Marianne.Dashwood@leeds.example';
    expect(await passwordProblem('marianne.dashwood@leeds.example', email)).toMatch(/email address$/);
    expect(await passwordProblem('x-MARIANNE.DASHWOOD@LEEDS.EXAMPLE', email)).toMatch(/email address$/);
    expect(await passwordProblem('Marianne.Dashwood-2026!', email)).toMatch(/before the @$/);
    expect(await passwordProblem('my-marianne.dashwood-pw', email)).toMatch(/before the @$/);
  });

  it('does not forbid a local part too short to mean anything (jo@…)', async () => {
    expect(await passwordProblem('a-long-journey-home-2026', 'jo@leeds.example')).toBeUndefined();
  });

  it('accepts passphrases and random strings', async () => {
    for (const password of [
      'correct-horse-battery-staple',
      'a-long-enough-password',
      'kR9#vq2!Lm8z',
      'a'.repeat(127) + 'b' + 'Zq8!vX3#',
    ])
      expect(await passwordProblem(password, 'someone@leeds.example'), password).toBeUndefined();
  });
});

describe('the estimator thread', () => {
  it('answers checks that come together, and leaves when idle: its dictionaries are not kept in the process', async () => {
    const answers = await Promise.all(
      ['password1234', 'correct-horse-battery-staple', 'qwertyuiop123'].map((p) => passwordProblem(p)),
    );
    expect(answers.map((a) => a === undefined)).toEqual([false, true, false]);
    expect(estimatorRunning()).toBe(true);
    await vi.waitFor(() => expect(estimatorRunning()).toBe(false), { timeout: 10_000, interval: 200 });
    // And starts again for the next check.
    expect(await passwordProblem('iloveyou2024')).toMatch(/^password is too easy to guess/);
  }, 20_000);
});
