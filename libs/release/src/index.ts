export { PRIMARY_MAX, shownCount } from './disclosure-control';
export { releasePhase, type ReleaseSpec } from './release.types';
export { ReleaseEngine } from './engine/release.engine';
export { ReleaseService } from './release.service';
export { ReleaseDestruction } from './release-destruction.service';
export { ReleaseModule } from './release.module';
export { ReleaseHttpModule } from './release-http.module';
export { BidReleasesService } from './bid-releases.service';
export { DownloadGuard } from './download-guard';
