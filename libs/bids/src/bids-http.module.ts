import { Module } from '@nestjs/common';
import { BidAmendmentsController } from './bid-amendments.controller';
import { BidsController } from './bids.controller';
import { BidsModule } from './bids.module';

@Module({ imports: [BidsModule], controllers: [BidsController, BidAmendmentsController] })
export class BidsHttpModule {}
