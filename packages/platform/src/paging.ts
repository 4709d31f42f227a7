import { Type } from '@sinclair/typebox';

/**
 * `limit` and `offset` of every list route, spread into its querystring schema. The offset stops
 * at the largest int4 so no number a client sends can overflow the database's LIMIT/OFFSET.
 */
export const Paging = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 100 }),
  offset: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 0 }),
};
