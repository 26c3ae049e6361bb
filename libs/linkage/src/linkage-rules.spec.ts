import fc from 'fast-check';
import { linkReference, LinkPatient, LinkRow, partialDobMatch } from './linkage-rules';

const iso = (y: number, m: number, d: number) =>
  `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
/** Real calendar dates 1895..2025, as y/m/d parts. */
const ymd = fc
  .date({ min: new Date('1895-01-01T00:00:00Z'), max: new Date('2025-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => ({ y: d.getUTCFullYear(), m: d.getUTCMonth() + 1, d: d.getUTCDate() }));

describe('partialDobMatch', () => {
  it('matches on two of year, month and day', () => {
    expect(partialDobMatch('1980-05-17', '1980-05-18')).toBe(true); // year + month
    expect(partialDobMatch('1980-05-17', '1980-06-17')).toBe(true); // year + day
    expect(partialDobMatch('1980-05-17', '1981-05-17')).toBe(true); // month + day
    expect(partialDobMatch('1980-05-17', '1980-05-17')).toBe(true); // all three
    expect(partialDobMatch('1980-05-17', '1981-06-17')).toBe(false); // day only
    expect(partialDobMatch('1980-05-17', '1981-05-18')).toBe(false); // month only
    expect(partialDobMatch('1980-05-17', '1980-06-18')).toBe(false); // year only
  });

  it('matches day and month swapped within the same year', () => {
    expect(partialDobMatch('1985-03-07', '1985-07-03')).toBe(true);
    expect(partialDobMatch('1985-03-07', '1986-07-03')).toBe(false);
    expect(partialDobMatch('1985-12-01', '1985-01-12')).toBe(true);
  });

  it('is symmetric, and equals the definition counted part by part', () => {
    fc.assert(
      fc.property(ymd, ymd, (a, b) => {
        const A = iso(a.y, a.m, a.d);
        const B = iso(b.y, b.m, b.d);
        const agree = [a.y === b.y, a.m === b.m, a.d === b.d].filter(Boolean).length;
        const swapped = a.y === b.y && a.m === b.d && a.d === b.m;
        expect(partialDobMatch(A, B)).toBe(partialDobMatch(B, A));
        expect(partialDobMatch(A, B)).toBe(agree >= 2 || swapped);
      }),
    );
  });

  it('always matches a date that differs in one part only, or with day and month swapped', () => {
    fc.assert(
      fc.property(ymd, fc.integer({ min: 1895, max: 2025 }), fc.integer({ min: 1, max: 12 }), (a, y, m) => {
        const A = iso(a.y, a.m, a.d);
        expect(partialDobMatch(A, iso(y, a.m, a.d))).toBe(true);
        if (a.d <= 28) expect(partialDobMatch(A, iso(a.y, m, a.d))).toBe(true);
        if (a.d <= 12) expect(partialDobMatch(A, iso(a.y, a.d, a.m))).toBe(true);
      }),
    );
  });
});

describe('linkReference (the literal algorithm)', () => {
  const p = (
    id: number,
    nhsNumber: string,
    birthDate: string,
    sex: 'M' | 'F' | 'U',
    postcode: string | null,
  ) => ({ id, nhsNumber, birthDate, sex, postcode }) satisfies LinkPatient;
  const r = (
    id: number,
    nhsNumber: string | null,
    birthDate: string | null,
    sex: 'M' | 'F' | 'U',
    postcode: string | null,
  ) => ({ id, nhsNumber, birthDate, sex, postcode }) satisfies LinkRow;

  it('takes the first step that has exactly one candidate', () => {
    const patients = [
      p(1, '9434765919', '1980-05-17', 'M', 'LS6 1AB'),
      p(2, '9434765870', '1970-08-15', 'F', 'LS8 1AA'),
      p(3, '9434765862', '1970-08-15', 'F', 'LS8 1AA'),
    ];
    const out = linkReference(
      [
        r(10, '9434765919', '1980-05-17', 'M', 'LS6 1AB'),
        r(11, null, '1980-05-18', 'M', 'LS6 1AB'), // partial DOB: no demographic step (issue #26)
        r(12, null, '1970-08-15', 'F', 'LS8 1AA'),
        r(13, '9434765862', null, 'U', null),
        // Sex + DOB without the postcode is not enough (issue #26: SPEC's step 7 would have linked it).
        r(14, null, '1980-05-17', 'M', 'LS1 1AA'),
      ],
      patients,
    );
    expect([...out.entries()]).toEqual([
      [10, { patientId: 1, step: 1 }],
      [11, { patientId: null, step: null }],
      [12, { patientId: null, step: null }],
      [13, { patientId: 3, step: 8 }],
      [14, { patientId: null, step: null }],
    ]);
  });

  it('counts people named on rows as candidates at steps 6 and 7 (issue #26)', () => {
    const patients = [p(1, '9434765919', '1980-05-17', 'M', 'LS6 1AB')];
    const outsider = '9434765870';
    const out = linkReference(
      [
        r(20, outsider, '1980-05-17', 'M', 'LS6 1AB'), // names someone not held, at patient 1's address
        r(21, null, '1980-05-17', 'M', 'LS6 1AB'), // two people fit: nobody's
        r(22, '9434765919', '1980-05-17', 'M', 'HX1 1AA'), // patient 1, moved: step 2
        r(23, null, '1980-05-17', 'M', 'HX1 1AA'), // only patient 1 is named there: step 6
        r(24, null, '1980-05-17', 'M', 'OX1 1AA'), // named by an earlier load, not held: nobody's
      ],
      patients,
      [],
      [{ nhsNumber: '9434765862', birthDate: '1980-05-17', sex: 'M', postcode: 'OX1 1AA' }],
    );
    expect([...out.entries()]).toEqual([
      [20, { patientId: null, step: null }],
      [21, { patientId: null, step: null }],
      [22, { patientId: 1, step: 2 }],
      [23, { patientId: 1, step: 6 }],
      [24, { patientId: null, step: null }],
    ]);
  });
});
