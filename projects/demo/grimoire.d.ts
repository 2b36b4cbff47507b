// Editor and type-check support for this project's TypeScript blocks: the block API as globals.
type DataFrame = import('../../lib/kernel/block-api').DataFrame;
type BlockContext = import('../../lib/kernel/block-api').BlockContext;
