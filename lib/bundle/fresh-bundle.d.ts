export function findRoot(from: string): string;
export function freshBundle(root: string, entry: string, name: string): string;
export const BUNDLES: readonly { entry: string; name: 'cli' | 'kernel-child' | 'cli-early' }[];
