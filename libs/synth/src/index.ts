export { DEFAULT_ERROR_MODEL, type ErrorModel, parseErrorModel } from './error-model';
export { generate } from './generate';
export { DEFAULT_EVENTS_PER_PATIENT, DEFAULT_SEED, Population } from './population';
export { AREAS, HES_DIAGNOSES, SERVICES_ADULT, SERVICES_CHILD } from './reference-data';
export { mix32, Rng, uuid, Weighted } from './prng';
