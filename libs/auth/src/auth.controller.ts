import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import {
  ApiBody,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Can, CurrentUser, Principal, Public, ReqMeta, RequestMeta } from '@custodian/core';
import { AuthService } from './auth.service';
import { LoginDto, MeDto, RefreshDto, TokenPairDto } from './dto';
import { LocalAuthGuard } from './guards';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('login')
  @Public()
  @HttpCode(200)
  @UseGuards(LocalAuthGuard)
  @ApiBody({ type: LoginDto })
  @ApiOkResponse({ type: TokenPairDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_CREDENTIALS: the email or password is incorrect' })
  @ApiTooManyRequestsResponse({ description: 'Too many failed attempts for this account or address' })
  login(@CurrentUser() user: Principal): Promise<TokenPairDto> {
    return this.auth.startSession(user.id);
  }

  @Post('refresh')
  @ApiUnauthorizedResponse({
    description:
      'INVALID_REFRESH_TOKEN, or REFRESH_TOKEN_REUSED (a used token presented again: the whole session family is revoked)',
  })
  @Public()
  @HttpCode(200)
  @ApiOkResponse({ type: TokenPairDto })
  refresh(@Body() dto: RefreshDto, @ReqMeta() meta: RequestMeta): Promise<TokenPairDto> {
    return this.auth.refresh(dto.refreshToken, meta);
  }

  @Post('logout')
  @Can('delete', 'Session')
  @HttpCode(204)
  @ApiNoContentResponse()
  logout(@CurrentUser() user: Principal, @ReqMeta() meta: RequestMeta): Promise<void> {
    return this.auth.logout(user, meta);
  }

  @Get('me')
  @Can('read', 'Profile')
  @ApiOkResponse({ type: MeDto })
  me(@CurrentUser() user: Principal): MeDto {
    return {
      id: user.id,
      email: user.email,
      roles: user.roles,
      organisationId: user.organisationId,
      practiceOds: user.practiceOds,
    };
  }
}
