import { migrateDatabase, openDatabase } from './src/engine/db/orm.js';
const orm = await openDatabase({ sqlitePath: ':memory:' });
await migrateDatabase(orm);
console.log(await orm.schema.getUpdateSchemaSQL({ wrap: false }));
await orm.close();
