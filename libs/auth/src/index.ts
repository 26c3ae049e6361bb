export { AuthHttpModule } from './auth-http.module';
export { AuthModule } from './auth.module';
export { AuthService } from './auth.service';
export { JwtAuthGuard } from './guards';
export { AUTH_ERRORS } from './auth.errors';
