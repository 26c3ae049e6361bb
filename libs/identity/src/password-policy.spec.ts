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
  ])('refuses the common or patterned %s', (password) => {
    expect(passwordProblem(password)).toMatch(/^password is too easy to guess/);
  });

  it('refuses the email and anything built on its local part, whatever the case', () => {
    const email = 'Marianne.Dashwood@leeds.example';
    expect(passwordProblem('marianne.dashwood@leeds.example', email)).toMatch(/email address$/);
    expect(passwordProblem('x-MARIANNE.DASHWOOD@LEEDS.EXAMPLE', email)).toMatch(/email address$/);
    expect(passwordProblem('Marianne.Dashwood-2026!', email)).toMatch(/before the @$/);
    expect(passwordProblem('my-marianne.dashwood-pw', email)).toMatch(/before the @$/);
  });

  it('does not forbid a local part too short to mean anything (jo@…)', () => {
    expect(passwordProblem('a-long-journey-home-2026', 'jo@leeds.example')).toBeUndefined();
  });

  it('accepts passphrases and random strings', () => {
    for (const password of [
      'correct-horse-battery-staple',
      'a-long-enough-password',
      'kR9#vq2!Lm8z',
      'a'.repeat(127) + 'b' + 'Zq8!vX3#',
    ])
      expect(passwordProblem(password, 'someone@leeds.example'), password).toBeUndefined();
  });
});
