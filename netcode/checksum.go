package netcode

// FNV-1a 32-bit parameters (PROTOCOL §5.3).
const (
	fnvOffset32 = 2166136261
	fnvPrime32  = 16777619
)

// EmptyChecksum is the checksum of the empty state (PROTOCOL §5.3).
const EmptyChecksum uint32 = fnvOffset32

// computeChecksum returns the checksum of PROTOCOL §5.3 over s: 32-bit
// FNV-1a over, per entity in id order, the id (4 bytes LE), the kind (1
// byte) and each field value (int and float: 8 bytes LE; string: length as
// 4 bytes LE, then its bytes). The loop is inlined rather than going
// through hash/fnv so that it never allocates.
func computeChecksum(s *Snapshot) uint32 {
	h := uint32(fnvOffset32)
	kinds := s.schema.kindsOrNil()
	for _, e := range s.ents {
		h = fnvUint32(h, e.id)
		h = (h ^ uint32(e.kind)) * fnvPrime32
		types := kinds[e.kind].types
		vals := s.vals[e.off : int(e.off)+len(types)]
		for i, t := range types {
			if t == FieldString {
				str := vals[i].s
				h = fnvUint32(h, uint32(len(str)))
				for j := 0; j < len(str); j++ {
					h = (h ^ uint32(str[j])) * fnvPrime32
				}
				continue
			}
			h = fnvUint64(h, uint64(vals[i].n))
		}
	}
	return h
}

// kindsOrNil returns s's kinds, or nil for a nil schema (a zero Snapshot,
// which can only be empty).
func (s *Schema) kindsOrNil() []kindSpec {
	if s == nil {
		return nil
	}
	return s.kinds
}

// fnvUint32 hashes v as 4 little-endian bytes.
func fnvUint32(h, v uint32) uint32 {
	h = (h ^ (v & 0xff)) * fnvPrime32
	h = (h ^ (v >> 8 & 0xff)) * fnvPrime32
	h = (h ^ (v >> 16 & 0xff)) * fnvPrime32
	h = (h ^ (v >> 24)) * fnvPrime32
	return h
}

// fnvUint64 hashes v as 8 little-endian bytes.
func fnvUint64(h uint32, v uint64) uint32 {
	h = fnvUint32(h, uint32(v))
	return fnvUint32(h, uint32(v>>32))
}
