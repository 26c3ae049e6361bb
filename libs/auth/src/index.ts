export * from './auth-http.module';
export * from './auth.module';
export * from './auth.service';
export * from './dto';
export * from './guards';
export * from './session.entity';
export * from './login-throttle';
