import fc from 'fast-check';
import { hasLoneSurrogate, jsonDepth, jsonShape } from './json-depth';

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

describe('hasLoneSurrogate', () => {
  it('finds a lone surrogate in any key or value, and not in a well-formed pair', () => {
    expect(hasLoneSurrogate(JSON.parse('{"a":["x","y\\ud800"]}'))).toBe(true);
    expect(hasLoneSurrogate(JSON.parse('{"a\\udc00":1}'))).toBe(true);
    expect(hasLoneSurrogate(JSON.parse('{"a":"\\ud83d\\ude00","b":[1,null,true]}'))).toBe(false);
    fc.assert(fc.property(fc.jsonValue(), (v) => !hasLoneSurrogate(JSON.parse(JSON.stringify(v)))));
  });
});

describe('jsonShape', () => {
  it('is the largest key count of any object, and the number of objects and arrays', () => {
    expect(jsonShape(JSON.parse('{"a":1,"b":[{"c":1,"d":2,"e":3}]}'))).toEqual({
      widest: 3,
      containers: 3,
      values: 7,
    });
    expect(jsonShape([1, 'x', null])).toEqual({ widest: 0, containers: 1, values: 4 });
    expect(jsonShape('x')).toEqual({ widest: 0, containers: 0, values: 1 });
  });
});
