import { Module } from '@nestjs/common';
import { RegisterController } from './register.controller';
import { RegisterModule } from './register.module';

@Module({ imports: [RegisterModule], controllers: [RegisterController] })
export class RegisterHttpModule {}
