import fc from 'fast-check';
import { OBJECTION_CODES } from '@custodian/objections/objection-codes';
import { parseExtractLine } from './fhir';

/**
 * Fail closed (an outsider's probe, 2026-12-07): a line of an extract that carries a code of the
 * objection table anywhere in its values is either read as an objection of that code's type or
 * refuses the whole extract ('unresolved') — never stored, refused or dropped as an ordinary line.
 */
const TODAY = '2026-01-15';
const READ = 'http://read.info/readv2';

describe('objection codes the reader does not recognise', () => {
  it('property: a line carrying an objection code anywhere is an objection of its type, or refuses the extract (a withdrawal: or is refused as a line)', () => {
    const code = fc.constantFrom(...OBJECTION_CODES);
    const type = fc.constantFrom(
      'Observation',
      'observation',
      'Condition',
      'Procedure',
      'MedicationStatement',
      'Flag',
      'Consent',
      'Patient',
      'Bundle',
    );
    const system = fc.constantFrom(
      READ,
      `${READ}/`,
      'http://read.info/ReadV2',
      'http://snomed.info/sct',
      'urn:oid:2.16.840.1.113883.2.1.3.2.4.15',
    );
    // Where the code goes: a coding, a plain string, a note, an extension, in another case.
    const place = fc.constantFrom('coding', 'string', 'note', 'extension', 'medication', 'valueString');
    const escape = fc.boolean();
    const lowerCase = fc.boolean();
    const bom = fc.boolean();
    const broken = fc.boolean();
    fc.assert(
      fc.property(
        code,
        type,
        system,
        place,
        escape,
        lowerCase,
        bom,
        broken,
        (c, t, sys, where, esc, lower, b, cut) => {
          const value = lower ? c.code.toLowerCase() : c.code;
          const r: Record<string, unknown> = {
            resourceType: t,
            id: 'o1',
            status: 'final',
            subject: { reference: 'Patient/p1' },
            effectiveDateTime: '2020-01-01T10:00:00Z',
            code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
          };
          if (where === 'coding') r.code = { coding: [{ system: sys, code: value }] };
          if (where === 'string') r.code = value;
          if (where === 'note') r.note = [{ text: `patient asked: ${value}` }];
          if (where === 'extension') r.extension = [{ url: 'https://example.org/x', valueCode: value }];
          if (where === 'medication')
            r.medicationCodeableConcept = { coding: [{ system: sys, code: value }] };
          if (where === 'valueString') r.valueString = value;
          let text = JSON.stringify(r);
          if (esc)
            text = text.replace(
              value,
              `\\u${value.charCodeAt(0).toString(16).padStart(4, '0')}${value.slice(1)}`,
            );
          if (cut) text = text.slice(0, -1);
          if (b) text = `\ufeff${text}`;
          const out = parseExtractLine(text, 'A81001', TODAY);
          if (out.kind === 'objection') expect(out.entries.map((e) => e.type)).toContain(c.type);
          // A withdrawal recognised but not applicable (no date it can be applied at) is refused as a
          // line: the objection stays (fail closed, as designed).
          else if (out.kind === 'rejected') expect(c.action).toBe('withdraw');
          else expect(out.kind).toBe('unresolved');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('a code inside an id or a reference names a record, it codes nothing: the line is read as it is', () => {
    const patient = JSON.stringify({
      resourceType: 'Patient',
      id: 'later-9Nu0',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
    });
    expect(parseExtractLine(patient, 'A81001', TODAY).kind).toBe('patient');
    const cond = JSON.stringify({
      resourceType: 'Condition',
      id: 'c-827241000000103',
      subject: { reference: 'Patient/later-9Nu0' },
      code: { coding: [{ system: 'http://snomed.info/sct', code: '22298006' }] },
      onsetDateTime: '2020-01-01',
    });
    expect(parseExtractLine(cond, 'A81001', TODAY).kind).toBe('event');
  });

  it("base64 (a photo's data) that holds a code's letters is no objection: the line is read as it is (it refused whole exports: a review)", () => {
    for (const inside of ['AAA9nU4BBB', '+9Nu0/', 'x827241000000103y'])
      for (const where of ['photo', 'note'] as const) {
        const r: Record<string, unknown> = {
          resourceType: 'Patient',
          id: 'p1',
          identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
          birthDate: '1970-01-01',
        };
        if (where === 'photo') r.photo = [{ contentType: 'image/jpeg', data: `/9j/4AAQ${inside}Zk==` }];
        else r.extension = [{ url: 'https://example.org/x', valueBase64Binary: `QUJD${inside}RA==` }];
        expect(parseExtractLine(JSON.stringify(r), 'A81001', TODAY).kind, `${where} ${inside}`).toBe(
          'patient',
        );
      }
    // The code as a token of its own, anywhere else, still refuses the extract (fail closed).
    const noted = JSON.stringify({
      resourceType: 'Patient',
      id: 'p1',
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
      birthDate: '1970-01-01',
      extension: [{ url: 'https://example.org/x', valueString: 'objection 9nu0.' }],
    });
    expect(parseExtractLine(noted, 'A81001', TODAY).kind).toBe('unresolved');
  });
});
