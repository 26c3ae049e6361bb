import { Module } from '@nestjs/common';
import { AmendmentReviewController } from './amendment-review.controller';
import { GovernanceModule } from './governance.module';
import { PanelController } from './panel.controller';

@Module({ imports: [GovernanceModule], controllers: [PanelController, AmendmentReviewController] })
export class GovernanceHttpModule {}
