import { z } from 'zod';
import { isObjectUrl, parseLakeUrl, unsupportedScheme } from '../io/object-path';

/**
 * A block's declarative export (`configuration.destination` in metadata.yaml), written after the
 * block succeeds. Stored format: keys and values here never change meaning.
 */
const writePolicy = z.enum(['replace', 'append', 'fail']);

export const destinationSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('postgres'),
    profile: z.string().default('default'),
    schema: z.string().min(1).optional(),
    table: z.string().min(1),
    write_policy: writePolicy.default('replace'),
    unique_constraints: z.array(z.string()).optional(),
  }),
  z.object({
    type: z.literal('parquet'),
    /** Relative to the project, or `s3://bucket/prefix` (written with the profile's AWS_* keys). */
    path: z
      .string()
      .min(1)
      .superRefine((place, ctx) => {
        const refused = unsupportedScheme(place, false);
        if (refused) ctx.addIssue({ code: 'custom', message: refused });
        else if (isObjectUrl(place)) {
          try {
            parseLakeUrl(place);
          } catch (e) {
            ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
          }
        }
      }),
    profile: z.string().default('default'),
    partition_by: z.array(z.string()).optional(),
    compression: z.enum(['snappy', 'zstd', 'gzip', 'uncompressed']).optional(),
    write_policy: writePolicy.default('replace'),
  }),
]);
export type Destination = z.infer<typeof destinationSchema>;

/** The block's destination, null when it has none, or a message saying what is wrong with it. */
export function readDestination(configuration: Readonly<Record<string, unknown>>): { ok: true; value: Destination | null } | { ok: false; message: string } {
  const raw = configuration.destination;
  if (raw === undefined || raw === null) return { ok: true, value: null };
  const parsed = destinationSchema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    message: `configuration.destination: ${parsed.error.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')}`,
  };
}
