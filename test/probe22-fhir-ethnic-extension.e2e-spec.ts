import { ETHNIC, nhsNumber, patient } from './support/fhir';
import { r4Problems } from './support/fhir-r4';
import { extractorRun } from './support/extractor-run';

/**
 * probe-22 #4 (outside tester, strict FHIR R4 validator on the extractor's output).
 *
 * A Patient's ethnic category that a practice system writes in a form the extractor does not keep
 * (free text only, a `valueCoding`, the category as a nested extension, a coding with only a
 * display) leaves the extract as an Extension holding only its `url`. FHIR R4's invariant ext-1
 * ("Must have either extensions or value[x], not both": `extension.exists() != value.exists()`)
 * fails on it, so a strict validator (HL7's) rejects the line.
 */
describe('probe-22 #4: the extract is valid FHIR R4 (ext-1)', () => {
  const run = extractorRun('probe22-eth-');

  it('#4 never writes an ethnic-category Extension with neither a value nor extensions (ext-1)', async () => {
    const variants: Record<string, unknown> = {
      'text-only': { url: ETHNIC, valueCodeableConcept: { text: 'White British' } },
      'value-coding': {
        url: ETHNIC,
        valueCoding: { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A' },
      },
      nested: {
        url: ETHNIC,
        extension: [
          {
            url: 'ethnicCategory',
            valueCodeableConcept: {
              coding: [
                { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland', code: 'A' },
              ],
            },
          },
        ],
      },
      'display-only': { url: ETHNIC, valueCodeableConcept: { coding: [{ display: 'White - British' }] } },
    };
    const resources = Object.entries(variants).map(([name, ext], i) =>
      patient(`eth-${name}`, nhsNumber(22_400 + i), { extension: [ext] }),
    );
    const { lines } = await run(resources);
    expect(lines).toHaveLength(resources.length);
    const problems = lines.flatMap((r) => r4Problems(r).map((p) => `${String(r.id)}: ${p}`));
    // Today: four times "Patient.extension[0]: ext-1 (extensions or a value[x], not both)", each
    // extension written as {"url": "…Extension-UKCore-EthnicCategory"} alone.
    expect(problems).toEqual([]);
  });
});
