import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuditModule } from '@custodian/audit';
import { APP_CONFIG, AppConfig } from '@custodian/core';
import { IdentityModule, USER_SESSIONS } from '@custodian/identity';
import { AuthService, JWT_ALGORITHM, JWT_AUDIENCE, JWT_ISSUER } from './auth.service';
import { JwtAuthGuard } from './guards';
import { PrincipalCache } from './principal-cache';
import { AuthSession, RefreshToken } from './session.entity';
import { JwtStrategy, LocalStrategy } from './strategies';

/**
 * Global: it provides `USER_SESSIONS` to identity, which does not import auth (auth → identity).
 */
@Global()
@Module({
  imports: [
    AuditModule,
    IdentityModule,
    PassportModule,
    TypeOrmModule.forFeature([AuthSession, RefreshToken]),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: config.jwtSecret,
        signOptions: {
          algorithm: JWT_ALGORITHM,
          issuer: JWT_ISSUER,
          audience: JWT_AUDIENCE,
          expiresIn: config.accessTokenTtlSeconds,
        },
        verifyOptions: { algorithms: [JWT_ALGORITHM], issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
      }),
    }),
  ],
  providers: [
    AuthService,
    { provide: USER_SESSIONS, useExisting: AuthService },
    PrincipalCache,
    LocalStrategy,
    JwtStrategy,
    JwtAuthGuard,
  ],
  exports: [AuthService, USER_SESSIONS, JwtAuthGuard],
})
export class AuthModule {}
