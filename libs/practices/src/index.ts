export { ExtractRefusedError, runExtractor } from './extractor';
export { uploadExtract } from './extract-upload';
export { ExtractsService } from './extracts.service';
export { LINKAGE_KEY_SHARED_URL } from './fhir-spec';
export { PracticesHttpModule } from './practices-http.module';
export { PracticesModule } from './practices.module';
export { PracticesService } from './practices.service';
export { PRACTICES_ERRORS } from './practices.errors';
export { GP_EVENTS_SOURCE, PATIENTS_SOURCE } from './sources';
