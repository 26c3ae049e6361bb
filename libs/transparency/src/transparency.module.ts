import { Module } from '@nestjs/common';
import { BidsModule } from '@custodian/bids';
import { TransparencyService } from './transparency.service';

/** Live clocks on requests and the published statistics (#24). */
@Module({ imports: [BidsModule], providers: [TransparencyService], exports: [TransparencyService] })
export class TransparencyModule {}
