import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiTags, ApiAcceptedResponse, ApiCreatedResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { ApiKeyProtected } from '../../common/auth/api-auth.decorator.js';
import { BigIdParamPipe, IdParamPipe } from '../../common/validation/id-param.pipe.js';
import {
  CreateWebhookEndpointDto,
  EndpointPageQueryDto,
  PageQueryDto,
  UpdateWebhookEndpointDto,
} from './dto/webhook-endpoint.dto.js';
import { WebhookEndpointsService } from './webhook-endpoints.service.js';
import { ApiPageResponse } from '../../common/openapi/responses.js';
import {
  RedeliveryResponse,
  WebhookDeliveryResponse,
  WebhookEndpointResponse,
  WebhookEndpointWithSecretResponse,
  WebhookSecretResponse,
} from './dto/host-events.response.js';
import { NoBody } from '../../common/validation/no-body.js';

const DEFAULT_LIMIT = 50;

@ApiTags('webhook endpoints')
@ApiKeyProtected()
@Controller('api/v1/webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly endpoints: WebhookEndpointsService) {}

  /** The answer is the only time the secret is shown (besides rotate-secret). */
  @ApiCreatedResponse({ type: WebhookEndpointWithSecretResponse })
  @Post()
  create(@Body() body: CreateWebhookEndpointDto) {
    return this.endpoints.create(body);
  }

  @ApiPageResponse(WebhookEndpointResponse)
  @Get()
  list(@Query() query: EndpointPageQueryDto) {
    return this.endpoints.list(query.limit ? Number(query.limit) : DEFAULT_LIMIT, query.after ? Number(query.after) : null);
  }

  @ApiOkResponse({ type: WebhookEndpointResponse })
  @Get(':id')
  get(@Param('id', IdParamPipe) id: number) {
    return this.endpoints.get(id);
  }

  @ApiOkResponse({ type: WebhookEndpointResponse })
  @Patch(':id')
  update(@Param('id', IdParamPipe) id: number, @Body() body: UpdateWebhookEndpointDto) {
    return this.endpoints.update(id, body);
  }

  @ApiOperation({ operationId: 'deleteWebhookEndpoint' })
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id', IdParamPipe) id: number): Promise<void> {
    await this.endpoints.remove(id);
  }

  @ApiOperation({ operationId: 'rotateWebhookEndpointSecret' })
  @ApiOkResponse({ type: WebhookSecretResponse })
  @Post(':id/rotate-secret')
  @HttpCode(200)
  rotateSecret(@NoBody() _body: undefined, @Param('id', IdParamPipe) id: number) {
    return this.endpoints.rotateSecret(id);
  }

  @ApiOperation({ operationId: 'listWebhookDeliveries' })
  @ApiPageResponse(WebhookDeliveryResponse)
  @Get(':id/deliveries')
  deliveries(@Param('id', IdParamPipe) id: number, @Query() query: PageQueryDto) {
    return this.endpoints.deliveries(
      id,
      query.limit ? Number(query.limit) : DEFAULT_LIMIT,
      query.after ? Number(query.after) : null,
    );
  }

  @ApiOperation({ operationId: 'redeliverWebhookDelivery' })
  @ApiAcceptedResponse({ type: RedeliveryResponse })
  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(202)
  redeliver(
    @NoBody() _body: undefined,
    @Param('id', IdParamPipe) id: number,
    @Param('deliveryId', BigIdParamPipe) deliveryId: number,
  ) {
    return this.endpoints.redeliver(id, deliveryId);
  }
}
