import fc from 'fast-check';
import { jsonDepth } from './json-depth';

const depthOf = (v: unknown): number =>
  Array.isArray(v)
    ? 1 + Math.max(0, ...v.map(depthOf))
    : v !== null && typeof v === 'object'
      ? 1 + Math.max(0, ...Object.values(v).map(depthOf))
      : 0;

describe('jsonDepth', () => {
  it('equals the nesting depth of the parsed value (brackets inside strings ignored)', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => jsonDepth(JSON.stringify(v)) === depthOf(v)));
    expect(jsonDepth('{"a":"[[[{\\"]]"}')).toBe(1);
  });
  it('stops early on a very deep body', () => {
    expect(jsonDepth('['.repeat(1_000_000), 32)).toBe(33);
  });
});
