import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './config';

/** Provides the configuration validated at boot (see loadConfig) to every module. */
@Global()
@Module({})
export class CoreConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
