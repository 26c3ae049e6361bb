import { Body, Controller, Get, HttpCode, Inject, Optional, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiQuery, ApiTags } from '@nestjs/swagger';
import {
  Can,
  CurrentUser,
  Principal,
  ReqMeta,
  RequestMeta,
  ValidationError,
  ParseUUIDPipe,
} from '@custodian/core';
import {
  CreateOrganisationDto,
  CreateUserDto,
  OrganisationDto,
  RoleGrantDto,
  UpdateUserDto,
  UserDto,
} from './dto';
import { toOrganisationResponse, toRoleGrantResponse, toUserResponse } from './identity-responses';
import { IdentityService } from './identity.service';
import { IDENTITY_ERRORS } from './identity.errors';
import { PRACTICE_DIRECTORY, type PracticeDirectory } from './practice-directory';

@ApiTags('organisations')
@Controller('organisations')
export class OrganisationsController {
  constructor(private readonly identity: IdentityService) {}

  @Post()
  @Can('create', 'Organisation')
  @ApiCreatedResponse({ type: OrganisationDto })
  async create(
    @CurrentUser() user: Principal,
    @Body() dto: CreateOrganisationDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<OrganisationDto> {
    return toOrganisationResponse(await this.identity.createOrganisation(user, dto, meta));
  }

  @Get()
  @Can('read', 'Organisation')
  @ApiOkResponse({ type: [OrganisationDto] })
  async list(): Promise<OrganisationDto[]> {
    return (await this.identity.listOrganisations()).map(toOrganisationResponse);
  }

  @Get(':id')
  @Can('read', 'Organisation')
  @ApiOkResponse({ type: OrganisationDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<OrganisationDto> {
    return toOrganisationResponse(await this.identity.getOrganisation(id));
  }
}

@ApiTags('users')
@Controller('users')
export class UsersController {
  constructor(
    private readonly identity: IdentityService,
    // Where the practices module is loaded (the API): bindings are to practices it knows.
    @Optional() @Inject(PRACTICE_DIRECTORY) private readonly practices?: PracticeDirectory,
  ) {}

  /** A practice account is bound to a practice the centre knows (400 UNKNOWN_PRACTICE otherwise). */
  private async checkPractice(odsCode: string | null | undefined, roles?: string[]): Promise<void> {
    // A binding the roles do not allow is the service's refusal (PRACTICE_BINDING_NOT_ALLOWED).
    if (roles && !roles.includes('practice')) return;
    if (odsCode && this.practices && !(await this.practices.practiceExists(odsCode)))
      throw new ValidationError(
        IDENTITY_ERRORS.UNKNOWN_PRACTICE,
        'practiceOds does not name a practice of the centre',
      );
  }

  @Post()
  @Can('create', 'User')
  @ApiCreatedResponse({ type: UserDto })
  async create(
    @CurrentUser() user: Principal,
    @Body() dto: CreateUserDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<UserDto> {
    await this.checkPractice(dto.practiceOds, dto.roles);
    return toUserResponse(await this.identity.requestUser(user, dto, meta));
  }

  @Get()
  @Can('read', 'User')
  @ApiQuery({ name: 'organisationId', required: false, schema: { type: 'string', format: 'uuid' } })
  @ApiOkResponse({ type: [UserDto] })
  async list(
    @Query('organisationId', new ParseUUIDPipe({ optional: true })) organisationId?: string,
  ): Promise<UserDto[]> {
    return (await this.identity.listUsers(organisationId)).map(toUserResponse);
  }

  @Get(':id')
  @Can('read', 'User')
  @ApiOkResponse({ type: UserDto })
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<UserDto> {
    return toUserResponse(await this.identity.getUser(id));
  }

  @Patch(':id')
  @Can('update', 'User')
  @ApiOkResponse({ type: UserDto })
  async update(
    @CurrentUser() user: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() dto: UpdateUserDto,
    @ReqMeta() meta: RequestMeta,
  ): Promise<UserDto> {
    await this.checkPractice(dto.practiceOds, dto.roles);
    return toUserResponse(await this.identity.updateUser(user, id, dto, meta));
  }
}

/** Governance-role grants waiting for a second administrator (issue #28). */
@ApiTags('role-grants')
@Controller('role-grants')
export class RoleGrantsController {
  constructor(private readonly identity: IdentityService) {}

  @Get()
  @Can('read', 'RoleGrant')
  @ApiOkResponse({ type: [RoleGrantDto], description: 'Pending grants, oldest first' })
  async listPending(): Promise<RoleGrantDto[]> {
    return (await this.identity.listPendingGrants()).map(toRoleGrantResponse);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Can('approve', 'RoleGrant')
  @ApiOkResponse({ type: RoleGrantDto })
  async approve(
    @CurrentUser() user: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @ReqMeta() meta: RequestMeta,
  ): Promise<RoleGrantDto> {
    return toRoleGrantResponse(await this.identity.approveGrant(user, id, meta));
  }

  @Post(':id/refuse')
  @HttpCode(200)
  @Can('refuse', 'RoleGrant')
  @ApiOkResponse({ type: RoleGrantDto })
  async refuse(
    @CurrentUser() user: Principal,
    @Param('id', ParseUUIDPipe) id: string,
    @ReqMeta() meta: RequestMeta,
  ): Promise<RoleGrantDto> {
    return toRoleGrantResponse(await this.identity.refuseGrant(user, id, meta));
  }
}
