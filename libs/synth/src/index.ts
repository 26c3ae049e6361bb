export * from './dates';
export * from './fhir';
export * from './generate';
export * from './nhs-numbers';
export * from './population';
export { mix32, Rng, uuid, Weighted } from './prng';
export * from './reference-data';
export * from './secondary';
export * from './writer';
