// Editor and type-check support for this project's TypeScript blocks: the block API as globals.
type DataFrame<Of = unknown> = import('../../lib/kernel/block-api').DataFrame<Of>;
type BlockContext = import('../../lib/kernel/block-api').BlockContext;
