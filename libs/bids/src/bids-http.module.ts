import { Module } from '@nestjs/common';
import { BidsController } from './bids.controller';
import { BidsModule } from './bids.module';

@Module({ imports: [BidsModule], controllers: [BidsController] })
export class BidsHttpModule {}
