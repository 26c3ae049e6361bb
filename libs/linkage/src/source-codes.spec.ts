import { AREAS, HES_DIAGNOSES, SERVICES_ADULT, SERVICES_CHILD } from '@custodian/synth';
import { CODE_FORMATS, serviceTypeOf } from './source-codes';

const re = (f: keyof typeof CODE_FORMATS) => new RegExp(CODE_FORMATS[f]);

describe('source code formats (#19)', () => {
  it('accept what the synthetic generator writes', () => {
    for (const s of [...SERVICES_ADULT, ...SERVICES_CHILD])
      expect(serviceTypeOf(s.name), s.name).toBeDefined();
    for (const a of AREAS) {
      expect(a.provider).toMatch(re('ods'));
      expect(a.laCode).toMatch(re('onsLa'));
    }
    for (const d of HES_DIAGNOSES) {
      expect(d.icd10).toMatch(re('icd10'));
      for (const o of d.opcs ?? []) expect(o).toMatch(re('opcs4'));
    }
  });

  it('read a service type case-insensitively, spaces, hyphens and underscores alike; nothing else', () => {
    expect(serviceTypeOf('Home Care')).toBe('home_care');
    expect(serviceTypeOf('  home-care ')).toBe('home_care');
    expect(serviceTypeOf('HOME__CARE')).toBe('home_care');
    for (const v of ['=home_care', 'home care please', 'Mrs Smith', '', '=HYPERLINK("x")'])
      expect(serviceTypeOf(v), v).toBeUndefined();
  });

  it('codes match and free text or formulas do not', () => {
    const ok = {
      icd10: ['I63', 'I639', 'I63.9', 'R69X', 'I639D'],
      opcs4: ['W371', 'W37.1'],
      ods: ['RR8', 'RR801', 'LGI'],
      onsLa: ['E08000035', 'W06000015'],
    };
    const bad = {
      icd10: ['I6', 'I63.', 'stroke', '=1+2', '-I63'],
      opcs4: ['W37', 'W3712', 'hip op', '-'],
      ods: ['RR', 'RR8011', 'RR 8', '@RR8'],
      onsLa: ['E0800003', 'Leeds', '=E08000035'],
    };
    for (const [f, values] of Object.entries(ok))
      for (const v of values) expect(v).toMatch(re(f as keyof typeof CODE_FORMATS));
    for (const [f, values] of Object.entries(bad))
      for (const v of values) expect(v).not.toMatch(re(f as keyof typeof CODE_FORMATS));
  });
});
