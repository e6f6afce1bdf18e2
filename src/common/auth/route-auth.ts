import { type INestApplication, RequestMethod } from '@nestjs/common';
import { GUARDS_METADATA, METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { ModulesContainer } from '@nestjs/core';
import type { ApiAuthKind } from './api-auth.decorator.js';
import { API_AUTH_KEY, ApiKeyGuard } from './api-key.guard.js';

/** One route: its HTTP verb (upper case) and its path as Fastify writes it (`/api/v1/users/:userId`). */
export interface RouteAuth {
  method: string;
  path: string;
  kind: ApiAuthKind;
}

/**
 * For every route of every controller (calsync's and extensions'): which key it needs, as
 * `ApiKeyGuard` decides it. Read from the same metadata the guard reads, so the OpenAPI security and
 * the check before the body is parsed (`checkKeysBeforeParsing`) cannot disagree with the guard.
 */
export function routeAuthKinds(app: INestApplication): RouteAuth[] {
  const routes: RouteAuth[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as (new (...args: never[]) => unknown) | null;
      if (!controller) continue;
      const guarded = (target: object) =>
        ((Reflect.getMetadata(GUARDS_METADATA, target) as unknown[] | undefined) ?? []).includes(ApiKeyGuard);
      const prefixes = asList(Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined);
      for (const name of Object.getOwnPropertyNames(controller.prototype)) {
        const handler = (controller.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const verb = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (verb === undefined) continue;
        const declared =
          (Reflect.getMetadata(API_AUTH_KEY, handler) as ApiAuthKind | undefined) ??
          (Reflect.getMetadata(API_AUTH_KEY, controller) as ApiAuthKind | undefined);
        const isGuarded = guarded(controller) || guarded(handler);
        for (const prefix of prefixes) {
          for (const suffix of asList(Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined)) {
            const path = joinPath(prefix, suffix);
            // A route under /api/v1 needs its key even without `@ApiKeyProtected()` (an extension's
            // controller that forgot it): only `@PublicRoute()` opens one. The check before parsing
            // enforces this table.
            const kind: ApiAuthKind = isGuarded ? (declared ?? 'app') : (declared ?? defaultKind(path));
            routes.push({ method: RequestMethod[verb], path, kind });
          }
        }
      }
    }
  }
  return routes;
}

/** The key a route needs when its controller says nothing: the contract's, by its path. */
function defaultKind(path: string): ApiAuthKind {
  if (path.startsWith('/api/v1/admin/')) return 'admin';
  return path.startsWith('/api/v1/') ? 'app' : 'none';
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [''] : Array.isArray(value) ? value : [value];
}

function joinPath(prefix: string, suffix: string): string {
  return `/${[prefix, suffix]
    .flatMap((part) => part.split('/'))
    .filter((part) => part !== '')
    .join('/')}`;
}
