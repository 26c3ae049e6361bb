import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from './config';
import { UploadSlots } from './upload-slots';

/** Provides the configuration validated at boot (see loadConfig), and the upload slots, to every module. */
@Global()
@Module({})
export class CoreConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CoreConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }, UploadSlots],
      exports: [APP_CONFIG, UploadSlots],
    };
  }
}
