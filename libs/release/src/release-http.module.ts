import { Module } from '@nestjs/common';
import { BidsModule } from '@custodian/bids';
import { AuditModule } from '@custodian/audit';
import { BidReleasesService } from './bid-releases.service';
import { BidReleasesController, ReleaseController } from './release.controller';
import { ReleaseModule } from './release.module';

@Module({
  imports: [ReleaseModule, BidsModule, AuditModule],
  providers: [BidReleasesService],
  controllers: [ReleaseController, BidReleasesController],
  exports: [BidReleasesService],
})
export class ReleaseHttpModule {}
