// The room state a client keeps (docs/PROTOCOL.md §4, §5): the schema,
// immutable states of entities sorted by id, the delta applier and the
// checksum.

/** Field types of a schema (PROTOCOL §4). */
export const FieldInt = 1;
export const FieldFloat = 2;
export const FieldString = 3;

/** A frame that cannot be turned into the server's state. */
export class DesyncError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "DesyncError";
  }
}

/**
 * The state model of a room type, parsed from the `schema` of `joined`.
 */
export class Schema {
  /**
   * @param {unknown} raw the decoded msgpack schema value
   *   `[[name, [field, type, ...]], ...]`
   */
  constructor(raw) {
    if (!Array.isArray(raw) || raw.length < 1 || raw.length > 255) {
      throw new DesyncError("schema: must be an array of 1..255 kinds");
    }
    /** @type {{name: string, fields: {name: string, type: number}[]}[]} */
    this.kinds = raw.map((k, i) => {
      if (!Array.isArray(k) || k.length < 2 || typeof k[0] !== "string" || !Array.isArray(k[1])) {
        throw new DesyncError(`schema: kind ${i} must be [name, fields]`);
      }
      const f = k[1];
      if (f.length < 2 || f.length > 64 || f.length % 2 !== 0) {
        throw new DesyncError(`schema: kind ${k[0]} must have 1..32 fields`);
      }
      const fields = [];
      for (let j = 0; j < f.length; j += 2) {
        const type = Number(f[j + 1]);
        if (typeof f[j] !== "string" || type < FieldInt || type > FieldString) {
          throw new DesyncError(`schema: kind ${k[0]} field ${j / 2} is invalid`);
        }
        fields.push({ name: f[j], type });
      }
      return { name: k[0], fields };
    });
    /** The mask width W: the largest number of fields of any kind. */
    this.maskWidth = Math.max(...this.kinds.map((k) => k.fields.length));
  }

  /**
   * The index of kind `name`, -1 if none.
   * @param {string} name
   */
  kindIndex(name) {
    return this.kinds.findIndex((k) => k.name === name);
  }

  /**
   * The index of field `name` of kind `kind`, -1 if none.
   * @param {number} kind
   * @param {string} name
   */
  fieldIndex(kind, name) {
    return this.kinds[kind]?.fields.findIndex((f) => f.name === name) ?? -1;
  }
}

/**
 * @typedef {number | bigint | string} Value
 * An int field is a number, or a bigint when it is outside
 * ±(2^53 - 1); a float field a number; a string field a string.
 */

/**
 * One entity. Entities of a State are frozen: an entity that did not
 * change is the same object in consecutive states.
 * @typedef {{readonly id: number, readonly kind: number, readonly values: readonly Value[]}} Entity
 */

/** The state of a room at one tick: entities in ascending id. */
export class State {
  /**
   * @param {Schema} schema
   * @param {number} tick
   * @param {Entity[]} entities sorted by ascending id
   */
  constructor(schema, tick, entities) {
    this.schema = schema;
    this.tick = tick;
    /** @type {readonly Entity[]} */
    this.entities = entities;
    /** @type {number} */
    this.checksum = checksum(schema, entities);
    /** @type {Map<number, Entity> | null} */
    this._byId = null;
  }

  /**
   * The entity with this id, undefined if none.
   * @param {number} id
   * @returns {Entity | undefined}
   */
  get(id) {
    let lo = 0;
    let hi = this.entities.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = this.entities[mid];
      if (e.id === id) return e;
      if (e.id < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /**
   * The entities as plain objects keyed by field name, e.g.
   * `{id: 1, kind: "player", x: 100, ...}` (a field named like `id` or
   * `kind` is shadowed by the entity's own; use `values` then).
   * @param {string} [kind] only entities of this kind
   */
  objects(kind) {
    const out = [];
    for (const e of this.entities) {
      const k = this.schema.kinds[e.kind];
      if (kind !== undefined && k.name !== kind) continue;
      /** @type {Record<string, unknown>} */
      const o = {};
      k.fields.forEach((f, i) => {
        o[f.name] = e.values[i];
      });
      o.id = e.id;
      o.kind = k.name;
      out.push(o);
    }
    return out;
  }
}

const TWO32 = 4294967296;

/**
 * Normalises an int: a number when it is a safe integer, else a bigint.
 * @param {bigint} v
 * @returns {number | bigint}
 */
function normInt(v) {
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/**
 * old + diff modulo 2^64, as a signed int64 (PROTOCOL §5.1).
 * @param {unknown} old
 * @param {unknown} diff
 */
function addInt(old, diff) {
  if (typeof old === "number" && typeof diff === "number") {
    const r = old + diff;
    if (Number.isSafeInteger(r)) return r;
  }
  if ((typeof diff !== "number" || !Number.isInteger(diff)) && typeof diff !== "bigint") {
    throw new DesyncError("int field change is not an integer");
  }
  return normInt(BigInt.asIntN(64, BigInt(/** @type {number|bigint} */ (old)) + BigInt(diff)));
}

/**
 * An absolute int value as sent in `created`.
 * @param {unknown} v
 */
function absInt(v) {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  if (typeof v === "bigint") return normInt(BigInt.asIntN(64, v));
  throw new DesyncError("int field is not an integer");
}

/**
 * Checks a decoded field value against its type and returns the stored
 * form.
 * @param {number} type
 * @param {unknown} v
 * @param {unknown} [old] the base value, for an int change
 * @returns {Value}
 */
function fieldValue(type, v, old) {
  switch (type) {
    case FieldInt:
      return old === undefined ? absInt(v) : addInt(old, v);
    case FieldFloat:
      if (typeof v === "number") return v;
      if (typeof v === "bigint") throw new DesyncError("float field holds an int64");
      throw new DesyncError("float field is not a number");
    default:
      if (typeof v !== "string") throw new DesyncError("string field is not a string");
      return v;
  }
}

/**
 * @param {unknown} v
 * @param {string} what
 */
function uintOf(v, what) {
  if (typeof v === "number" && Number.isInteger(v) && v >= 0) return v;
  if (typeof v === "bigint" && v >= 0n && v <= 9007199254740991n) return Number(v);
  throw new DesyncError(`${what} is not a uint`);
}

/**
 * Applies a delta (PROTOCOL §5.1) to base (null: the empty state, for a full
 * snapshot) and returns the state at tick. base is not modified. Throws a
 * DesyncError on a malformed delta.
 * @param {Schema} schema
 * @param {State | null} base
 * @param {number} tick
 * @param {unknown} changes
 * @param {unknown} [created]
 * @param {unknown} [removed]
 * @returns {State}
 */
export function applyDelta(schema, base, tick, changes, created = [], removed = []) {
  if (!Array.isArray(changes) || !Array.isArray(created) || !Array.isArray(removed)) {
    throw new DesyncError("changes, created and removed must be arrays");
  }
  const bents = base ? base.entities : [];
  /** @type {Entity[]} */
  const ents = bents.slice();
  const W = BigInt(schema.maskWidth);
  const maskBits = (1n << W) - 1n;

  // 1. changes, by base index.
  let idx = -1;
  for (let i = 0; i < changes.length; ) {
    const raw = changes[i++];
    const code = typeof raw === "bigint" ? raw : BigInt(uintOf(raw, "change code"));
    const mask = Number(code & maskBits);
    const gap = code >> W;
    if (mask === 0) throw new DesyncError("change with an empty mask");
    idx = idx + 1 + Number(gap);
    if (idx >= bents.length) throw new DesyncError(`change of base index ${idx} of ${bents.length}`);
    const be = bents[idx];
    const fields = schema.kinds[be.kind].fields;
    if (mask >= 1 << fields.length) throw new DesyncError(`change mask ${mask} beyond the fields of kind ${be.kind}`);
    const values = be.values.slice();
    for (let f = 0; f < fields.length; f++) {
      if ((mask & (1 << f)) === 0) continue;
      if (i >= changes.length) throw new DesyncError("changes truncated");
      const v = changes[i++];
      values[f] = fieldValue(fields[f].type, v, fields[f].type === FieldInt ? values[f] : undefined);
    }
    ents[idx] = Object.freeze({ id: be.id, kind: be.kind, values: Object.freeze(values) });
  }

  // 2. removed, ascending ids.
  let out = ents;
  if (removed.length > 0) {
    const gone = new Set();
    let prev = -1;
    for (const r of removed) {
      const id = uintOf(r, "removed id");
      if (id <= prev) throw new DesyncError("removed ids not ascending");
      prev = id;
      gone.add(id);
    }
    out = ents.filter((e) => !gone.has(e.id));
    if (out.length !== ents.length - gone.size) throw new DesyncError("removed an id that does not exist");
  }

  // 3. created, ascending ids, merged in.
  if (created.length > 0) {
    /** @type {Entity[]} */
    const add = [];
    let prev = -1;
    for (let i = 0; i < created.length; ) {
      const id = uintOf(created[i++], "created id");
      if (id <= prev || id >= TWO32) throw new DesyncError("created ids not ascending");
      prev = id;
      if (i >= created.length) throw new DesyncError("created truncated");
      const kind = uintOf(created[i++], "created kind");
      const k = schema.kinds[kind];
      if (!k) throw new DesyncError(`created entity of unknown kind ${kind}`);
      const values = new Array(k.fields.length);
      for (let f = 0; f < k.fields.length; f++) {
        if (i >= created.length) throw new DesyncError("created truncated");
        values[f] = fieldValue(k.fields[f].type, created[i++]);
      }
      add.push(Object.freeze({ id, kind, values: Object.freeze(values) }));
    }
    /** @type {Entity[]} */
    const merged = [];
    let a = 0;
    let b = 0;
    while (a < out.length || b < add.length) {
      if (b >= add.length || (a < out.length && out[a].id < add[b].id)) merged.push(out[a++]);
      else if (a >= out.length || add[b].id < out[a].id) merged.push(add[b++]);
      else throw new DesyncError(`created id ${add[b].id} already exists`);
    }
    out = merged;
  }
  return new State(schema, tick, out);
}

const textEncoder = new TextEncoder();

/**
 * The checksum of a state (PROTOCOL §5.3): 32-bit FNV-1a over, per entity
 * in ascending id, the id (4 bytes LE), the kind (1 byte) and each field:
 * int 8 bytes LE two's complement, float its binary64 bits LE, string its
 * UTF-8 byte length (4 bytes LE) and bytes.
 * @param {Schema} schema
 * @param {readonly Entity[]} entities
 * @returns {number} a uint32
 */
export function checksum(schema, entities) {
  let h = 2166136261;
  const f64 = new DataView(new ArrayBuffer(8));
  /** @param {number} v */
  const u32 = (v) => {
    h = Math.imul(h ^ (v & 0xff), 16777619);
    h = Math.imul(h ^ ((v >>> 8) & 0xff), 16777619);
    h = Math.imul(h ^ ((v >>> 16) & 0xff), 16777619);
    h = Math.imul(h ^ ((v >>> 24) & 0xff), 16777619);
  };
  for (const e of entities) {
    u32(e.id >>> 0);
    h = Math.imul(h ^ (e.kind & 0xff), 16777619);
    const fields = schema.kinds[e.kind].fields;
    for (let f = 0; f < fields.length; f++) {
      const v = e.values[f];
      switch (fields[f].type) {
        case FieldInt:
          if (typeof v === "bigint") {
            u32(Number(BigInt.asUintN(32, v)));
            u32(Number(BigInt.asUintN(32, v >> 32n)));
          } else {
            const n = /** @type {number} */ (v);
            u32(n >>> 0);
            u32(Math.floor(n / TWO32) >>> 0);
          }
          break;
        case FieldFloat:
          f64.setFloat64(0, /** @type {number} */ (v), true);
          u32(f64.getUint32(0, true));
          u32(f64.getUint32(4, true));
          break;
        default: {
          const b = textEncoder.encode(/** @type {string} */ (v));
          u32(b.length);
          for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i], 16777619);
        }
      }
    }
  }
  return h >>> 0;
}

/**
 * The states a client keeps as delta baselines (PROTOCOL §5): every
 * applied state until a delta arrives whose base is newer, at most
 * `history` of them (the latest and the current base are never evicted).
 */
export class Replica {
  /**
   * @param {Schema} schema
   * @param {number} [history] the room's history (from joined), default 64
   */
  constructor(schema, history = 64) {
    this.schema = schema;
    this.history = Math.max(2, Math.min(history || 64, 1024));
    /** @type {Map<number, State>} */
    this.states = new Map();
    /** @type {State | null} */
    this.latest = null;
    /** After a desync: deltas are skipped until a full frame. */
    this.waitFull = false;
  }

  /**
   * Applies a frame and returns the new latest state. Throws a
   * DesyncError (the replica then waits for a full frame, and the latest
   * state stays as it was) when the base is not held, the delta is
   * malformed or the checksum differs.
   * @param {{tick: number, age: number, checksum: number, changes: unknown, created?: unknown, removed?: unknown}} f
   * @returns {State}
   */
  apply(f) {
    try {
      if (f.age > f.tick) throw new DesyncError(`frame of tick ${f.tick} has age ${f.age}`);
      /** @type {State | null} */
      let base = null;
      if (f.age !== 0) {
        base = this.states.get(f.tick - f.age) ?? null;
        if (!base) throw new DesyncError(`tick ${f.tick}: base tick ${f.tick - f.age} is not held`);
      }
      const st = applyDelta(this.schema, base, f.tick, f.changes, f.created, f.removed);
      if (st.checksum !== f.checksum) {
        throw new DesyncError(`tick ${f.tick}: checksum ${st.checksum}, server ${f.checksum}`);
      }
      if (base) {
        for (const t of this.states.keys()) if (t < base.tick) this.states.delete(t);
      }
      this.states.set(st.tick, st);
      while (this.states.size > this.history) {
        let oldest = Infinity;
        for (const t of this.states.keys()) if (t !== st.tick && (!base || t !== base.tick)) oldest = Math.min(oldest, t);
        this.states.delete(oldest);
      }
      this.latest = st;
      this.waitFull = false;
      return st;
    } catch (e) {
      this.waitFull = true;
      throw e;
    }
  }

  /** The tick to resume from: 0 when there is no trusted state. */
  lastTick() {
    return this.latest && !this.waitFull ? this.latest.tick : 0;
  }
}
