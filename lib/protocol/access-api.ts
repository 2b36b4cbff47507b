/**
 * HTTP bodies and answers of sign-in, users, personal API tokens, secrets and the audit log.
 * Route handlers parse requests with these; the browser parses the answers.
 */
import { z } from 'zod';
import { ROLES } from '../access/roles';

export const loginSchema = z.object({ username: z.string().min(1).max(200), password: z.string().min(1).max(1024) }).strict();

export const meSchema = z.object({ user: z.object({ name: z.string(), role: z.enum(ROLES), kind: z.enum(['user', 'start_token']) }) });

export const userSchema = z.object({ name: z.string(), role: z.enum(ROLES), created_at: z.string() });
export const usersAnswerSchema = z.object({ users: z.array(userSchema) });
export const addUserSchema = z.object({ name: z.string().min(1).max(64), role: z.enum(ROLES), password: z.string().min(1).max(1024) }).strict();
export const changeUserSchema = z.object({ role: z.enum(ROLES).optional(), password: z.string().min(1).max(1024).optional() }).strict();

export const apiTokenSchema = z.object({ id: z.string(), name: z.string(), user: z.string(), created_at: z.string(), last_used_at: z.string().nullable() });
export const tokensAnswerSchema = z.object({ tokens: z.array(apiTokenSchema) });
export const createTokenSchema = z.object({ name: z.string().min(1).max(100) }).strict();
/** The token itself appears in this answer only, once. */
export const createdTokenSchema = z.object({ id: z.string(), token: z.string() });

export const secretNameSchema = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a secret name is letters, digits and _ (not starting with a digit)');
export const secretsAnswerSchema = z.object({ secrets: z.array(z.object({ name: z.string(), updated_at: z.string(), updated_by: z.string() })) });
export const setSecretSchema = z.object({ value: z.string().max(65536) }).strict();

export const auditAnswerSchema = z.object({
  entries: z.array(z.object({ id: z.number(), at: z.string(), actor: z.string(), action: z.string(), target: z.string(), detail: z.record(z.string(), z.unknown()) })),
});
