export * from './dto';
export * from './register-http.module';
export * from './register.module';
export * from './register.service';
export * from './register.controller';
export * from './register-chain';
export * from './register-log.service';
export * from './verify-register';
